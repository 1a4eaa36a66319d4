package billing

import "testing"

func TestTaxHalfEven(t *testing.T) {
	tests := []struct {
		name   string
		rate   string
		amount int64
		want   int64
	}{
		{"1 cent at 50% is 0.5: rounds to even 0", "0.5", 1, 0},
		{"3 cents at 50% is 1.5: rounds to even 2", "0.5", 3, 2},
		{"5 cents at 50% is 2.5: rounds to even 2", "0.5", 5, 2},
		{"7 cents at 50% is 3.5: rounds to even 4", "0.5", 7, 4},
		{"credit of 3 cents at 50% is -1.5: -2", "0.5", -3, -2},
		{"credit of 5 cents at 50% is -2.5: -2", "0.5", -5, -2},
		{"8.25% of $100.00", "0.0825", 10000, 825},
		{"8.25% of $10.10 = 83.325 → 83", "0.0825", 1010, 83},
		{"8.25% of $10.30 = 84.975 → 85", "0.0825", 1030, 85},
		{"6 decimal places", "0.123456", 1000000, 123456},
		{"zero rate", "0", 12345, 0},
		{"large amounts are exact", "0.0825", 1e12, 82500000000},
		{"unparseable rate gives 0", "abc", 1000, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (TaxRate{Jurisdiction: "X", Name: "t", Rate: tc.rate}).Tax(tc.amount); got != tc.want {
				t.Errorf("Tax(%d) at %s = %d, want %d", tc.amount, tc.rate, got, tc.want)
			}
		})
	}
}

func TestTaxRateValidate(t *testing.T) {
	ok := TaxRate{Jurisdiction: "US-TX", Name: "Texas sales tax", Rate: "0.0625"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if p := ok.Percent(); p != "6.25%" {
		t.Errorf("Percent = %q", p)
	}
	for _, r := range []string{"0", "0.999999", "0.1000000"} {
		if err := (TaxRate{Jurisdiction: "X", Name: "t", Rate: r}).Validate(); err != nil {
			t.Errorf("rate %q: %v", r, err)
		}
	}
	tests := []struct {
		name string
		r    TaxRate
		want []string
	}{
		{"no jurisdiction", TaxRate{Name: "t", Rate: "0.1"}, []string{"jurisdiction is required"}},
		{"no name", TaxRate{Jurisdiction: "X", Name: " ", Rate: "0.1"}, []string{"name is required"}},
		{"not a number", TaxRate{Jurisdiction: "X", Name: "t", Rate: "8.25%"}, []string{"rate", `"8.25%"`}},
		{"negative", TaxRate{Jurisdiction: "X", Name: "t", Rate: "-0.01"}, []string{"rate", `"-0.01"`, "0 <= rate < 1"}},
		{"one", TaxRate{Jurisdiction: "X", Name: "t", Rate: "1"}, []string{"rate", `"1"`}},
		{"a percentage by mistake", TaxRate{Jurisdiction: "X", Name: "t", Rate: "8.25"}, []string{"rate", `"8.25"`}},
		{"seven places", TaxRate{Jurisdiction: "X", Name: "t", Rate: "0.0000001"}, []string{"rate", `"0.0000001"`, "6 decimal places"}},
		{"empty", TaxRate{Jurisdiction: "X", Name: "t"}, []string{"rate", `""`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantInvalid(t, tc.r.Validate(), tc.want...) })
	}
}

func TestLateFeeAmount(t *testing.T) {
	tests := []struct {
		name string
		f    LateFee
		open int64
		want int64
	}{
		{"none", LateFee{Kind: LateFeeNone}, 10000, 0},
		{"flat", LateFee{Kind: LateFeeFlat, Amount: 500}, 10000, 500},
		{"percent", LateFee{Kind: LateFeePercent, Percent: "1.5"}, 10000, 150},
		{"percent half-even down", LateFee{Kind: LateFeePercent, Percent: "50"}, 1, 0},
		{"percent half-even up", LateFee{Kind: LateFeePercent, Percent: "50"}, 3, 2},
		{"nothing open", LateFee{Kind: LateFeeFlat, Amount: 500}, 0, 0},
		{"credit balance", LateFee{Kind: LateFeePercent, Percent: "2"}, -500, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LateFeeAmount(tc.f, tc.open); got != tc.want {
				t.Errorf("LateFeeAmount = %d, want %d", got, tc.want)
			}
		})
	}
}

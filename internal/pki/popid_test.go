package pki_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pki"
)

// TestPOPIDRuleAgreesWithBilling: pki keeps its own copy of the POP-id rule
// (so it imports no controller package); it accepts exactly the ids the
// controller's domain core accepts — every string of one and two
// characters over an alphabet of allowed and refused characters, the
// length limits, and seeded random strings.
func TestPOPIDRuleAgreesWithBilling(t *testing.T) {
	alphabet := []rune("az09._-AZ /:é\x00")
	var ids []string
	for _, a := range alphabet {
		ids = append(ids, string(a))
		for _, b := range alphabet {
			ids = append(ids, string([]rune{a, b}))
		}
	}
	for _, n := range []int{0, 61, 62, 63, 64, 65} {
		ids = append(ids, strings.Repeat("a", n), "-"+strings.Repeat("a", n), strings.Repeat("a", n)+"A")
	}
	rng := rand.New(rand.NewPCG(15, 15))
	for range 5000 {
		r := make([]rune, rng.IntN(70))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		ids = append(ids, string(r))
	}
	accepted := 0
	for _, id := range ids {
		got, want := pki.ValidatePOPID(id), billing.ValidatePOPID(id)
		if (got == nil) != (want == nil) {
			t.Errorf("pop %q: pki says %v, billing says %v", id, got, want)
		}
		if got == nil {
			accepted++
		}
	}
	if accepted == 0 || accepted == len(ids) {
		t.Fatalf("%d of %d ids accepted: the table tests nothing", accepted, len(ids))
	}
}

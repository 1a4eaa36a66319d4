package billing

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Plan is a service plan: a recurring price per interval.
type Plan struct {
	ID   int64  `json:"id,omitempty" readOnly:"true"`
	Name string `json:"name"`
	// Price is in minor units of Currency per Interval, >= 0.
	Price    int64    `json:"price" minimum:"0" maximum:"100000000000"`
	Currency Currency `json:"currency"`
	Interval Interval `json:"interval,omitempty" enum:"monthly,quarterly,annual"`
	// Taxable plans' charges are taxed at the account's jurisdiction's rates.
	Taxable   bool      `json:"taxable"`
	CreatedAt time.Time `json:"created_at,omitzero" readOnly:"true"`
	// RetiredAt is when the plan was retired (no new services; existing
	// ones continue); nil while it is offered.
	RetiredAt *time.Time `json:"retired_at,omitempty" readOnly:"true"`
	// Profile is the speed the plan sells, enforced at the edge for its
	// active services (see [ServiceProfile]); nil: none, Tollgate sets no
	// speed. Given at creation; changed later through the plan's profile
	// versions (each change a new version, named "<plan>.v<n>").
	Profile *EdgeProfile `json:"profile,omitempty"`
	// ProfileVersion is the current profile's version (0: never had one).
	ProfileVersion int `json:"profile_version,omitempty" readOnly:"true"`
}

// Validate checks the plan, trims its name, normalises the currency and
// interval, and defaults the interval to monthly.
//
// Errors: EINVALID naming the field: name empty or longer than 200
// characters, a negative price, an unsupported currency, an unknown
// interval.
func (p *Plan) Validate() error {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" {
		return Errorf(EINVALID, "name is required")
	}
	if n := utf8.RuneCountInString(p.Name); n > 200 {
		return Errorf(EINVALID, "name is %d characters long; at most 200 are allowed", n)
	}
	if p.Price < 0 {
		return Errorf(EINVALID, "price %d must not be negative (minor units per interval)", p.Price)
	}
	if err := CheckAmount("price", p.Price); err != nil {
		return err
	}
	c, err := ParseCurrency(string(p.Currency))
	if err != nil {
		return err
	}
	p.Currency = c
	if p.Interval == "" {
		p.Interval = IntervalMonthly
	}
	iv, err := ParseInterval(string(p.Interval))
	if err != nil {
		return err
	}
	p.Interval = iv
	if p.Profile != nil {
		if err := p.Profile.Validate(); err != nil {
			return Errorf(EINVALID, "profile.%s", ErrorMessage(err))
		}
		if p.ProfileVersion == 0 {
			p.ProfileVersion = 1
		}
		p.Profile.Name = ProfileName(p.Name, p.ProfileVersion)
	}
	return nil
}

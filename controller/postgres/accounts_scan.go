package postgres

import (
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

const accountColumns = `id, number, coalesce(external_id, ''), name, email, phone, address, account_type_id, currency,
	status, tax_jurisdiction, delivery, anchor_date, created_at, locale, company_name, coalesce(billing_day, 0), version,
	overrides, tax_exempt, exemption_certificate`

func scanAccount(row pgx.Row) (billing.Account, error) {
	var a billing.Account
	var addr, overrides []byte
	err := row.Scan(&a.ID, &a.Number, &a.ExternalID, &a.Name, &a.Email, &a.Phone, &addr, &a.AccountTypeID, &a.Currency,
		&a.Status, &a.TaxJurisdiction, &a.Delivery, scanDate(&a.AnchorDate), &a.CreatedAt, &a.Locale,
		&a.CompanyName, &a.BillingDay, &a.Version, &overrides, &a.TaxExempt, &a.ExemptionCertificate)
	if err != nil {
		return a, err
	}
	if a.Overrides, err = scanOverrides(overrides); err != nil {
		return a, err
	}
	return a, json.Unmarshal(addr, &a.Address)
}

// scanOverrides decodes accounts.overrides (NULL: none).
func scanOverrides(raw []byte) (billing.AccountOverrides, error) {
	var o billing.AccountOverrides
	if raw == nil {
		return o, nil
	}
	err := json.Unmarshal(raw, &o)
	return o, err
}

// overridesArg is the accounts.overrides value of o: NULL when it
// overrides nothing.
func overridesArg(o billing.AccountOverrides) ([]byte, error) {
	if o.IsZero() {
		return nil, nil
	}
	return json.Marshal(o)
}

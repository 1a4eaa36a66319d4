package postgres

import (
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

const accountColumns = `id, number, coalesce(external_id, ''), name, email, phone, address, account_type_id, currency,
	status, tax_jurisdiction, delivery, anchor_date, created_at, locale, company_name, coalesce(billing_day, 0), version`

func scanAccount(row pgx.Row) (billing.Account, error) {
	var a billing.Account
	var addr []byte
	err := row.Scan(&a.ID, &a.Number, &a.ExternalID, &a.Name, &a.Email, &a.Phone, &addr, &a.AccountTypeID, &a.Currency,
		&a.Status, &a.TaxJurisdiction, &a.Delivery, scanDate(&a.AnchorDate), &a.CreatedAt, &a.Locale,
		&a.CompanyName, &a.BillingDay, &a.Version)
	if err != nil {
		return a, err
	}
	return a, json.Unmarshal(addr, &a.Address)
}

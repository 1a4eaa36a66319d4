package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// AccountTypeImpacts is what the preview of an account type change needs
// from the store.
type AccountTypeImpacts interface {
	// AccountTypeOverrideCounts counts the type's open accounts and, by
	// setting name, those that override the setting.
	// Errors: ENOTFOUND for an unknown account type.
	AccountTypeOverrideCounts(ctx context.Context, typeID int64) (total int64, overriding map[string]int64, err error)
}

// accountTypeImpact is the preview of a change to an account type's
// settings.
type accountTypeImpact struct {
	AccountTypeID int64                      `json:"account_type_id"`
	Accounts      int64                      `json:"accounts" doc:"The type's open accounts."`
	Settings      []billing.TypeChangeImpact `json:"settings"`
}

// registerAccountTypeImpact registers the preview of an account type
// change: how many of its accounts a change of each setting reaches.
func (s *Server) registerAccountTypeImpact(store AccountTypeImpacts) {
	huma.Register(s.api, op("account-type-impact", http.MethodGet, "/api/v1/account-types/{id}/impact",
		"Preview a change to an account type: per setting, how many accounts inherit it (the change reaches them) and how many override it", RoleReader, "account types"),
		func(ctx context.Context, in *struct {
			IDPath
			Settings string `query:"settings" doc:"Comma-separated setting names (due_days, grace_days, reminder_days_before, auto_suspend, reactivation_rule, late_fee, invoice_message, or any other billing setting: it reaches every account); default: every overridable setting."`
		}) (*body[accountTypeImpact], error) {
			settings := billing.OverridableSettings
			if strings.TrimSpace(in.Settings) != "" {
				settings = nil
				for _, f := range strings.Split(in.Settings, ",") {
					if f = strings.TrimSpace(f); f != "" && !slices.Contains(settings, f) {
						settings = append(settings, f)
					}
				}
			}
			total, overriding, err := store.AccountTypeOverrideCounts(ctx, in.ID)
			return wrap(s, "account-type-impact", accountTypeImpact{AccountTypeID: in.ID, Accounts: total,
				Settings: billing.PlanTypeChangeImpact(settings, total, overriding)}, err)
		})
}

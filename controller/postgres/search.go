package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Staff search: billing.PlanSearch decides what to look for; SearchAccounts
// runs each probe of the plan as one branch of a UNION ALL, each backed by
// an index (trigram GIN indexes for substrings, on the searched texts kept
// in account_search and service_search by triggers — migration 00045 moved
// them off accounts and services, whose status writes must not pay for
// them; btree for exact values; the unique indexes on account, invoice
// numbers and external ids; GIN and GiST on service addresses), keeps each
// account's best match and ranks exact matches first, then by trigram
// similarity to the query.

// searchProbeCap bounds the rows one probe hands to the ranking: a query
// that matches more (a common surname, an e-mail domain) ranks an
// arbitrary searchProbeCap of them per field, and the clerk types more.
const searchProbeCap = 500

// searchProbes are the probes a plan runs: each a SELECT of (account_id,
// field, text, exact, similarity) in parentheses, with its named
// arguments.
func searchProbes(p billing.SearchPlan) ([]string, pgx.NamedArgs) {
	args := pgx.NamedArgs{"q": p.Query, "cap": searchProbeCap}
	var probes []string
	add := func(sql string) { probes = append(probes, "("+sql+" LIMIT @cap)") }
	if len(p.AccountNumbers) > 0 {
		args["numbers"] = p.AccountNumbers
		add(`SELECT id, 'number', number, true, 1::real FROM accounts WHERE number = ANY(@numbers::text[])`)
	}
	if p.ExternalID != "" {
		args["external_id"] = p.ExternalID
		add(`SELECT id, 'external_id', external_id, true, 1::real FROM accounts WHERE external_id = @external_id`)
	}
	if len(p.InvoiceNumbers) > 0 {
		args["invoices"] = p.InvoiceNumbers
		add(`SELECT account_id, 'invoice', number, true, 1::real FROM invoices WHERE number = ANY(@invoices::text[])`)
	}
	if p.Reference != "" {
		args["reference"] = p.Reference
		add(`SELECT account_id, CASE WHEN method = 'check' THEN 'check' ELSE 'reference' END, reference, true, 1::real
			FROM payments WHERE reference = @reference AND reference <> ''`)
	}
	if p.Username != "" {
		args["username"] = p.Username
		add(`SELECT account_id, 'username', radius_username, true, 1::real
			FROM services WHERE radius_username = @username AND radius_username <> '' AND account_id IS NOT NULL`)
	}
	if len(p.Addresses) > 0 {
		args["addresses"] = p.Addresses
		add(`SELECT account_id, 'ip', (SELECT a FROM unnest(addresses) a WHERE a = ANY(@addresses::text[]) LIMIT 1), true, 1::real
			FROM services WHERE addresses && @addresses::text[] AND account_id IS NOT NULL`)
	}
	if p.Network != "" {
		args["network"] = p.Network
		// Addresses bound from a pool and those agents learned (DHCP
		// leases) that overlap the query's prefix, shown bare when the
		const shown = `CASE WHEN masklen(x.address) = CASE family(x.address) WHEN 4 THEN 32 ELSE 128 END THEN host(x.address) ELSE x.address::text END`
		// address, one host: each row's service looked up by its key (a
		// subquery the planner keeps per row, rather than a join that may
		// read services whole for a wide prefix).
		const account = `(SELECT s.account_id FROM services s WHERE s.id = x.service_id)`
		add(`SELECT account_id, 'ip', shown, true, 1::real FROM (SELECT ` + account + ` AS account_id, ` + shown + ` AS shown
			FROM address_assignments x WHERE x.address && @network::cidr AND x.released_at IS NULL) x WHERE account_id IS NOT NULL`)
		add(`SELECT account_id, 'ip', shown, true, 1::real FROM (SELECT ` + account + ` AS account_id, ` + shown + ` AS shown
			FROM learned_addresses x WHERE x.address && @network::cidr) x WHERE account_id IS NOT NULL`)
	}
	if p.PhoneDigits != "" {
		args["phone"], args["phone_pattern"] = p.PhoneDigits, "%"+p.PhoneDigits+"%"
		add(`SELECT account_id, 'phone', phone, phone_digits = @phone, similarity(phone_digits, @phone)
			FROM account_search WHERE phone_digits LIKE @phone_pattern AND phone <> ''`)
	}
	if p.Substring != "" {
		args["pattern"] = p.Substring
		for _, f := range p.SubstringFields {
			switch f {
			case billing.MatchName:
				add(`SELECT account_id, 'name', name, lower(name) = lower(@q), similarity(name, @q) FROM account_search WHERE name ILIKE @pattern`)
			case billing.MatchCompany:
				add(`SELECT account_id, 'company', company_name, lower(company_name) = lower(@q), similarity(company_name, @q)
					FROM account_search WHERE company_name ILIKE @pattern AND company_name <> ''`)
			case billing.MatchEmail:
				add(`SELECT account_id, 'email', email, lower(email) = lower(@q), similarity(email, @q)
					FROM account_search WHERE email ILIKE @pattern AND email <> ''`)
			case billing.MatchAddress:
				add(`SELECT account_id, 'address', regexp_replace(trim(address_line), '\s+', ' ', 'g'), false, similarity(address_line, @q)
					FROM account_search WHERE address_line ILIKE @pattern AND address_line <> ''`)
			case billing.MatchServiceAddress:
				add(`SELECT account_id, 'service_address', regexp_replace(trim(address_line), '\s+', ' ', 'g'), false, similarity(address_line, @q)
					FROM service_search WHERE address_line ILIKE @pattern AND address_line <> '' AND account_id IS NOT NULL`)
			}
		}
	}
	return probes, args
}

// SearchAccounts finds accounts for a staff search (see
// billing.PlanSearch for what a query looks for): at most limit (0: 20)
// accounts, each once with its best match, exact matches first, then by
// similarity to the query, then by account id. Each hit has its status,
// ledger balance and past-due amount (its open invoices due before today
// in its account type's time zone at now, after its credit). EINVALID
// naming q or limit for a bad query.
func (db *DB) SearchAccounts(ctx context.Context, q string, limit int, now time.Time) ([]billing.SearchHit, error) {
	plan, err := billing.PlanSearch(q, limit)
	if err != nil {
		return nil, err
	}
	sql, args := searchSQL(plan, now)
	rows, err := db.Pool.Query(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.SearchHit, error) {
		var h billing.SearchHit
		var pastDue, notYetDue int64
		err := r.Scan(&h.AccountID, &h.Number, &h.Name, &h.CompanyName, &h.Status, &h.Currency,
			&h.Match.Field, &h.Match.Text, &h.Match.Exact, &h.Balance, &pastDue, &notYetDue)
		h.PastDue = billing.SearchPastDue(h.Balance, pastDue, notYetDue)
		return h, err
	})
	if hits == nil {
		hits = []billing.SearchHit{}
	}
	return hits, err
}

// searchSQL is the query SearchAccounts runs for plan, with its arguments.
func searchSQL(plan billing.SearchPlan, now time.Time) (string, pgx.NamedArgs) {
	probes, args := searchProbes(plan)
	args["limit"], args["now"] = plan.Limit, now
	// An account matched several ways shows its best match (exact, most
	// similar; then by field name, for a stable answer).
	return `WITH m (account_id, field, text, exact, sim) AS (` + strings.Join(probes, "\n UNION ALL ") + `),
		best AS (SELECT DISTINCT ON (account_id) account_id, field, text, exact, sim FROM m
			ORDER BY account_id, exact DESC, sim DESC, field),
		top AS (SELECT * FROM best ORDER BY exact DESC, sim DESC, account_id LIMIT @limit)
		SELECT a.id, a.number, a.name, a.company_name, a.status, a.currency, top.field, top.text, top.exact,
			coalesce((SELECT sum(j.amount) FROM journal_entries j WHERE j.account_id = a.id AND j.ledger = 'accounts_receivable'), 0)::bigint,
			coalesce(o.past_due, 0)::bigint, coalesce(o.not_yet_due, 0)::bigint
		FROM top JOIN accounts a ON a.id = top.account_id JOIN account_types t ON t.id = a.account_type_id
		LEFT JOIN LATERAL (SELECT sum(i.total - i.paid) FILTER (WHERE i.due_date < (@now::timestamptz AT TIME ZONE t.time_zone)::date) AS past_due,
				sum(i.total - i.paid) FILTER (WHERE i.due_date >= (@now::timestamptz AT TIME ZONE t.time_zone)::date) AS not_yet_due
			FROM invoices i WHERE i.account_id = a.id AND i.status = 'open' AND i.total > 0) o ON true
		ORDER BY top.exact DESC, top.sim DESC, a.id`, args
}

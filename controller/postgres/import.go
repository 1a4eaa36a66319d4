package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// importActor is recorded as the author of the enforcement changes of
// imported services.
const importActor = "import:csv"

// ImportAccounts imports accounts with their services, as parsed by
// [billing.ParseAccountsCSV].
//
// It first resolves every account type and plan name against the database
// (exact name, else a unique case-insensitive match) and checks that each
// plan is priced in its account's currency (an existing account's own
// currency). Unknown names and currency mismatches become ImportErrors at
// the row and column they come from, next to the problems the parser found.
//
// Then, unless dryRun, and only when there are no problems at all or
// skipInvalid is set (then an account with any problem is skipped whole), it
// writes everything in one transaction: accounts through [CreateAccountTx]
// (an account whose external_id exists is left as it is and counted as
// existing) and services through createServiceTx, skipping a service
// whose name the account already has. Re-importing a file therefore creates
// nothing twice. A dry run counts what would be created.
//
// An account's entry in rows is cleared (but its Line and Rows) once it is
// written: rows is consumed.
//
// The counts of a refused import (problems without skipInvalid) are zero;
// its Errors say why. Errors of the write itself (a row the database
// refuses) are returned with the row's line, and nothing is written.
func (db *DB) ImportAccounts(ctx context.Context, rows []billing.ImportAccount, dryRun, skipInvalid bool, at time.Time) (billing.ImportResult, error) {
	res := billing.ImportResult{DryRun: dryRun, Errors: []billing.ImportError{}}
	for _, a := range rows {
		res.Rows += a.Rows
		if a.Account.ExternalID != "" {
			res.Accounts++
		}
	}
	opts := pgx.TxOptions{}
	if dryRun {
		opts.AccessMode = pgx.ReadOnly
	}
	err := db.inTx(ctx, opts, func(tx pgx.Tx) error {
		plans, err := resolveImport(ctx, tx, rows)
		if err != nil {
			return err
		}
		for _, p := range plans {
			res.Errors = append(res.Errors, p.errs...)
		}
		billing.SortImportErrors(res.Errors)
		if len(res.Errors) > 0 && !skipInvalid {
			return nil // refused: nothing is written
		}
		for i := range rows {
			a, p := &rows[i], &plans[i]
			if len(p.errs) > 0 {
				res.Skipped++
				continue
			}
			if dryRun {
				countDry(&res, a, p)
				continue
			}
			if err := importAccount(ctx, tx, &res, a, p, at); err != nil {
				return err
			}
			// Written: its text (most of a large file) is let go at once,
			// so a 64 MiB import does not hold the whole file to the end.
			*a, *p = billing.ImportAccount{Line: a.Line, Rows: a.Rows}, importPlan{}
		}
		return nil
	})
	if err != nil {
		return billing.ImportResult{}, err
	}
	return res, nil
}

// importPlan is what resolving one ImportAccount found.
type importPlan struct {
	typeID int64
	// existing is the id of the account with the same external_id, 0 if
	// none; existingServices its service names.
	existing         int64
	existingServices map[string]bool
	// planIDs are the services' plan ids (nil: unbilled), by index.
	planIDs []*int64
	errs    []billing.ImportError
}

// names resolves names to ids: exactly, else by a unique case-insensitive
// match.
type names struct {
	exact  map[string]int64
	folded map[string][]int64
	all    []string
}

func (n *names) add(id int64, name string) {
	if n.exact == nil {
		n.exact, n.folded = map[string]int64{}, map[string][]int64{}
	}
	n.exact[name] = id
	k := strings.ToLower(name)
	n.folded[k] = append(n.folded[k], id)
	n.all = append(n.all, name)
}

func (n *names) lookup(name string) (int64, bool) {
	if id, ok := n.exact[name]; ok {
		return id, true
	}
	if ids := n.folded[strings.ToLower(name)]; len(ids) == 1 {
		return ids[0], true
	}
	return 0, false
}

// known lists the names for an error message.
func (n *names) known(what string) string {
	switch {
	case len(n.all) == 0:
		return fmt.Sprintf("there are no %ss yet: create them first", what)
	case len(n.all) > 20:
		return fmt.Sprintf("the %ss include %s, …", what, quoteList(n.all[:20]))
	}
	return fmt.Sprintf("the %ss are %s", what, quoteList(n.all))
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// resolveImport looks up every account type, plan and existing account the
// rows name, in three queries plus one for the existing accounts' services.
func resolveImport(ctx context.Context, tx pgx.Tx, rows []billing.ImportAccount) ([]importPlan, error) {
	var types, plans names
	planCurrency := map[int64]string{}
	typeRows, err := tx.Query(ctx, `SELECT id, name FROM account_types ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var id int64
	var name, cur string
	if _, err := pgx.ForEachRow(typeRows, []any{&id, &name}, func() error { types.add(id, name); return nil }); err != nil {
		return nil, err
	}
	planRows, err := tx.Query(ctx, `SELECT id, name, currency FROM plans ORDER BY id`)
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ForEachRow(planRows, []any{&id, &name, &cur}, func() error {
		plans.add(id, name)
		planCurrency[id] = cur
		return nil
	}); err != nil {
		return nil, err
	}

	exts := make([]string, 0, len(rows))
	for _, a := range rows {
		if a.Account.ExternalID != "" {
			exts = append(exts, a.Account.ExternalID)
		}
	}
	type existingAccount struct {
		id       int64
		currency string
		services map[string]bool
	}
	existing := map[string]*existingAccount{}
	byID := map[int64]*existingAccount{}
	accRows, err := tx.Query(ctx, `SELECT id, external_id, currency FROM accounts WHERE external_id = ANY($1)`, exts)
	if err != nil {
		return nil, err
	}
	var ext string
	if _, err := pgx.ForEachRow(accRows, []any{&id, &ext, &cur}, func() error {
		e := &existingAccount{id: id, currency: cur, services: map[string]bool{}}
		existing[ext], byID[id] = e, e
		return nil
	}); err != nil {
		return nil, err
	}
	if len(byID) > 0 {
		ids := make([]int64, 0, len(byID))
		for id := range byID {
			ids = append(ids, id)
		}
		svcRows, err := tx.Query(ctx, `SELECT account_id, name FROM services WHERE account_id = ANY($1)`, ids)
		if err != nil {
			return nil, err
		}
		if _, err := pgx.ForEachRow(svcRows, []any{&id, &name}, func() error { byID[id].services[name] = true; return nil }); err != nil {
			return nil, err
		}
	}

	out := make([]importPlan, len(rows))
	for i, a := range rows {
		p := &out[i]
		p.errs = slices.Clone(a.Errors)
		if a.Account.ExternalID == "" && len(p.errs) == 0 {
			p.errs = append(p.errs, billing.ImportError{Line: a.Line, Column: "external_id", Reason: "external_id is required"})
		}
		if a.AccountType != "" {
			if tid, ok := types.lookup(a.AccountType); ok {
				p.typeID = tid
			} else {
				p.errs = append(p.errs, billing.ImportError{Line: a.Line, Column: "account_type",
					Reason: fmt.Sprintf("account_type %q does not exist; %s", a.AccountType, types.known("account type"))})
			}
		}
		// The currency services are billed in: the existing account's, else
		// the file's (if it is one).
		accCur := ""
		if c, err := billing.ParseCurrency(string(a.Account.Currency)); err == nil {
			accCur = string(c)
		}
		if e := existing[a.Account.ExternalID]; e != nil && a.Account.ExternalID != "" {
			p.existing, p.existingServices, accCur = e.id, e.services, e.currency
		}
		p.planIDs = make([]*int64, len(a.Services))
		for j, s := range a.Services {
			if s.Plan == "" {
				continue
			}
			pid, ok := plans.lookup(s.Plan)
			if !ok {
				p.errs = append(p.errs, billing.ImportError{Line: s.Line, Column: "plan",
					Reason: fmt.Sprintf("plan %q does not exist; %s", s.Plan, plans.known("plan"))})
				continue
			}
			if pc := planCurrency[pid]; accCur != "" && pc != accCur {
				p.errs = append(p.errs, billing.ImportError{Line: s.Line, Column: "plan",
					Reason: fmt.Sprintf("plan %q is priced in %s but the account is billed in %s", s.Plan, pc, accCur)})
				continue
			}
			p.planIDs[j] = &pid
		}
	}
	return out, nil
}

// countDry counts what importing a valid account would do.
func countDry(res *billing.ImportResult, a *billing.ImportAccount, p *importPlan) {
	if p.existing != 0 {
		res.AccountsExisting++
	} else {
		res.AccountsCreated++
	}
	seen := map[string]bool{}
	for _, s := range a.Services {
		if p.existingServices[s.Service.Name] || seen[s.Service.Name] {
			res.ServicesExisting++
			continue
		}
		seen[s.Service.Name] = true
		res.ServicesCreated++
	}
}

// importAccount writes one valid account and the services it lacks.
func importAccount(ctx context.Context, tx pgx.Tx, res *billing.ImportResult, a *billing.ImportAccount, p *importPlan, at time.Time) error {
	in := a.Account
	in.AccountTypeID = p.typeID
	acc, created, err := CreateAccountTx(ctx, tx, in, at)
	if err != nil {
		return atLine(a.Line, err)
	}
	if created {
		res.AccountsCreated++
	} else {
		res.AccountsExisting++
	}
	if len(a.Services) == 0 {
		return nil
	}
	// The account's row lock serialises service creation for it (as
	// checkServiceBilling does), so concurrent imports of one file see each
	// other's services and create none twice.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, acc.ID); err != nil {
		return err
	}
	have := map[string]bool{}
	svcRows, err := tx.Query(ctx, `SELECT name FROM services WHERE account_id = $1`, acc.ID)
	if err != nil {
		return err
	}
	var name string
	if _, err := pgx.ForEachRow(svcRows, []any{&name}, func() error { have[name] = true; return nil }); err != nil {
		return err
	}
	// Billed services in order of start date, so the account's anniversary
	// anchor becomes its earliest service start.
	order := make([]int, len(a.Services))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		si, sj := a.Services[i].Service.StartDate, a.Services[j].Service.StartDate
		return cmp.Or(cmp.Compare(b2i(si.IsZero()), b2i(sj.IsZero())), si.Compare(sj))
	})
	for _, j := range order {
		s := a.Services[j]
		if have[s.Service.Name] {
			res.ServicesExisting++
			continue
		}
		in := s.Service
		in.AccountID, in.PlanID = &acc.ID, p.planIDs[j]
		if _, err := createServiceTx(ctx, tx, in, importActor, at, false); err != nil {
			return atLine(s.Line, err)
		}
		have[s.Service.Name] = true
		res.ServicesCreated++
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// atLine prefixes a domain error with the import line it concerns.
func atLine(line int, err error) error {
	err = mapError(err)
	if code := billing.ErrorCode(err); code != billing.EINTERNAL {
		return billing.Errorf(code, "line %d: %s", line, billing.ErrorMessage(err))
	}
	return fmt.Errorf("import line %d: %w", line, err)
}

// createServiceTx is the work of [DB.CreateService] and of an import
// (its callers) inside tx, a transaction of inTx: it validates the input,
// creates the POP if new, checks the account and plan (see
// checkServiceBilling), inserts the service and queues its initial desired
// state for the outbox writer, which gives it the POP's next revision at
// commit (with wantRevisions, inOutboxTx returns it). The service returned
// has Revision 0 until then. Errors: EINVALID for bad input; errNotOutboxTx
// for a tx not begun by inTx; the database's errors.
func createServiceTx(ctx context.Context, tx pgx.Tx, in billing.NewService, actor string, at time.Time, wantRevisions bool) (billing.Service, error) {
	if err := in.Validate(); err != nil {
		return billing.Service{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO pops (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, in.POP, at); err != nil {
		return billing.Service{}, err
	}
	if err := checkServiceBilling(ctx, tx, in); err != nil {
		return billing.Service{}, err
	}
	const reason = "service created"
	b := in.Binding
	s, err := scanService(tx.QueryRow(ctx, `
		INSERT INTO services (pop_id, name, method, addresses, radius_username, device, if_index,
			desired_state, state_reason, revision, created_at, updated_at, account_id, plan_id, start_date, end_date)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10, $11, $12, $13, $14)
		RETURNING `+serviceColumns,
		in.POP, in.Name, b.Method, nonNil(b.Addresses), b.RADIUSUsername, b.Device, b.IfIndex,
		in.State, reason, at, in.AccountID, in.PlanID, pgDate(in.StartDate), pgDate(in.EndDate)))
	if err != nil {
		return billing.Service{}, err
	}
	change := stateChange{service: s.ID, pop: s.POP, state: in.State, reason: reason, actor: actor, at: at}
	if in.AccountID != nil {
		change.account = *in.AccountID
	}
	return s, changeStates(tx, []stateChange{change}, wantRevisions)
}

package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// importActor is recorded as the author of the enforcement changes of
// imported services.
const importActor = "import:csv"

// importBatch is how many runs of accounts (see [billing.ImportRun]) an
// import checks or writes together: one query looks up their existing
// accounts, one round trip creates their new ones.
const importBatch = 500

// ImportAccountsCSV imports the account file read from file (from its
// start; see [billing.ScanAccountsCSV]) in two passes over it, in one
// transaction, holding neither the file nor its accounts.
//
// Pass 1 checks every row: the parser's problems, and the account type and
// plan names against the database (exact name, else a unique
// case-insensitive match) with each plan priced in its account's currency
// (an existing account's own currency). Each account keeps only its
// existing id, its currency and whether it has a problem; the problems are
// collected in a [billing.ImportProblems].
//
// Pass 2, unless the file is refused (a problem of the header, or any
// problem without skipInvalid), reads the file again and writes the valid
// accounts (an account with any problem is skipped whole) in batches: new
// accounts are created, an account whose external_id exists is left as it
// is and counted as existing, and services are created through
// createServiceTx in order of start date, skipping a service whose name
// the account already has. Re-importing a file therefore creates nothing
// twice. A dry run reads the same way in a read-only transaction and
// counts what would be created.
//
// The counts of a refused import are zero. The error is EINVALID for a
// file that cannot be read as an import file (empty, too large, too many
// rows); a row the database refuses is returned as an error with the row's
// line, and nothing is written; other errors are the database's.
func (db *DB) ImportAccountsCSV(ctx context.Context, file io.ReaderAt, dryRun, skipInvalid bool, at time.Time) (billing.ImportOutcome, error) {
	opts := pgx.TxOptions{}
	if dryRun {
		opts.AccessMode = pgx.ReadOnly
	}
	var out billing.ImportOutcome
	err := db.inTx(ctx, opts, func(tx pgx.Tx) error {
		im, err := newImporter(ctx, tx, dryRun, at)
		if err != nil {
			return err
		}
		out = billing.ImportOutcome{Result: billing.ImportResult{DryRun: dryRun}}
		res := &out.Result
		scan, err := billing.ScanAccountsCSV(io.NewSectionReader(file, 0, billing.MaxImportBytes+1), file, func(run billing.ImportRun) error {
			if run.First {
				im.accounts = append(im.accounts, importedAccount{})
				if run.Account.ExternalID != "" {
					res.Accounts++
				}
			} else {
				im.accounts[run.Index].split = true
			}
			return im.add(run, im.check)
		})
		if err != nil {
			return err
		}
		if err := im.flush(im.check); err != nil {
			return err
		}
		res.Rows = scan.Rows
		im.problems.Add(scan.Errors...)
		out.Problems = im.problems
		if len(scan.Errors) > 0 || (out.Problems.Count > 0 && !skipInvalid) {
			out.Refused = true
			return nil // nothing is written
		}
		for _, a := range im.accounts {
			if a.invalid {
				res.Skipped++
			}
		}

		im.res = res
		_, err = billing.ScanAccountsCSV(io.NewSectionReader(file, 0, billing.MaxImportBytes+1), file, func(run billing.ImportRun) error {
			if im.accounts[run.Index].invalid {
				return nil
			}
			return im.add(run, im.apply)
		})
		if err != nil {
			return err
		}
		if err := im.flush(im.apply); err != nil {
			return err
		}
		return im.fixAnchors()
	})
	if err != nil {
		return billing.ImportOutcome{}, err
	}
	out.Result.Errors = out.Problems.Listed
	if out.Result.Errors == nil {
		out.Result.Errors = []billing.ImportError{}
	}
	out.Result.ErrorsUnlisted = out.Problems.Unlisted()
	return out, nil
}

// importer is the state of one ImportAccountsCSV.
type importer struct {
	ctx          context.Context
	tx           pgx.Tx
	dryRun       bool
	at           time.Time
	types, plans names
	planCurrency map[int64]string
	// anchorOf is today in each account type's time zone: a new
	// account's anchor date until its first billed service.
	anchorOf map[int64]billing.Date
	// typeOf is each account type, by id.
	typeOf map[int64]billing.AccountType
	// accounts are the file's accounts by ImportRun.Index.
	accounts []importedAccount
	// currencies interns the accounts' currencies.
	currencies map[string]string
	batch      []billing.ImportRun
	problems   billing.ImportProblems
	res        *billing.ImportResult
	// anchors are the earliest start dates of the billed services written
	// to accounts whose rows are spread over the file and whose anchor date
	// follows their first billed service: see fixAnchors.
	anchors map[int64]billing.Date
	// anchorChecked are such accounts already looked at.
	anchorChecked map[int64]bool
}

// importedAccount is what an import keeps of each account of the file.
type importedAccount struct {
	// id is the account's id: existing, or created by pass 2.
	id int64
	// currency is the one its services are billed in: the existing
	// account's, else the file's ("" if not valid).
	currency string
	// invalid: some row of the account has a problem. split: its rows are
	// not all consecutive.
	invalid, split bool
}

func newImporter(ctx context.Context, tx pgx.Tx, dryRun bool, at time.Time) (*importer, error) {
	im := &importer{ctx: ctx, tx: tx, dryRun: dryRun, at: at, planCurrency: map[int64]string{}, anchorOf: map[int64]billing.Date{},
		currencies: map[string]string{}, anchors: map[int64]billing.Date{}, anchorChecked: map[int64]bool{}}
	typeRows, err := tx.Query(ctx, `SELECT `+accountTypeColumns+` FROM account_types ORDER BY id`)
	if err != nil {
		return nil, err
	}
	types, err := pgx.CollectRows(typeRows, func(r pgx.CollectableRow) (billing.AccountType, error) { return scanAccountType(r) })
	if err != nil {
		return nil, err
	}
	im.typeOf = make(map[int64]billing.AccountType, len(types))
	for _, t := range types {
		im.types.add(t.ID, t.Name)
		im.typeOf[t.ID] = t
		// Today in the account type's zone, not UTC's.
		loc, err := time.LoadLocation(t.TimeZone)
		if err != nil {
			return nil, err
		}
		im.anchorOf[t.ID] = billing.DateIn(at, loc)
	}
	var id int64
	var name, cur string
	planRows, err := tx.Query(ctx, `SELECT id, name, currency FROM plans ORDER BY id`)
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ForEachRow(planRows, []any{&id, &name, &cur}, func() error {
		im.plans.add(id, name)
		im.planCurrency[id] = cur
		return nil
	}); err != nil {
		return nil, err
	}
	return im, nil
}

// add queues a run, handling the batch to f when it is full.
func (im *importer) add(run billing.ImportRun, f func() error) error {
	im.batch = append(im.batch, run)
	if len(im.batch) < importBatch {
		return nil
	}
	return im.flush(f)
}

// flush hands the queued runs to f.
func (im *importer) flush(f func() error) error {
	if len(im.batch) == 0 {
		return nil
	}
	err := f()
	clear(im.batch) // let go of the runs' text
	im.batch = im.batch[:0]
	return err
}

// intern returns the one copy of a currency code.
func (im *importer) intern(c string) string {
	if v, ok := im.currencies[c]; ok {
		return v
	}
	c = strings.Clone(c)
	im.currencies[c] = c
	return c
}

// check is pass 1 for the batch: it looks up the accounts that exist and
// collects every problem of the runs.
func (im *importer) check() error {
	var exts []string
	for _, r := range im.batch {
		if r.First && r.Account.ExternalID != "" {
			exts = append(exts, r.Account.ExternalID)
		}
	}
	if len(exts) > 0 {
		type found struct {
			id  int64
			cur string
		}
		existing := make(map[string]found, len(exts))
		// One index lookup per id (the LIMIT keeps the planner from
		// flattening the subquery): right after a large import the planner
		// may misjudge the table, and "external_id = ANY($1)" or a join
		// then scans all of it for every batch.
		rows, err := im.tx.Query(im.ctx, `SELECT a.id, a.external_id, a.currency
			FROM unnest($1::text[]) AS f(external_id)
			CROSS JOIN LATERAL (SELECT id, external_id, currency FROM accounts WHERE external_id = f.external_id LIMIT 1) a`, exts)
		if err != nil {
			return err
		}
		var id int64
		var ext, cur string
		if _, err := pgx.ForEachRow(rows, []any{&id, &ext, &cur}, func() error {
			existing[ext] = found{id, im.intern(cur)}
			return nil
		}); err != nil {
			return err
		}
		for _, r := range im.batch {
			if e, ok := existing[r.Account.ExternalID]; ok && r.First && r.Account.ExternalID != "" {
				im.accounts[r.Index].id, im.accounts[r.Index].currency = e.id, e.cur
			}
		}
	}
	for i := range im.batch {
		r := &im.batch[i]
		a := &im.accounts[r.Index]
		errs := slices.Clone(r.Errors)
		if r.First && r.Account.ExternalID == "" && len(errs) == 0 {
			errs = append(errs, billing.ImportError{Line: r.Line, Column: "external_id", Reason: "external_id is required"})
		}
		if r.Parsed {
			if r.AccountType != "" {
				tid, ok := im.types.lookup(r.AccountType)
				if !ok {
					errs = append(errs, billing.ImportError{Line: r.AccountLine, Column: "account_type",
						Reason: fmt.Sprintf("account_type %q does not exist; %s", r.AccountType, im.types.known("account type"))})
				} else if err := billing.CheckBillingDayOverride(im.typeOf[tid], r.Account.BillingDay); err != nil && r.First &&
					!slices.ContainsFunc(errs, func(e billing.ImportError) bool { return e.Column == "billing_day" }) { // said once
					errs = append(errs, billing.ImportError{Line: r.AccountLine, Column: "billing_day", Reason: billing.ErrorMessage(err)})
				}
			}
			if c, err := billing.ParseCurrency(string(r.Account.Currency)); err == nil && a.id == 0 {
				a.currency = im.intern(string(c))
			}
		}
		for _, s := range r.Services {
			if s.Plan == "" {
				continue
			}
			pid, ok := im.plans.lookup(s.Plan)
			if !ok {
				errs = append(errs, billing.ImportError{Line: s.Line, Column: "plan",
					Reason: fmt.Sprintf("plan %q does not exist; %s", s.Plan, im.plans.known("plan"))})
				continue
			}
			if pc := im.planCurrency[pid]; a.currency != "" && pc != a.currency {
				errs = append(errs, billing.ImportError{Line: s.Line, Column: "plan",
					Reason: fmt.Sprintf("plan %q is priced in %s but the account is billed in %s", s.Plan, pc, a.currency)})
			}
		}
		if len(errs) > 0 {
			a.invalid = true
			im.problems.Add(errs...)
		}
	}
	return nil
}

// apply is pass 2 for the batch (of valid accounts' runs): it creates the
// new accounts, then the services each run lacks; a dry run counts them.
func (im *importer) apply() error {
	if err := im.createAccounts(); err != nil {
		return err
	}
	if im.dryRun {
		return im.countServices()
	}
	for i := range im.batch {
		if err := im.createServices(&im.batch[i]); err != nil {
			return err
		}
	}
	return nil
}

// createAccounts creates the accounts of the batch that do not exist, in
// one round trip (counting them in a dry run). An account created meanwhile
// by another import is left as it is, as an existing one.
func (im *importer) createAccounts() error {
	b := &pgx.Batch{}
	var created []int // runs whose accounts are queued
	for i, r := range im.batch {
		if !r.First {
			continue
		}
		a := &im.accounts[r.Index]
		if a.id != 0 {
			im.res.AccountsExisting++
			continue
		}
		if im.dryRun {
			im.res.AccountsCreated++
			continue
		}
		in := r.Account
		in.AccountTypeID, _ = im.types.lookup(r.AccountType)
		if err := in.Validate(); err != nil {
			return atLine(r.Line, err)
		}
		addr, err := json.Marshal(in.Address)
		if err != nil {
			return err
		}
		overrides, err := overridesArg(in.Overrides)
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO accounts (number, external_id, name, email, phone, address,
				account_type_id, currency, tax_jurisdiction, delivery, anchor_date, created_at, locale, company_name,
				overrides, tax_exempt, exemption_certificate, billing_day)
			VALUES ((SELECT 'A-' || lpad(n::text, greatest(6, length(n::text)), '0') FROM nextval('account_number_seq') n), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
				nullif($17::smallint, 0))
			ON CONFLICT (external_id) DO NOTHING
			RETURNING id`,
			in.ExternalID, in.Name, in.Email, in.Phone, addr, in.AccountTypeID, in.Currency, in.TaxJurisdiction, in.Delivery,
			pgDate(im.anchorOf[in.AccountTypeID]), im.at, in.Locale, in.CompanyName, overrides, in.TaxExempt, in.ExemptionCertificate, in.BillingDay)
		created = append(created, i)
	}
	if len(created) == 0 {
		return nil
	}
	br := im.tx.SendBatch(im.ctx, b)
	var raced []int
	for _, i := range created {
		r := &im.batch[i]
		err := br.QueryRow().Scan(&im.accounts[r.Index].id)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			raced = append(raced, i)
		case err != nil:
			br.Close()
			return atLine(r.Line, err)
		default:
			im.res.AccountsCreated++
		}
	}
	if err := br.Close(); err != nil {
		return err
	}
	for _, i := range raced {
		r := &im.batch[i]
		if err := im.tx.QueryRow(im.ctx, `SELECT id FROM accounts WHERE external_id = $1`, r.Account.ExternalID).Scan(&im.accounts[r.Index].id); err != nil {
			return atLine(r.Line, err)
		}
		im.res.AccountsExisting++
	}
	return nil
}

// countServices counts, in a dry run, the services of the batch that
// would be created and those that exist.
func (im *importer) countServices() error {
	var ids []int64
	for _, r := range im.batch {
		if id := im.accounts[r.Index].id; id != 0 && len(r.Services) > 0 {
			ids = append(ids, id)
		}
	}
	type key struct {
		account int64
		name    string
	}
	have := map[key]bool{}
	if len(ids) > 0 {
		rows, err := im.tx.Query(im.ctx, `SELECT account_id, name FROM services WHERE account_id = ANY($1)`, ids)
		if err != nil {
			return err
		}
		var id int64
		var name string
		if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { have[key{id, name}] = true; return nil }); err != nil {
			return err
		}
	}
	for _, r := range im.batch {
		id := im.accounts[r.Index].id
		for _, s := range r.Services {
			if id != 0 && have[key{id, s.Service.Name}] {
				im.res.ServicesExisting++
			} else {
				im.res.ServicesCreated++
			}
		}
	}
	return nil
}

// createServices writes the services of a run that its account lacks.
func (im *importer) createServices(r *billing.ImportRun) error {
	if len(r.Services) == 0 {
		return nil
	}
	ctx, tx, a := im.ctx, im.tx, &im.accounts[r.Index]
	// The account's row lock serialises service creation for it (as
	// checkServiceBilling does), so concurrent imports of one file see each
	// other's services and create none twice.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, a.id); err != nil {
		return err
	}
	have := map[string]bool{}
	svcRows, err := tx.Query(ctx, `SELECT name FROM services WHERE account_id = $1`, a.id)
	if err != nil {
		return err
	}
	var name string
	if _, err := pgx.ForEachRow(svcRows, []any{&name}, func() error { have[name] = true; return nil }); err != nil {
		return err
	}
	if a.split && !im.anchorChecked[a.id] {
		// The anchor date follows the first billed service written; an
		// account written in several runs has it set to the earliest at
		// the end.
		im.anchorChecked[a.id] = true
		var open bool
		if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM services WHERE account_id = $1 AND plan_id IS NOT NULL)
			AND NOT EXISTS (SELECT 1 FROM invoices WHERE account_id = $1)`, a.id).Scan(&open); err != nil {
			return err
		}
		if open {
			im.anchors[a.id] = billing.Date{}
		}
	}
	// Billed services in order of start date, so the account's anniversary
	// anchor becomes its earliest service start.
	order := make([]int, len(r.Services))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		si, sj := r.Services[i].Service.StartDate, r.Services[j].Service.StartDate
		return cmp.Or(cmp.Compare(b2i(si.IsZero()), b2i(sj.IsZero())), si.Compare(sj))
	})
	for _, j := range order {
		s := r.Services[j]
		if have[s.Service.Name] {
			im.res.ServicesExisting++
			continue
		}
		in := s.Service
		in.AccountID = &a.id
		if s.Plan != "" {
			pid, _ := im.plans.lookup(s.Plan)
			in.PlanID = &pid
			if first, ok := im.anchors[a.id]; ok && (first.IsZero() || in.StartDate.Compare(first) < 0) {
				im.anchors[a.id] = in.StartDate
			}
		}
		if _, err := createServiceTx(ctx, tx, in, importActor, im.at, false); err != nil {
			return atLine(s.Line, err)
		}
		have[s.Service.Name] = true
		im.res.ServicesCreated++
	}
	return nil
}

// fixAnchors sets the anchor date of each account whose rows are spread
// over the file, and whose anchor follows its first billed service, to
// the earliest start of the billed services written: what writing them in
// order of start date would have set.
func (im *importer) fixAnchors() error {
	for id, d := range im.anchors {
		if d.IsZero() {
			continue
		}
		if _, err := im.tx.Exec(im.ctx, `UPDATE accounts SET anchor_date = $2 WHERE id = $1`, id, pgDate(d)); err != nil {
			return err
		}
	}
	return nil
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
	var allocated []string
	if in.Allocate != "" && in.Allocate != billing.AllocateLearned {
		if err := billing.ValidatePOPID(in.POP); err != nil {
			return billing.Service{}, err
		}
		var err error
		if allocated, err = allocateAddresses(ctx, tx, in.POP, in.Allocate, at); err != nil {
			return billing.Service{}, err
		}
		in.Binding.Addresses = append(slices.Clip(in.Binding.Addresses), allocated...)
	}
	if err := in.Validate(); err != nil {
		return billing.Service{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO pops (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, in.POP, at); err != nil {
		return billing.Service{}, err
	}
	if err := checkServiceBilling(ctx, tx, in); err != nil {
		return billing.Service{}, err
	}
	if err := refuseUnshapeable(ctx, tx, "binding.method", 0, in.Binding.Method, in.PlanID, in.AccountID); err != nil {
		return billing.Service{}, err
	}
	const reason = "service created"
	b := in.Binding
	s, err := scanService(tx.QueryRow(ctx, `
		INSERT INTO services (pop_id, name, method, addresses, radius_username, device, if_index,
			desired_state, state_reason, revision, created_at, updated_at, account_id, plan_id, start_date, end_date, service_address, quantity)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10, $11, $12, $13, $14, $15, $16)
		RETURNING `+serviceColumns,
		in.POP, in.Name, b.Method, nonNil(b.Addresses), b.RADIUSUsername, b.Device, b.IfIndex,
		in.State, reason, at, in.AccountID, in.PlanID, pgDate(in.StartDate), pgDate(in.EndDate), in.ServiceAddress, in.Quantity))
	if err != nil {
		return billing.Service{}, err
	}
	if err := syncAddresses(ctx, tx, s.ID, s.Binding.Addresses, allocated, at, true); err != nil {
		return billing.Service{}, err
	}
	change := stateChange{service: s.ID, pop: s.POP, state: in.State, reason: reason, actor: actor, at: at}
	if in.AccountID != nil {
		change.account = *in.AccountID
	}
	return s, changeStates(tx, []stateChange{change}, wantRevisions)
}

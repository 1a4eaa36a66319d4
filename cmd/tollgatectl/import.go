package main

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

func newImportCmd(g *globals) *cobra.Command {
	var dryRun, skipInvalid bool
	var chunkSize int
	accounts := &cobra.Command{
		Use:     "accounts FILE.csv [--dry-run] [--skip-invalid]",
		Short:   "Import accounts with their services from CSV: the controller validates the whole file, then imports it",
		Example: `  tollgatectl import accounts customers.csv --dry-run`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if chunkSize < 1 {
				return fmt.Errorf("--chunk-size %d must be at least 1", chunkSize)
			}
			return runImportAccounts(cmd, g, args[0], dryRun, skipInvalid, chunkSize)
		},
	}
	f := accounts.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "only validate the file and count what would be imported")
	f.BoolVar(&skipInvalid, "skip-invalid", false, "import the valid accounts and skip every account with a bad row")
	f.IntVar(&chunkSize, "chunk-size", 500, "kept for scripts: the controller takes the whole file; a new value only makes a new Idempotency-Key")
	return group("import", "Import accounts and services from a spreadsheet or another billing system", accounts)
}

// runImportAccounts has the controller check the whole file, then (unless
// a dry run) import it: all of it, or with --skip-invalid the valid
// accounts.
func runImportAccounts(cmd *cobra.Command, g *globals, path string, dryRun, skipInvalid bool, chunkSize int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
	// A dry run writes nothing, so its key is fresh: a fixed file or a new
	// plan is checked anew. A refused import would keep its key's refusal.
	fmt.Fprintf(stderr, "validating %s\n", path)
	res, err := c.ImportAccountsCSV(ctx, client.NewIdempotencyKey(), data, true, skipInvalid)
	if errs, refused := client.ImportErrors(err); refused {
		res, err = billing.ImportResult{DryRun: true, Errors: errs}, nil
	}
	if err != nil {
		return err
	}
	showImportProgress(stderr, res, "")
	headerBad := len(res.Errors) > 0 && res.Errors[0].Line == 1
	if len(res.Errors) > 0 && (!skipInvalid || headerBad) {
		hint := "fix them, or re-run with --skip-invalid to import only the valid accounts"
		if headerBad {
			hint = "fix them; problems of the header line (line 1) refuse the whole file, even with --skip-invalid"
		}
		return cmp.Or(printImportResult(cmd.OutOrStdout(), g, res, false),
			fmt.Errorf("%s has %d problem(s); nothing was imported: %s", path, len(res.Errors), hint))
	}
	if !dryRun { // with a key that makes a re-run replay the first answer
		fmt.Fprintf(stderr, "importing %s\n", path)
		sum := sha256.Sum256(data)
		key := fmt.Sprintf("import-accounts-%x-%s-%d", sum[:16], map[bool]string{false: "all", true: "skip-invalid"}[skipInvalid], chunkSize)
		if res, err = c.ImportAccountsCSV(ctx, key, data, false, skipInvalid); err != nil {
			if errs, refused := client.ImportErrors(err); refused {
				_ = printImportResult(cmd.OutOrStdout(), g, billing.ImportResult{Errors: errs}, false)
			}
			return fmt.Errorf("importing %s failed: %w\nre-run the same command to retry (nothing is created twice)", path, err)
		}
		showImportProgress(stderr, res, fmt.Sprintf("%s created, %s existing", textout.Commas(int64(res.AccountsCreated)), textout.Commas(int64(res.AccountsExisting))))
	}
	if res.Errors == nil {
		res.Errors = []billing.ImportError{}
	}
	return printImportResult(cmd.OutOrStdout(), g, res, true)
}

// showImportProgress shows on stderr how many accounts the controller
// checked or imported.
func showImportProgress(w io.Writer, r billing.ImportResult, detail string) {
	bar := textout.NewProgress(w, "accounts")
	bar.Update(r.Accounts, r.Accounts, detail)
	bar.Done()
}

func printImportResult(w io.Writer, g *globals, r billing.ImportResult, summary bool) error {
	if g.json() {
		return printJSON(w, r)
	}
	if len(r.Errors) > 0 {
		if err := printImportProblems(w, r.Errors); err != nil {
			return err
		}
		if r.ErrorsUnlisted > 0 {
			fmt.Fprintf(w, "… and %s more problem(s), not listed\n", textout.Commas(int64(r.ErrorsUnlisted)))
		}
		if summary {
			fmt.Fprintln(w)
		}
	}
	if !summary {
		return nil
	}
	verb := "created"
	if r.DryRun {
		fmt.Fprintln(w, "dry run: nothing was written")
		verb = "would be created"
	}
	return textout.Fields(w, "Rows", textout.Commas(int64(r.Rows)),
		"Accounts", fmt.Sprintf("%s (%s %s, %s existing)", textout.Commas(int64(r.Accounts)), textout.Commas(int64(r.AccountsCreated)), verb, textout.Commas(int64(r.AccountsExisting))),
		"Services", fmt.Sprintf("%s %s, %s existing", textout.Commas(int64(r.ServicesCreated)), verb, textout.Commas(int64(r.ServicesExisting))),
		"Skipped", textout.Only(r.Skipped > 0 || len(r.Errors) > 0, textout.Commas(int64(r.Skipped))+" account(s) with problems (listed above)"))
}

// batchImport is batch import's JSON output: the file, its rows, the
// controller's problems with it (errors refuse the whole file, warnings do
// not) and the batch.
type batchImport struct {
	File     string                `json:"file"`
	Rows     int                   `json:"rows"`
	Errors   []billing.ImportError `json:"errors"`
	Warnings []billing.ImportError `json:"warnings"`
	Batch    billing.PaymentBatch  `json:"batch"`
}

// printImportProblems prints the controller's problems with a file's lines
// (none: nothing).
func printImportProblems(w io.Writer, ps []billing.ImportError) error {
	if len(ps) == 0 {
		return nil
	}
	return printList(w, &globals{}, ps, "LINE,COLUMN,PROBLEM", func(e billing.ImportError) []any {
		return []any{orDash(strings.TrimPrefix(strconv.Itoa(e.Line), "0")), orDash(e.Column), cell(e.Reason)}
	})
}

func newBatchImportCmd(g *globals) *cobra.Command {
	var date, depositAccount, memo, idemKey string
	var post bool
	var batchID int64
	cmd := &cobra.Command{
		Use:     "import FILE.csv [--date YYYY-MM-DD] [--deposit-account TEXT] [--batch ID] [--post]",
		Short:   "Import a bank lockbox or check-scanner file as a deposit batch: check every row, open the batch, validate it, optionally post it",
		Example: `  tollgatectl batch import lockbox-2025-03-03.csv --date 2025-03-03 --post`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nb := newBatch{DepositDate: cmp.Or(strings.TrimSpace(date), billing.DateOf(time.Now()).String()),
				DepositAccount: strings.TrimSpace(depositAccount), Memo: strings.TrimSpace(memo)}
			if len(idemKey) > 200 {
				return fmt.Errorf("--idempotency-key is longer than 200 characters")
			}
			return runBatchImport(cmd, g, args[0], nb, batchID, post, idemKey)
		},
	}
	f := cmd.Flags()
	f.StringVar(&date, "date", "", "deposit date YYYY-MM-DD; the payments are received on it (default: today)")
	f.StringVar(&depositAccount, "deposit-account", "", "the bank account the deposit goes to")
	f.StringVar(&memo, "memo", "", "note kept with the batch")
	f.BoolVar(&post, "post", false, "post the batch if validation finds no error")
	f.Int64Var(&batchID, "batch", 0, "add the file to this open batch instead of opening one")
	f.StringVar(&idemKey, "idempotency-key", "", "base of the Idempotency-Keys to send (default: derived from the file and flags); re-run with the same key to retry safely")
	return cmd
}

// importKey derives the base of an import's Idempotency-Keys from what it
// sends.
func importKey(data []byte, nb newBatch) string {
	h := sha256.New()
	h.Write(data)
	fmt.Fprintf(h, "\x00%s\x00%s\x00%s", nb.DepositDate, nb.DepositAccount, nb.Memo)
	return fmt.Sprintf("batch-import-%x", h.Sum(nil)[:16])
}

func runBatchImport(cmd *cobra.Command, g *globals, path string, nb newBatch, batchID int64, post bool, idemKey string) error {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	base := cmp.Or(idemKey, importKey(data, nb))
	batchPath := func() string { return idPath("/api/v1/payment-batches", batchID) }

	// Open the batch (or take the one given): the one an earlier run of
	// this import opened if there is one (the same key answers with the
	// same batch). A replayed answer is the first one, so the batch is
	// fetched afresh.
	view := batchImport{File: path, Errors: []billing.ImportError{}, Warnings: []billing.ImportError{}}
	if batchID == 0 {
		if err := c.Do(ctx, http.MethodPost, "/api/v1/payment-batches", nil, base+"-open", nb, &view.Batch); err != nil {
			return err
		}
		batchID = view.Batch.ID
	}
	if view.Batch, err = get[billing.PaymentBatch](ctx, c, batchPath()); err != nil {
		return err
	}
	if view.Batch.Status == billing.BatchPosted {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s was already imported and posted as batch %d\n", path, batchID)
		return printImported(out, g, view)
	}

	// The controller parses and checks the whole file, and adds all of it
	// or nothing. The same key replays the first answer, so running the
	// same import again adds nothing twice.
	res, err := c.ImportBatchCSV(ctx, fmt.Sprintf("%s-import-%d", base, batchID), batchID, data, false)
	if errs, refused := client.ImportErrors(err); refused {
		for _, e := range errs { // the API marks warnings "warning: LOCATION: "
			if rest, ok := strings.CutPrefix(e.Reason, "warning: "); ok {
				e.Reason = strings.TrimPrefix(rest, billing.ImportError{Line: e.Line, Column: e.Column}.Error())
				view.Warnings = append(view.Warnings, e)
			} else {
				view.Errors = append(view.Errors, e)
			}
		}
		return cmp.Or(printImported(out, g, view), fmt.Errorf("%s has %d problem(s); nothing was added to batch %d, which stays open: fix the file and run the same command with --batch %d",
			path, len(view.Errors), batchID, batchID))
	} else if err != nil {
		return err
	}
	view.Rows, view.Warnings = res.Rows, append(view.Warnings, res.Warnings...)
	if post {
		if err := c.Do(ctx, http.MethodPost, batchPath()+"/post", nil, base+"-post", nil, nil); err != nil {
			return fmt.Errorf("posting batch %d: %w\nsee tollgatectl batch validate %d", batchID, err, batchID)
		}
	}
	if view.Batch, err = get[billing.PaymentBatch](ctx, c, batchPath()); err != nil {
		return err
	}
	return printImported(out, g, view)
}

// printImported prints an import's problems, then (unless the file was
// refused) the batch.
func printImported(w io.Writer, g *globals, v batchImport) error {
	if g.json() {
		return printJSON(w, v)
	}
	if err := printImportProblems(w, append(slices.Clone(v.Errors), v.Warnings...)); err != nil || len(v.Errors) > 0 {
		return err
	}
	if len(v.Warnings) > 0 {
		fmt.Fprintln(w)
	}
	b := v.Batch
	if b.Status == billing.BatchPosted {
		fmt.Fprintf(w, "posted batch %d: %s payment(s) from %s, received on %s\n\n", b.ID, textout.Commas(int64(b.Count)), v.File, b.DepositDate)
	} else {
		fmt.Fprintf(w, "batch %d holds %s payment(s) from %s and is open; nothing is posted yet: post it with tollgatectl batch post %d\n\n",
			b.ID, textout.Commas(int64(b.Count)), v.File, b.ID)
	}
	return printBatch(w, b, false)
}

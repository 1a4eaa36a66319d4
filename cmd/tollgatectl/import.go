package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

func newImportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import accounts and services from a spreadsheet or another billing system",
	}
	var dryRun, skipInvalid bool
	var chunkSize int
	accounts := &cobra.Command{
		Use:   "accounts FILE.csv [--dry-run] [--skip-invalid]",
		Short: "Import accounts with their services from CSV: the controller validates the whole file, then imports it",
		Long: `One row per service; the first line names the columns, in any order:
  ` + strings.Join(billing.ImportColumns(), ", ") + `
The controller checks the whole file first and every problem is printed with its
line and column; then nothing is imported (--skip-invalid: the bad accounts are
skipped). Re-running the command after an interruption creates nothing twice.`,
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
	cmd.AddCommand(accounts)
	return cmd
}

func runImportAccounts(cmd *cobra.Command, g *globals, path string, dryRun, skipInvalid bool, chunkSize int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(data) > billing.MaxImportBytes {
		return fmt.Errorf("%s is larger than %d MiB; split it into several files (by account)", path, billing.MaxImportBytes>>20)
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	ctx, stderr, out := cmd.Context(), cmd.ErrOrStderr(), cmd.OutOrStdout()

	// 1. The controller parses and checks the whole file (a dry run writes
	// nothing, so its key is fresh: a fixed file or a new plan must be
	// checked anew).
	fmt.Fprintf(stderr, "validating %s\n", path)
	check, err := c.ImportAccountsCSV(ctx, client.NewIdempotencyKey(), data, true, skipInvalid)
	if errs, refused := client.ImportErrors(err); refused {
		check = billing.ImportResult{DryRun: true, Errors: errs}
	} else if err != nil {
		return err
	}
	showImportProgress(stderr, check, "")
	headerBad := len(check.Errors) > 0 && check.Errors[0].Line == 1
	if len(check.Errors) > 0 && (!skipInvalid || headerBad) {
		if err := printImportResult(out, g, check, false); err != nil {
			return err
		}
		hint := "fix them, or re-run with --skip-invalid to import only the valid accounts"
		if headerBad {
			hint = "fix them; problems of the header line (line 1) refuse the whole file, even with --skip-invalid"
		}
		return fmt.Errorf("%s has %d problem(s); nothing was imported: %s", path, len(check.Errors), hint)
	}
	if dryRun {
		return printImportResult(out, g, check, true)
	}

	// 2. Import, with a key that makes a re-run replay the first answer.
	sum := sha256.Sum256(data)
	mode := "all"
	if skipInvalid {
		mode = "skip-invalid"
	}
	fmt.Fprintf(stderr, "importing %s\n", path)
	key := fmt.Sprintf("import-accounts-%x-%s-%d", sum[:16], mode, chunkSize)
	res, err := c.ImportAccountsCSV(ctx, key, data, false, skipInvalid)
	if err != nil {
		if errs, refused := client.ImportErrors(err); refused {
			_ = printImportResult(out, g, billing.ImportResult{Errors: errs}, false)
		}
		return fmt.Errorf("importing %s failed: %w\nre-run the same command to retry (nothing is created twice)", path, err)
	}
	showImportProgress(stderr, res, fmt.Sprintf("%s created, %s existing", commas(int64(res.AccountsCreated)), commas(int64(res.AccountsExisting))))
	if res.Errors == nil {
		res.Errors = []billing.ImportError{}
	}
	return printImportResult(out, g, res, true)
}

// showImportProgress shows on stderr how many accounts the controller
// checked or imported.
func showImportProgress(w io.Writer, r billing.ImportResult, detail string) {
	bar := newProgress(w, "accounts")
	bar.Update(r.Accounts, r.Accounts, detail)
	bar.Done()
}

func printImportResult(w io.Writer, g *globals, r billing.ImportResult, summary bool) error {
	if g.json() {
		return printJSON(w, r)
	}
	if len(r.Errors) > 0 {
		t := newTable(w, "LINE", "COLUMN", "PROBLEM")
		for _, e := range r.Errors {
			t.row(e.Line, orDash(e.Column), strings.ReplaceAll(e.Reason, "\n", " "))
		}
		if err := t.flush(); err != nil {
			return err
		}
		if r.ErrorsUnlisted > 0 {
			fmt.Fprintf(w, "… and %s more problem(s), not listed\n", commas(int64(r.ErrorsUnlisted)))
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
	return printFields(w, "Rows", commas(int64(r.Rows)),
		"Accounts", fmt.Sprintf("%s (%s %s, %s existing)", commas(int64(r.Accounts)), commas(int64(r.AccountsCreated)), verb, commas(int64(r.AccountsExisting))),
		"Services", fmt.Sprintf("%s %s, %s existing", commas(int64(r.ServicesCreated)), verb, commas(int64(r.ServicesExisting))),
		"Skipped", only(r.Skipped > 0 || len(r.Errors) > 0, commas(int64(r.Skipped))+" account(s) with problems (listed above)"))
}

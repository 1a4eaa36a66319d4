package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// maxImportChunkBytes caps one upload part. The whole file is validated in
// one request first (the API takes up to 64 MiB); the writes then go in
// parts, so the progress bar moves and an interrupted import resumes where
// it stopped.
const maxImportChunkBytes = 900 << 10

func newImportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import accounts and services from a spreadsheet or another billing system",
	}
	var dryRun, skipInvalid bool
	var chunkSize int
	accounts := &cobra.Command{
		Use:   "accounts FILE.csv [--dry-run] [--skip-invalid]",
		Short: "Import accounts with their services from CSV: validate the whole file, then upload it in resumable parts",
		Long: `Import accounts with their services from CSV, one row per service.

The first line names the columns, in any order:
  ` + strings.Join(billing.ImportColumns(), ", ") + `
external_id, name, account_type (a name) and currency are required. An account
without services has one row with empty service columns; an account with
several services repeats its account columns on each row, with the same
external_id. plan is a plan's name, dates are YYYY-MM-DD, addresses are
separated by spaces or ';'.

The whole file is first validated by the controller (a dry run) and every
problem is printed with its line and column; if there is any, nothing is
imported and the command exits 1 (with --skip-invalid, the accounts with
problems are skipped and the rest is imported). The file is then uploaded in
parts of about --chunk-size accounts, never splitting an account. Each part
is sent with an Idempotency-Key derived from the file's SHA-256 and the
part's number, and accounts and services that already exist are left alone,
so re-running the command after an interruption resumes without creating
anything twice (parts already imported answer with their first result).`,
		Example: `  tollgatectl import accounts customers.csv --dry-run
  tollgatectl import accounts customers.csv
  tollgatectl import accounts customers.csv --skip-invalid -o json

  # customers.csv
  external_id,name,email,account_type,currency,service_name,pop,plan,start_date,method,addresses
  1042,Jane Doe,jane@example.net,residential,USD,home,north-1,Fiber 100,2025-01-15,routeros,100.64.1.20
  1042,Jane Doe,jane@example.net,residential,USD,cabin,south-2,Fiber 100,2025-03-01,routeros,100.64.9.7
  1043,ACME Corp,,commercial,USD,,,,,,`,
		Args: cobra.ExactArgs(1),
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
	f.IntVar(&chunkSize, "chunk-size", 500, "accounts per upload")
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
	chunks, err := splitImportCSV(data, chunkSize, maxImportChunkBytes)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	ctx, stderr, out := cmd.Context(), cmd.ErrOrStderr(), cmd.OutOrStdout()
	totalAccounts := 0
	for _, ch := range chunks {
		totalAccounts += ch.accounts
	}

	// 1. Validate the whole file (dry runs write nothing, so their keys are
	// fresh: a fixed file or a new plan must be checked anew).
	fmt.Fprintf(stderr, "validating %s (%s accounts, %d part(s))\n", path, commas(int64(totalAccounts)), len(chunks))
	check := billing.ImportResult{DryRun: true}
	var problems []billing.ImportError
	bar, done := newProgress(stderr, "accounts"), 0
	for _, ch := range chunks {
		res, err := c.ImportAccountsCSV(ctx, client.NewIdempotencyKey(), ch.data, true, skipInvalid)
		if errs, refused := client.ImportErrors(err); refused {
			problems = append(problems, ch.fileErrors(errs)...)
		} else if err != nil {
			bar.Done()
			return err
		} else {
			addImport(&check, res)
			problems = append(problems, ch.fileErrors(res.Errors)...)
		}
		done += ch.accounts
		bar.Update(done, totalAccounts, "")
	}
	bar.Done()
	check.Errors = dedupeImportErrors(problems)
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

	// 2. Upload, part by part, with keys that make a re-run resume.
	sum := sha256.Sum256(data)
	mode := "all"
	if skipInvalid {
		mode = "skip-invalid"
	}
	total := billing.ImportResult{}
	var totalErrs []billing.ImportError
	bar, done = newProgress(stderr, "accounts"), 0
	fmt.Fprintf(stderr, "importing %s\n", path)
	for i, ch := range chunks {
		key := fmt.Sprintf("import-accounts-%x-%s-%d-part-%d-of-%d", sum[:16], mode, chunkSize, i+1, len(chunks))
		res, err := c.ImportAccountsCSV(ctx, key, ch.data, false, skipInvalid)
		if err != nil {
			bar.Done()
			if errs, refused := client.ImportErrors(err); refused {
				total.Errors = dedupeImportErrors(ch.fileErrors(errs))
				_ = printImportResult(out, g, total, false)
			}
			return fmt.Errorf("part %d of %d (from line %d) failed: %w\nparts 1-%d are imported; re-run the same command to resume (nothing is created twice)",
				i+1, len(chunks), ch.firstLine(), err, i)
		}
		addImport(&total, res)
		totalErrs = append(totalErrs, ch.fileErrors(res.Errors)...)
		done += ch.accounts
		bar.Update(done, totalAccounts, fmt.Sprintf("%s created, %s existing", commas(int64(total.AccountsCreated)), commas(int64(total.AccountsExisting))))
	}
	bar.Done()
	total.Errors = dedupeImportErrors(totalErrs)
	return printImportResult(out, g, total, true)
}

func addImport(to *billing.ImportResult, r billing.ImportResult) {
	to.Rows += r.Rows
	to.Accounts += r.Accounts
	to.AccountsCreated += r.AccountsCreated
	to.AccountsExisting += r.AccountsExisting
	to.ServicesCreated += r.ServicesCreated
	to.ServicesExisting += r.ServicesExisting
	to.Skipped += r.Skipped
	to.ErrorsUnlisted += r.ErrorsUnlisted
}

// dedupeImportErrors sorts problems and drops repeats (every part reports
// the header's).
func dedupeImportErrors(errs []billing.ImportError) []billing.ImportError {
	out := slices.Clone(errs)
	billing.SortImportErrors(out)
	out = slices.Compact(out)
	if out == nil {
		out = []billing.ImportError{}
	}
	return out
}

func printImportResult(w io.Writer, g *globals, r billing.ImportResult, summary bool) error {
	if g.json() {
		return printJSON(w, r)
	}
	if len(r.Errors) > 0 {
		t := newTable(w)
		fmt.Fprintln(t, "LINE\tCOLUMN\tPROBLEM")
		for _, e := range r.Errors {
			fmt.Fprintf(t, "%d\t%s\t%s\n", e.Line, orDash(e.Column), strings.ReplaceAll(e.Reason, "\n", " "))
		}
		if err := t.Flush(); err != nil {
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
	k := newKV(w)
	k.row("Rows", "%s", commas(int64(r.Rows)))
	k.row("Accounts", "%s (%s %s, %s existing)", commas(int64(r.Accounts)), commas(int64(r.AccountsCreated)), verb, commas(int64(r.AccountsExisting)))
	k.row("Services", "%s %s, %s existing", commas(int64(r.ServicesCreated)), verb, commas(int64(r.ServicesExisting)))
	if r.Skipped > 0 || len(r.Errors) > 0 {
		k.row("Skipped", "%s account(s) with problems (listed above)", commas(int64(r.Skipped)))
	}
	return k.flush()
}

// importChunk is a part of an import file: its header and whole accounts,
// with the map from the part's lines back to the file's.
type importChunk struct {
	data     []byte
	accounts int
	rows     int
	// segs map the part's lines to the file's: each starts a run of lines
	// copied verbatim, in ascending order of chunkLine.
	segs []lineSeg
}

type lineSeg struct{ chunkLine, fileLine int }

// fileLine maps a line of the part to the line of the file.
func (c importChunk) fileLine(line int) int {
	i := sort.Search(len(c.segs), func(i int) bool { return c.segs[i].chunkLine > line }) - 1
	if i < 0 {
		return line
	}
	return c.segs[i].fileLine + line - c.segs[i].chunkLine
}

// firstLine is the file line of the part's first row.
func (c importChunk) firstLine() int {
	if len(c.segs) > 1 {
		return c.segs[1].fileLine
	}
	return 1
}

// fileErrors maps the part's problems to the file's lines.
func (c importChunk) fileErrors(errs []billing.ImportError) []billing.ImportError {
	out := make([]billing.ImportError, len(errs))
	for i, e := range errs {
		out[i] = e.RemapLines(c.fileLine)
	}
	return out
}

// splitImportCSV splits an import file into parts of at most maxAccounts
// accounts (by external_id; the rows of an account go to one part even when
// they are not adjacent in the file) and, where possible, maxBytes bytes,
// each starting with the file's header. Rows are copied byte for byte, bad
// ones included, so the controller sees (and reports) exactly what the file
// holds; a row without an external_id is a part of its own account. A file
// whose header cannot be read, or has no external_id column, is one part:
// the controller says what is wrong with it.
func splitImportCSV(data []byte, maxAccounts, maxBytes int) ([]importChunk, error) {
	whole := []importChunk{{data: data, accounts: 1, segs: []lineSeg{{1, 1}}}}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return whole, nil
	}
	ext := -1
	for i, h := range header {
		// As the controller reads names: any case, ' ' or '-' for '_'.
		name := strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))))
		if name == "external_id" {
			ext = i
			break
		}
	}
	if ext < 0 {
		return whole, nil
	}
	hdrEnd := int(r.InputOffset())
	headerRaw := withNewline(data[:hdrEnd])

	type span struct{ start, end, line int }
	var order []string
	groups := map[string][]span{}
	prev, line := hdrEnd, 1+bytes.Count(data[:hdrEnd], []byte("\n"))
	for {
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return nil, err
		}
		end := int(r.InputOffset())
		if end <= prev {
			break
		}
		key := ""
		if ext < len(fields) {
			key = strings.TrimSpace(fields[ext])
		}
		if key == "" {
			key = fmt.Sprintf("\x00line %d", line) // no account: a group of its own
		}
		if err == nil && blankRecord(fields) {
			key = "\x00blank" // spreadsheets' empty rows, skipped by the controller
		}
		if _, seen := groups[key]; !seen {
			order = append(order, key)
		}
		groups[key] = append(groups[key], span{prev, end, line})
		line += bytes.Count(data[prev:end], []byte("\n"))
		prev = end
	}

	var chunks []importChunk
	var cur *importChunk
	next := 0
	flush := func() {
		if cur != nil {
			chunks = append(chunks, *cur)
			cur = nil
		}
	}
	for _, key := range order {
		spans := groups[key]
		size := 0
		for _, s := range spans {
			size += s.end - s.start + 1
		}
		if cur != nil && cur.accounts > 0 && (cur.accounts >= maxAccounts || len(cur.data)+size > maxBytes) {
			flush()
		}
		if cur == nil {
			cur = &importChunk{data: slices.Clone(headerRaw), segs: []lineSeg{{1, 1}}}
			next = 1 + bytes.Count(headerRaw, []byte("\n"))
		}
		for _, s := range spans {
			raw := withNewline(data[s.start:s.end])
			cur.segs = append(cur.segs, lineSeg{next, s.line})
			cur.data = append(cur.data, raw...)
			next += bytes.Count(raw, []byte("\n"))
			cur.rows++
		}
		if key != "\x00blank" {
			cur.accounts++
		}
		if len(cur.data) > maxBytes {
			name := key
			if strings.HasPrefix(name, "\x00") {
				name = ""
			}
			return nil, fmt.Errorf("the rows of external_id %q (from line %d) alone are larger than %d KiB, the most one upload may carry",
				name, spans[0].line, maxBytes>>10)
		}
	}
	flush()
	if len(chunks) == 0 { // a header alone: let the controller check it
		chunks = append(chunks, importChunk{data: headerRaw, segs: []lineSeg{{1, 1}}})
	}
	return chunks, nil
}

func withNewline(b []byte) []byte {
	if len(b) == 0 || b[len(b)-1] == '\n' {
		return b
	}
	return append(slices.Clone(b), '\n')
}

func blankRecord(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

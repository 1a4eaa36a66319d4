package archtest

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/tollgate-isp/tollgate"

// deps lists the packages pkg (a path inside the module) depends on,
// directly or not, without its tests': `go list -deps`.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", module+"/"+pkg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr.String())
	}
	list := strings.Fields(string(out))
	if len(list) == 0 {
		t.Fatalf("go list -deps %s listed nothing", pkg)
	}
	return list
}

// TestImportRules: the store does not pull in the documents or the PDF
// library (it returns plain records; documents assembles them), pki
// imports no controller package, and the domain core depends on the
// standard library, decimal and cal only.
func TestImportRules(t *testing.T) {
	for _, r := range []struct {
		pkg       string
		forbidden func(dep string) bool
		rule      string
	}{
		{"controller/postgres", func(d string) bool {
			return d == module+"/controller/documents" || strings.HasPrefix(d, "github.com/go-pdf/fpdf")
		}, "imports neither controller/documents nor fpdf"},
		{"internal/pki", func(d string) bool { return strings.HasPrefix(d, module+"/controller/") },
			"imports no controller/ package"},
		{"controller/billing", func(d string) bool {
			first, _, _ := strings.Cut(d, "/")
			std := !strings.Contains(first, ".")
			return !std && d != module+"/controller/billing" && !strings.HasPrefix(d, "github.com/shopspring/decimal") &&
				!strings.HasPrefix(d, "github.com/rickar/cal/")
		}, "depends on the standard library, decimal and cal only"},
		{"controller/reports", func(d string) bool {
			first, _, _ := strings.Cut(d, "/")
			std := !strings.Contains(first, ".")
			return !std && d != module+"/controller/reports" && d != module+"/controller/billing" &&
				!strings.HasPrefix(d, "github.com/shopspring/decimal") && !strings.HasPrefix(d, "github.com/rickar/cal/")
		}, "is pure: the standard library and the domain core only"},
	} {
		var bad []string
		for _, d := range deps(t, r.pkg) {
			if r.forbidden(d) {
				bad = append(bad, d)
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s %s, but depends on %s", r.pkg, r.rule, strings.Join(bad, ", "))
		}
	}
}

// TestOneOutboxWriter: exactly one statement in controller/'s code (tests
// aside) inserts into enforcement_changes and one advances a POP's
// revision (controller/postgres/outbox.go's stateChangesSQL), so every
// desired-state change takes its revision from the same writer.
func TestOneOutboxWriter(t *testing.T) {
	root := moduleRoot(t)
	count := map[string][]string{}
	patterns := []string{"INSERT INTO enforcement_changes", "UPDATE pops SET revision"}
	err := filepath.WalkDir(filepath.Join(root, "controller"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// One space between words, any case, as PostgreSQL reads it.
		text := strings.ToUpper(strings.Join(strings.Fields(string(src)), " "))
		rel, _ := filepath.Rel(root, path)
		for _, p := range patterns {
			for range strings.Count(text, strings.ToUpper(p)) {
				count[p] = append(count[p], rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range patterns {
		if len(count[p]) != 1 {
			t.Errorf("%q appears %d times in controller/ (%v); want once, in the outbox writer", p, len(count[p]), count[p])
		}
	}
}

// moduleRoot is the directory of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOMOD: %q, %v", out, err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

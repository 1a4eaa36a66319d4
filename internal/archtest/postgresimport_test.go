package archtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// storeImporters are the only production packages that may import the
// store (controller/postgres): the composition root, which wires the one
// store into every other package's ports, and the binary that runs
// migrations before it starts the controller.
var storeImporters = map[string]bool{
	module + "/controller/app":          true,
	module + "/cmd/tollgate-controller": true,
}

// TestOnlyTheCompositionRootImportsTheStore: no production package (its
// non-test files, as `go list` reads them) imports controller/postgres
// except controller/app and cmd/tollgate-controller; the others declare
// the small interfaces they use and are handed the store through them.
func TestOnlyTheCompositionRootImportsTheStore(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = moduleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, stderr.String())
	}
	store := module + "/controller/postgres"
	listed := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		listed++
		pkg, imports := fields[0], fields[1:]
		if storeImporters[pkg] {
			continue
		}
		for _, imp := range imports {
			if imp == store {
				t.Errorf("%s imports controller/postgres; only controller/app and cmd/tollgate-controller may "+
					"(declare the store methods it needs as an interface where they are used, and let controller/app wire the store in)", pkg)
			}
		}
	}
	if listed < 10 {
		t.Fatalf("go list ./... listed %d packages; expected the whole module", listed)
	}
}

// riverTable is a River table named in SQL (river_job, river_queue,
// river_leader, ...).
var riverTable = regexp.MustCompile(`(?i)\briver_[a-z_]+`)

// TestJobsUsesRiversAPINotItsTables: controller/jobs's non-test code names
// no River table: it asks River's client (JobList, JobRetry, inserts) and
// its store ports, never River's tables directly. Its tests may look.
func TestJobsUsesRiversAPINotItsTables(t *testing.T) {
	dir := filepath.Join(moduleRoot(t), "controller", "jobs")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if m := riverTable.FindString(line); m != "" {
				t.Errorf("controller/jobs/%s:%d names River's table %s; use River's client (e.g. JobList) instead",
					filepath.Base(f), i+1, m)
			}
		}
	}
}

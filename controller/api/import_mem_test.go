package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// fatImportFile writes an account import file of just under size bytes
// with billing.MaxImportRows accounts (rows long enough to fill it) into
// dir and returns its path and size; bad puts an error (an unknown
// currency) on every row. The file is on disk, not in the test's heap: a
// 64 MiB live buffer would double the garbage collector's heap goal and
// so inflate what the server's import seems to take.
func fatImportFile(t *testing.T, dir string, size int, bad bool) (string, int) {
	t.Helper()
	const header = "external_id,name,email,address_line1,address_line2,city,account_type,currency\n"
	rows := billing.MaxImportRows
	currency := "USD"
	if bad {
		currency = "XXX"
	}
	row := func(i int, city int) string {
		return fmt.Sprintf("m-%06d,%s,m%06d@example.net,%s,%s,%s,residential,%s\n", i,
			"Name "+strings.Repeat("n", 195), i, strings.Repeat("1", 200), strings.Repeat("2", 200), strings.Repeat("c", city), currency)
	}
	city := (size-len(header))/rows - len(row(0, 0))
	path := filepath.Join(dir, fmt.Sprintf("accounts-%t.csv", bad))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	n, _ := w.WriteString(header)
	for i := range rows {
		m, _ := w.WriteString(row(i, city))
		n += m
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path, n
}

// procStatus reads a "Vm…" field of /proc/self/status, in bytes.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("measuring memory needs /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("/proc/self/status has no %s", field)
	return 0
}

// A 64 MiB account import, once valid and once with an error on every row,
// raises the controller's peak RSS by at most 256 MiB. The server runs in
// this process: its peak (VmHWM) is reset through /proc/self/clear_refs
// before each import and compared with the RSS at that moment; the files
// are sent from disk, so the test's own copy takes no memory. The import
// holds neither the file nor its accounts (about 40 MiB are measured);
// the bound is the issue's. The refused file's 422 lists the first 1,000
// problems and counts the rest.
func TestImportOf64MiBFilesKeepsPeakMemoryBounded(t *testing.T) {
	e := newImportEnv(t)
	const limit = 256 << 20
	for _, tc := range []struct {
		name   string
		bad    bool
		status int
	}{{"valid", false, http.StatusOK}, {"an error on every row", true, http.StatusUnprocessableEntity}} {
		path, size := fatImportFile(t, t.TempDir(), 64<<20, tc.bad)
		if size > billing.MaxImportBytes || size < 63<<20 {
			t.Fatalf("the %s file has %d bytes", tc.name, size)
		}
		file, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		debug.FreeOSMemory()
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			t.Fatalf("resetting the peak RSS (VmHWM) needs /proc/self/clear_refs: %v", err)
		}
		before := procStatus(t, "VmRSS")
		req, _ := http.NewRequest(http.MethodPost, e.url+"/api/v1/imports/accounts", file)
		req.ContentLength = int64(size)
		req.Header.Set("Authorization", "Bearer "+billingToken)
		req.Header.Set("Idempotency-Key", "mem-"+tc.name)
		req.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		peak := procStatus(t, "VmHWM")
		t.Logf("%s file (%d MiB): RSS %d MiB before, peak %d MiB (+%d MiB)", tc.name, size>>20, before>>20, peak>>20, (peak-before)>>20)
		if resp.StatusCode != tc.status {
			t.Fatalf("%s file: %d, want %d: %.500s", tc.name, resp.StatusCode, tc.status, body)
		}
		if peak-before > limit {
			t.Errorf("%s file: peak RSS rose by %d MiB, more than %d MiB", tc.name, (peak-before)>>20, limit>>20)
		}
		if tc.bad {
			var p struct {
				Detail string            `json:"detail"`
				Errors []json.RawMessage `json:"errors"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			if len(p.Errors) != 1000 || !strings.Contains(p.Detail, fmt.Sprintf("%d problem(s)", billing.MaxImportRows)) ||
				!strings.Contains(p.Detail, fmt.Sprintf("the first 1000 are listed, %d more are not", billing.MaxImportRows-1000)) {
				t.Errorf("refused file: %d problems listed; %s", len(p.Errors), p.Detail)
			}
		}
	}
	if a, _ := e.counts(); a != 1000 { // counts lists at most 1000
		t.Errorf("%d accounts after the valid import", a)
	}
	var n int
	if err := e.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM accounts`).Scan(&n); err != nil || n != billing.MaxImportRows {
		t.Errorf("%d accounts imported (%v), want %d", n, err, billing.MaxImportRows)
	}
	if r := e.importCSV("", "too-big", strings.Repeat("x", billing.MaxImportBytes+1)); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over 64 MiB: %d, want 413", r.status)
	}
}

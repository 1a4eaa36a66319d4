package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// fatImportFile is an account import file of just under size bytes with
// billing.MaxImportRows accounts (rows long enough to fill it); bad puts an
// error (an unknown currency) on every row.
func fatImportFile(size int, bad bool) []byte {
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
	extra := city
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(header)
	for i := range rows {
		b.WriteString(row(i, extra))
	}
	return b.Bytes()
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
// before each import, after the test's own copies of the files exist, and
// compared with the RSS at that moment. The refused file's 422 lists the
// first 1,000 problems and counts the rest.
func TestImportOf64MiBFilesKeepsPeakMemoryBounded(t *testing.T) {
	e := newImportEnv(t)
	const limit = 256 << 20
	for _, tc := range []struct {
		name   string
		bad    bool
		status int
	}{{"valid", false, http.StatusOK}, {"an error on every row", true, http.StatusUnprocessableEntity}} {
		file := fatImportFile(64<<20, tc.bad)
		if len(file) > billing.MaxImportBytes || len(file) < 63<<20 {
			t.Fatalf("the %s file has %d bytes", tc.name, len(file))
		}
		runtime.GC()
		debug.FreeOSMemory()
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			t.Fatalf("resetting the peak RSS (VmHWM) needs /proc/self/clear_refs: %v", err)
		}
		before := procStatus(t, "VmRSS")
		req, _ := http.NewRequest(http.MethodPost, e.url+"/api/v1/imports/accounts", bytes.NewReader(file))
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
		t.Logf("%s file (%d MiB): RSS %d MiB before, peak %d MiB (+%d MiB)", tc.name, len(file)>>20, before>>20, peak>>20, (peak-before)>>20)
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
		file = nil
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

package webassets

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"testing"
)

// TestFilesMatchTheirSums pins every vendored file to its committed
// SHA-256: an edited, truncated or swapped file fails here, and so does a
// file added without a sum or a sum whose file is gone.
func TestFilesMatchTheirSums(t *testing.T) {
	sums, err := Sums()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = fs.WalkDir(Files(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Files(), name)
		if err != nil {
			return err
		}
		seen[name] = true
		got := sha256.Sum256(b)
		switch want, ok := sums[name]; {
		case !ok:
			t.Errorf("%s is vendored but not in SHA256SUMS (run scripts/vendor-web.sh)", name)
		case hex.EncodeToString(got[:]) != want:
			t.Errorf("%s has sha256 %x, SHA256SUMS says %s: the file changed (run scripts/vendor-web.sh to refresh it from the lockfile)", name, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range sums {
		if !seen[name] {
			t.Errorf("SHA256SUMS lists %s, which is not in files/", name)
		}
	}
	if !seen[Redoc] {
		t.Errorf("%s is not vendored", Redoc)
	}
}

// TestVersionsArePinned refuses version ranges in the npm project: the
// vendored files must be reproducible from package.json and its lockfile.
func TestVersionsArePinned(t *testing.T) {
	b, err := os.ReadFile("npm/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Dependencies, DevDependencies map[string]string
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	exact := regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	for _, deps := range []map[string]string{pkg.Dependencies, pkg.DevDependencies} {
		for name, v := range deps {
			if !exact.MatchString(v) {
				t.Errorf("npm/package.json: %s %q is a range; pin an exact version", name, v)
			}
		}
	}
	if _, err := os.Stat("npm/package-lock.json"); err != nil {
		t.Errorf("the lockfile is not committed: %v", err)
	}
}

func TestHandlerServesOnlyVendoredFiles(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("/assets/", Handler()))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/assets/" + Redoc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET %s: %d, Content-Type %q, ETag %q", Redoc, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("ETag"))
	}
	req, _ := http.NewRequest("GET", srv.URL+"/assets/"+Redoc, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %v %v, want 304", resp, err)
	}
	for _, p := range []string{"SHA256SUMS", "../webassets.go", "nope.js"} {
		resp, err := http.Get(srv.URL + "/assets/" + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

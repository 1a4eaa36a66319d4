package webassets

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed files SHA256SUMS
var embedded embed.FS

// Names of the vendored files, as [Handler] serves them.
const (
	// Redoc is Redoc's standalone bundle (the API reference viewer).
	Redoc = "redoc.standalone.js"
	// HTMX is htmx, which the staff console uses for in-place updates.
	HTMX = "htmx.min.js"
	// Axe is axe-core, injected by the console's browser tests to check
	// accessibility.
	Axe = "axe.min.js"
)

// Files returns the vendored files, by name.
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "files")
	if err != nil {
		panic(err) // the directory is embedded: cannot happen
	}
	return sub
}

// Sums returns the committed SHA-256 sums (hex) of the vendored files, by
// name. An error means SHA256SUMS is malformed.
func Sums() (map[string]string, error) {
	b, err := embedded.ReadFile("SHA256SUMS")
	if err != nil {
		return nil, err
	}
	sums := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 || name == "" {
			return nil, fmt.Errorf("SHA256SUMS line %d: want \"<sha256>  <name>\", got %q", n, sc.Text())
		}
		sums[name] = sum
	}
	return sums, sc.Err()
}

// Handler serves the vendored files by base name (mount it under a prefix
// with http.StripPrefix). Each answer carries its SHA-256 as a strong ETag,
// so a browser revalidates cheaply after a new release, and nosniff.
// Anything else is 404.
func Handler() http.Handler {
	sums, err := Sums()
	if err != nil {
		panic(err) // the test checks SHA256SUMS: cannot happen in a build that passed it
	}
	files := Files()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Base(r.URL.Path)
		sum, ok := sums[name]
		if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			http.NotFound(w, r)
			return
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("ETag", `"`+sum+`"`)
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("X-Content-Type-Options", "nosniff")
		if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
			h.Set("Content-Type", ct)
		} else {
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
		if match := r.Header.Get("If-None-Match"); match == `"`+sum+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(b)
	})
}

// Package htmlpages parses a server-rendered site's templates the way the
// customer portal and the staff console lay them out: templates/layout.html
// and the shared templates/part-*.html, cloned once for every other
// templates/<page>.html, so each page defines its own "content" (and
// "fragment") without clashing with another page's.
package htmlpages

import (
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
)

// Load parses the pages of fsys with funcs, by page name ("account" for
// templates/account.html). site names the site in errors ("portal").
func Load(fsys fs.FS, funcs template.FuncMap, site string) (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, "templates/layout.html", "templates/part-*.html")
	if err != nil {
		return nil, fmt.Errorf("%s templates: %w", site, err)
	}
	names, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || strings.HasPrefix(base, "part-") {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("%s template %s: %w", site, base, err)
		}
		out[strings.TrimSuffix(base, ".html")] = t
	}
	return out, nil
}

package htmlpages

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"templates/layout.html":    {Data: []byte(`<main>{{template "content" .}}</main>{{template "foot"}}`)},
		"templates/part-foot.html": {Data: []byte(`{{define "foot"}}<footer>f</footer>{{end}}`)},
		"templates/a.html":         {Data: []byte(`{{define "content"}}A {{shout .}}{{end}}`)},
		"templates/b.html":         {Data: []byte(`{{define "content"}}B{{end}}`)},
	}
	pages, err := Load(fsys, map[string]any{"shout": strings.ToUpper}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 {
		t.Fatalf("pages: %v, want a and b", pages)
	}
	for name, want := range map[string]string{"a": "<main>A HI</main><footer>f</footer>", "b": "<main>B</main><footer>f</footer>"} {
		var buf bytes.Buffer
		if err := pages[name].ExecuteTemplate(&buf, "layout.html", "hi"); err != nil || buf.String() != want {
			t.Errorf("%s: %q %v, want %q", name, buf.String(), err, want)
		}
	}
	fsys["templates/c.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{nope}}{{end}}`)}
	if _, err := Load(fsys, map[string]any{"shout": strings.ToUpper}, "test"); err == nil || !strings.Contains(err.Error(), "test template c.html") {
		t.Errorf("a broken page: %v, want an error naming it", err)
	}
}

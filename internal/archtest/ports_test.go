package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// portPackages are the packages whose interfaces are ports: the small
// interfaces through which the API, the portal, the push service and the
// jobs reach storage and services, and the domain core's own.
var portPackages = []string{
	"controller/api",
	"controller/portal",
	"controller/push",
	"controller/jobs",
	"controller/billing",
}

// maxPortMethods is the most methods a port may have.
const maxPortMethods = 12

// port is a named interface type declared in a non-test file.
type port struct {
	name  string // "controller/api.AccountStore"
	pos   token.Position
	iface *ast.InterfaceType
	pkg   string // its package's name, to resolve embedded names
}

// TestPortsAreSmallAndDocumented: every named interface of the port
// packages has at most maxPortMethods methods, counting those of the
// interfaces it embeds, and each method it declares has a doc comment
// (which states the method's error contract). An interface that only
// embeds other interfaces and declares no method of its own
// (api.BillingPorts, portal.Ports) is not a port: it names the one store
// that implements its parts, for wiring, and its parts are checked where
// they are declared.
func TestPortsAreSmallAndDocumented(t *testing.T) {
	root := moduleRoot(t)
	ports := map[string]*port{} // by "pkgname.TypeName"
	var order []string
	for _, dir := range portPackages {
		for _, p := range parsePorts(t, filepath.Join(root, dir), dir) {
			key := p.pkg + "." + p.name[strings.LastIndex(p.name, ".")+1:]
			ports[key] = p
			order = append(order, key)
		}
	}
	if len(order) == 0 {
		t.Fatal("found no interfaces in the port packages; is the list of packages right?")
	}
	sort.Strings(order)
	for _, key := range order {
		p := ports[key]
		own := 0
		for _, f := range p.iface.Methods.List {
			if len(f.Names) == 0 {
				continue
			}
			own += len(f.Names)
			if f.Doc == nil || strings.TrimSpace(f.Doc.Text()) == "" {
				for _, n := range f.Names {
					t.Errorf("%s (%s): method %s has no doc comment stating its error contract", p.name, p.pos, n.Name)
				}
			}
		}
		if own == 0 {
			continue // a bundle of ports for wiring, not a port
		}
		if n := countMethods(ports, p, map[string]bool{}); n > maxPortMethods {
			t.Errorf("%s (%s) has %d methods, more than %d: split it into ports of one concern each", p.name, p.pos, n, maxPortMethods)
		}
	}
}

// countMethods counts p's methods with those of the interfaces it embeds:
// a port of the port packages by its own count, any other (io.Reader, …)
// as one.
func countMethods(ports map[string]*port, p *port, seen map[string]bool) int {
	n := 0
	for _, f := range p.iface.Methods.List {
		if len(f.Names) > 0 {
			n += len(f.Names)
			continue
		}
		var key string
		switch e := f.Type.(type) {
		case *ast.Ident:
			key = p.pkg + "." + e.Name
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok {
				key = x.Name + "." + e.Sel.Name
			}
		}
		if q, ok := ports[key]; ok && !seen[key] {
			seen[key] = true
			n += countMethods(ports, q, seen)
		} else {
			n++
		}
	}
	return n
}

// parsePorts parses the non-test Go files of dir (relative path rel) and
// returns its named interface types.
func parsePorts(t *testing.T, dir, rel string) []*port {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading %s: %v", rel, err)
	}
	fset := token.NewFileSet()
	var out []*port
	files := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			t.Fatalf("parsing %s/%s: %v", rel, name, err)
		}
		files++
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				ts := s.(*ast.TypeSpec)
				it, ok := ts.Type.(*ast.InterfaceType)
				if !ok {
					continue
				}
				pos := fset.Position(ts.Pos())
				pos.Filename = filepath.Join(rel, name)
				out = append(out, &port{name: rel + "." + ts.Name.Name, pos: pos, iface: it, pkg: f.Name.Name})
			}
		}
	}
	if files == 0 {
		t.Fatalf("%s has no Go files", rel)
	}
	return out
}

// TestJobsPortsSayTheirErrors holds controller/jobs' ports to the stricter
// form: every method that returns an error says which in an "Errors: ..."
// sentence, and a port spells its methods out instead of embedding.
func TestJobsPortsSayTheirErrors(t *testing.T) {
	for _, pkg := range []string{"controller/jobs"} {
		dir := filepath.Join(moduleRoot(t), filepath.FromSlash(pkg))
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		ports := 0
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				spec, ok := n.(*ast.TypeSpec)
				if !ok {
					return true
				}
				iface, ok := spec.Type.(*ast.InterfaceType)
				if !ok {
					return false
				}
				ports++
				methods := 0
				for _, m := range iface.Methods.List {
					fn, ok := m.Type.(*ast.FuncType)
					if !ok {
						t.Errorf("%s.%s embeds %s; spell a port's methods out", pkg, spec.Name.Name, exprName(m.Type))
						continue
					}
					methods += len(m.Names)
					if returnsError(fn) && !strings.Contains(m.Doc.Text(), "Errors:") {
						t.Errorf("%s.%s.%s returns an error but its doc comment does not say which (\"Errors: ...\")",
							pkg, spec.Name.Name, m.Names[0].Name)
					}
				}
				if methods > maxPortMethods {
					t.Errorf("%s.%s has %d methods; a port has at most %d (split it by concern)", pkg, spec.Name.Name, methods, maxPortMethods)
				}
				return false
			})
		}
		if ports == 0 {
			t.Errorf("%s declares no interface; expected its ports", pkg)
		}
	}
}

// returnsError reports whether fn's last result is error.
func returnsError(fn *ast.FuncType) bool {
	if fn.Results == nil || len(fn.Results.List) == 0 {
		return false
	}
	id, ok := fn.Results.List[len(fn.Results.List)-1].Type.(*ast.Ident)
	return ok && id.Name == "error"
}

// exprName renders an embedded interface's name for a message.
func exprName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprName(e.X) + "." + e.Sel.Name
	}
	return "a type"
}

package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// portPackages are the packages whose interfaces are ports onto the store
// and the services the controller wires in: each interface has at most
// maxPortMethods methods, and every method that returns an error says in
// its doc comment which errors ("Errors: ...").
var portPackages = []string{"controller/jobs"}

const maxPortMethods = 12

// TestPortsAreSmallAndSayTheirErrors checks the interfaces declared in
// portPackages' non-test files.
func TestPortsAreSmallAndSayTheirErrors(t *testing.T) {
	for _, pkg := range portPackages {
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

package radius

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNeitherAgentNorBbolt: the protocol package stays below the
// agent. Its dependencies (those of the package, not of its tests), as
// `go list -deps` reports them, include no agent, controller or bbolt
// package: the agent's state file reaches the session table only through
// [SessionStore].
func TestImportsNeitherAgentNorBbolt(t *testing.T) {
	// go test puts its own GOROOT/bin first in the test's PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to list this package's dependencies: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps (with %s): %v\n%s", goTool, err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != "github.com/tollgate-isp/tollgate/radius" {
		t.Fatalf("go list -deps did not list this package last:\n%s", out)
	}
	for _, dep := range deps {
		if forbiddenDependency(dep) {
			t.Errorf("radius depends on %s: the protocol package must import neither the agent, the controller nor bbolt (persist through SessionStore instead)", dep)
		}
	}
}

// forbiddenDependency says whether an import path is one the protocol
// package must not depend on.
func forbiddenDependency(path string) bool {
	for _, prefix := range []string{
		"github.com/tollgate-isp/tollgate/agent",
		"github.com/tollgate-isp/tollgate/controller",
		"go.etcd.io/bbolt",
	} {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return true
		}
	}
	return false
}

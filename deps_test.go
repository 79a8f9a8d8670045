package chatter_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/chatter-go/chatter"

// TestDependencyRule checks the architecture with go list -deps: core and
// transport (what the transports share) use the standard library only, and
// the adapters import core and transport but not each other (codec may
// import crypto: it owns the frame and seals it).
func TestDependencyRule(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	adapters := []string{"codec", "crypto", "peerstore", "router", "transport/memnet", "transport/tcp", "transport/udpmcast"}
	for _, pkg := range append([]string{"core", "transport"}, adapters...) {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", module+"/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			own, ok := strings.CutPrefix(dep, module+"/")
			switch {
			case dep == module+"/"+pkg:
			case pkg == "core" || pkg == "transport":
				t.Errorf("%s reaches %s: it must use the standard library only", pkg, dep)
			case !ok:
				// a third-party dependency of an adapter (lz4, x/net)
			case own == "core" || own == "transport":
			case pkg == "codec" && own == "crypto":
			case slices.Contains(adapters, own) || own == "chatter" || strings.HasPrefix(own, "internal") || strings.HasPrefix(own, "cmd"):
				t.Errorf("%s imports %s: adapters import core, not each other", pkg, own)
			}
		}
	}
}

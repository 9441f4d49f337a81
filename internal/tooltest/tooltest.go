// Package tooltest finds, and builds when missing, the real tools that tests run: the cosign
// CLI, the distribution registry, controller-gen, Helm, actionlint, kube-apiserver and etcd.
// They come from the Go module proxy through the tools modules in test/tools and are cached in
// bin/, so a plain `go test ./...` works on a fresh machine, only slower the first time. `go
// test -short ./...` skips every test that needs one: the fast tier needs no tool and no
// control plane.
package tooltest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// tools maps each binary to its tools module and package, and its place under bin/.
var tools = map[string]struct{ module, pkg, out string }{
	"cosign":         {"test/tools/cli", "github.com/sigstore/cosign/v3/cmd/cosign", "cosign"},
	"registry":       {"test/tools/cli", "github.com/distribution/distribution/v3/cmd/registry", "registry"},
	"controller-gen": {"test/tools/cli", "sigs.k8s.io/controller-tools/cmd/controller-gen", "controller-gen"},
	"helm":           {"test/tools/cli", "helm.sh/helm/v3/cmd/helm", "helm"},
	"actionlint":     {"test/tools/cli", "github.com/rhysd/actionlint/cmd/actionlint", "actionlint"},
	"kube-apiserver": {"test/tools/k8s", "k8s.io/kubernetes/cmd/kube-apiserver", "k8s/kube-apiserver"},
	"etcd":           {"test/tools/k8s", "go.etcd.io/etcd/server/v3", "k8s/etcd"},
	"kubectl":        {"test/tools/k8s", "k8s.io/kubernetes/cmd/kubectl", "k8s/kubectl"},
}

const k8sLDFlags = "-X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"

var mu sync.Mutex

// Root returns the repository root: the nearest directory above the working directory that
// has test/tools.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "test", "tools")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find the repository root (a directory with test/tools) above the working directory")
		}
		dir = parent
	}
}

// Binary returns the path of tool name under bin/, building it first if it is not there.
// Under -short (the fast tier) it skips the test instead: that tier builds no tool and starts
// no control plane, and `make test` runs every test without -short.
func Binary(t testing.TB, name string) string {
	t.Helper()
	tool, ok := tools[name]
	if !ok {
		t.Fatalf("unknown tool %q", name)
	}
	if testing.Short() {
		t.Skipf("needs %s (a real tool from the Go module proxy); the fast tier (-short) runs without tools, make test runs it", name)
	}
	root := Root(t)
	out := filepath.Join(root, "bin", tool.out)
	mu.Lock()
	defer mu.Unlock()
	if _, err := os.Stat(out); err == nil {
		return out
	}
	t.Logf("building %s into %s (first run only; `make tools k8s` does this ahead)", name, out)
	args := []string{"build", "-o", out}
	if tool.module == "test/tools/k8s" && name != "etcd" {
		args = append(args, "-ldflags", k8sLDFlags)
	}
	cmd := exec.Command("go", append(args, tool.pkg)...)
	cmd.Dir = filepath.Join(root, tool.module)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, b)
	}
	return out
}

// Assets returns the directory holding kube-apiserver and etcd for envtest, building them if
// needed.
func Assets(t testing.TB) string {
	t.Helper()
	Binary(t, "etcd")
	return filepath.Dir(Binary(t, "kube-apiserver"))
}

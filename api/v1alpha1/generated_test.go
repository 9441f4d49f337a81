package v1alpha1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/tooltest"
)

// TestGeneratedUpToDate fails when the committed deepcopy code or CRD YAML differ from what
// controller-gen makes of the types now. Run `make generate` to update them.
func TestGeneratedUpToDate(t *testing.T) {
	root := tooltest.Root(t)
	gen := tooltest.Binary(t, "controller-gen")

	cmd := exec.Command(gen, "object:headerFile=hack/boilerplate.go.txt", "paths=./api/...", "output:object:stdout")
	cmd.Dir = root
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("controller-gen object: %v", err)
	}
	want, err := os.ReadFile(filepath.Join(root, "api/v1alpha1/zz_generated.deepcopy.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("api/v1alpha1/zz_generated.deepcopy.go is stale: run make generate")
	}

	dir := t.TempDir()
	cmd = exec.Command(gen, "crd:crdVersions=v1", "paths=./api/...", "output:crd:dir="+dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen crd: %v\n%s", err, out)
	}
	fresh, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	committed, _ := filepath.Glob(filepath.Join(root, "charts/portcullis/crds/portcullis.dev_*.yaml"))
	if len(fresh) != len(committed) || len(fresh) == 0 {
		t.Fatalf("controller-gen makes %d CRDs, %d are committed: run make generate", len(fresh), len(committed))
	}
	for _, f := range fresh {
		want, err := os.ReadFile(filepath.Join(root, "charts/portcullis/crds", filepath.Base(f)))
		got, _ := os.ReadFile(f)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("charts/portcullis/crds/%s is stale: run make generate", filepath.Base(f))
		}
	}
}

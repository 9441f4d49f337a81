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
	for _, c := range []struct{ pkg, crds string }{
		{"api/v1alpha1", "charts/portcullis/crds"},
		{"api/reports/v1alpha2", "charts/portcullis/report-crds"},
	} {
		cmd := exec.Command(gen, "object:headerFile=hack/boilerplate.go.txt", "paths=./"+c.pkg+"/...", "output:object:stdout")
		cmd.Dir = root
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("controller-gen object %s: %v", c.pkg, err)
		}
		want, err := os.ReadFile(filepath.Join(root, c.pkg, "zz_generated.deepcopy.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s/zz_generated.deepcopy.go is stale: run make generate", c.pkg)
		}

		dir := t.TempDir()
		cmd = exec.Command(gen, "crd:crdVersions=v1", "paths=./"+c.pkg+"/...", "output:crd:dir="+dir)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("controller-gen crd %s: %v\n%s", c.pkg, err, out)
		}
		fresh, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		committed, _ := filepath.Glob(filepath.Join(root, c.crds, "*.yaml"))
		if len(fresh) != len(committed) || len(fresh) == 0 {
			t.Fatalf("controller-gen makes %d CRDs of %s, %d are committed in %s: run make generate", len(fresh), c.pkg, len(committed), c.crds)
		}
		for _, f := range fresh {
			want, err := os.ReadFile(filepath.Join(root, c.crds, filepath.Base(f)))
			got, _ := os.ReadFile(f)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s/%s is stale: run make generate", c.crds, filepath.Base(f))
			}
		}
	}
}

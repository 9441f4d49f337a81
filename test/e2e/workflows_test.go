package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/tooltest"
)

// TestWorkflowsLint checks .github/workflows with actionlint: expressions, contexts, permissions,
// action inputs and pinned references. Shellcheck and pyflakes are off (they are not built
// here), so the result does not depend on what the machine has installed.
func TestWorkflowsLint(t *testing.T) {
	bin := tooltest.Binary(t, "actionlint")
	root := tooltest.Root(t)
	files, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflow under .github/workflows (%v): the release workflow should be there", err)
	}
	cmd := exec.Command(bin, append([]string{"-shellcheck=", "-pyflakes="}, files...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}

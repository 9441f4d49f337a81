package preflight

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/policy"
)

// TestREADMEPolicies compiles every complete policy example in the README, so what users copy
// works. Examples with placeholders ("...") are skipped by design.
func TestREADMEPolicies(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	compiled := 0
	for i, b := range blocks {
		if !strings.Contains(b[1], "kind: ClusterImagePolicy") || strings.Contains(b[1], "...") {
			continue
		}
		p := filepath.Join(t.TempDir(), "policy.yaml")
		if err := os.WriteFile(p, []byte(b[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := readPolicies([]string{p}, "default")
		if err != nil {
			t.Fatalf("README example %d: %v", i, err)
		}
		for _, c := range policy.Compile(src).Policies() {
			if c.Err != nil {
				t.Errorf("README example %d, policy %s: %v", i, c.Name, c.Err)
			}
			compiled++
		}
	}
	if compiled == 0 {
		t.Fatal("no complete policy example found in README.md")
	}
}

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/internal/tooltest"
)

// TestVerifyRekorV2Offline: the portcullis binary, `verify --image` with no --trust-root,
// verifies a production Rekor v2 + TSA bundle (log2025-1, timestamp.sigstore.dev; the DSSE
// provenance of test/testdata/sigstore/public-good-2026, served with its artifact as the image)
// against the embedded public-good root, with every proxy variable pointing at a closed port:
// Go never proxies loopback, so the registry answers and any other connection would fail.
func TestVerifyRekorV2Offline(t *testing.T) {
	bin := portcullis(t)
	dir := filepath.Join(tooltest.Root(t), "test", "testdata", "sigstore", "public-good-2026")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	reg := sigtest.NewRegistry(t, true)
	d := sigtest.PushArtifact(t, reg, "provenance/app:1", read("rekor-v2-dsse-provenance.artifact"), read("rekor-v2-dsse-provenance.sigstore.json"))
	policy := filepath.Join(tooltest.Root(t), "test", "testdata", "policies", "rekor-v2-provenance.yaml")
	offline := append(os.Environ(), "HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1", "ALL_PROXY=http://127.0.0.1:1", "NO_PROXY=")
	cmd := exec.Command(bin, "verify", "--policy", policy, "--image", d.String())
	cmd.Env = offline
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ALLOW") || !strings.Contains(string(out), "1 allowed, 0 denied") {
		t.Fatalf("portcullis verify --image %s: %v\n%s", d, err, out)
	}
	// The 2023 root has neither log2025-1 nor the TSA: the same bundle is denied.
	cmd = exec.Command(bin, "verify", "--policy", policy, "--image", d.String(), "--trust-root",
		filepath.Join(tooltest.Root(t), "test", "testdata", "sigstore", "cosign", "pkg", "cosign", "testdata", "trusted_root_pgi.json"))
	cmd.Env = offline
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "no transparency log entry verified by a log the trust root names") {
		t.Fatalf("--trust-root (2023): %v\n%s", err, out)
	}
}

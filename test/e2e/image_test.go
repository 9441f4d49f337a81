package e2e

import (
	"context"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/portcullis-dev/portcullis/internal/image"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/internal/tooltest"
)

// TestImage builds Portcullis's image for this machine's architecture with the code `make
// image` runs, pushes it to a registry on loopback, and signs it with the real cosign CLI. A
// test key stands in for the release workflow's keyless identity in the README's policy for
// Portcullis's own image: the binary taken out of the image must admit the signed image through
// `portcullis verify` and deny an unsigned one. It reads the image's config and files as a
// runtime would see them, with no runtime: a numeric non-root user, an executable entrypoint,
// that user in /etc/passwd, a CA bundle, and a binary that runs.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	mustCosign(t, dir, "generate-key-pair", "--output-key-prefix", "release") // skips under -short
	mustCosign(t, dir, "signing-config", "create", "--out", "sc.json")
	reg := sigtest.NewRegistry(t, true)
	repo := reg.Host + "/portcullis-dev/portcullis"
	const version = "v0.0.0-imagetest"

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	idx, err := image.Build(ctx, image.Options{Root: tooltest.Root(t), Version: version, Revision: "0123abcd",
		Platforms: []v1.Platform{{OS: "linux", Architecture: runtime.GOARCH}}, Created: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built the linux/%s image in %s", runtime.GOARCH, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	defer func() {
		t.Logf("pushed, signed, read and verified it in %s", time.Since(start).Round(time.Millisecond))
	}()
	signed, err := image.Push(ctx, repo+":"+version, idx)
	if err != nil {
		t.Fatal(err)
	}
	other := mutate.Annotations(idx, map[string]string{"org.opencontainers.image.version": "v0.0.0-unsigned"}).(v1.ImageIndex)
	unsigned, err := image.Push(ctx, repo+":unsigned", other)
	if err != nil {
		t.Fatal(err)
	}
	mustCosign(t, dir, "sign", "--key", "release.key", "--signing-config", "sc.json", "--yes", signed.String())

	files := imageFiles(t, signed)
	bin := files.write(t, image.Entrypoint, dir)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), version+"\n") {
		t.Fatalf("%s version: %v, want %s first\n%s", image.Entrypoint, err, version, out)
	}

	// The README's policy for Portcullis's own image, with release.pub for the keyless identity.
	pol := policyFile(t, dir, repo, "")
	for _, c := range []struct {
		ref  string
		code int
		says string
	}{
		{signed.String(), 0, ""},
		{unsigned.String(), 1, "no signature verified by key release (no signatures found)"},
	} {
		out, code := exitCode(t, exec.Command(bin, "verify", "--policy", pol, "--image", c.ref))
		if code != c.code || !strings.Contains(string(out), c.says) {
			t.Errorf("portcullis verify --image %s: exit %d, want %d saying %q\n%s", c.ref, code, c.code, c.says, out)
		}
	}
}

package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Entrypoint is where the binary is in the image, and the image's entrypoint.
const Entrypoint = "/usr/bin/portcullis"

// buildBinary compiles ./cmd/portcullis in the module at root for one platform with `make
// build`, the release build, so its flags (static, -trimpath, -s -w, grpcnotrace) live in one
// place; version is what `portcullis version` prints.
func buildBinary(ctx context.Context, root string, p v1.Platform, version string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "portcullis-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "portcullis")
	cmd := exec.CommandContext(ctx, "make", "-s", "build", "BIN="+dir, "VERSION="+version)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+p.OS, "GOARCH="+p.Architecture)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building portcullis for %s: %w\n%s", p.String(), err, stderr.Bytes())
	}
	return os.ReadFile(out)
}

// binaryLayer is the layer holding the binary at Entrypoint, executable by everyone.
func binaryLayer(bin []byte, created time.Time) (v1.Layer, error) {
	es := append(dirs("usr/", "usr/bin/"), entry{path: Entrypoint[1:], mode: 0o755, body: bin})
	return newLayer(es, created)
}

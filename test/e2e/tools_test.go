package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/portcullis-dev/portcullis/internal/tooltest"
)

// portcullis builds the command into a temporary directory as it ships: make build, the release
// build.
func portcullis(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "portcullis")
	cmd := exec.Command("make", "-s", "build", "BIN="+dir)
	cmd.Dir = tooltest.Root(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building portcullis: %v\n%s", err, b)
	}
	return out
}

// distribution starts the distribution registry (no referrers API) on a free loopback port and
// returns its host:port. It stops when the test ends. Tests in other packages pick free ports at
// the same time, so a port can be taken between choosing and binding it: readiness is the
// registry's own answer, and a registry that could not bind is started again on another port.
func distribution(t *testing.T) string {
	t.Helper()
	bin := tooltest.Binary(t, "registry")
	var logs bytes.Buffer
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		dir := t.TempDir()
		cfg := filepath.Join(dir, "config.yml")
		os.WriteFile(cfg, []byte(fmt.Sprintf("version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: %s}\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)), 0o644)
		cmd := exec.Command(bin, "serve", cfg)
		logs.Reset()
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() { cmd.Process.Kill(); <-exited })
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			select {
			case <-exited:
				deadline = time.Time{} // it could not serve there: try another port
				continue
			default:
			}
			if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
				resp.Body.Close()
				if resp.Header.Get("Docker-Distribution-Api-Version") == "registry/2.0" {
					return addr
				}
			}
		}
	}
	t.Fatalf("distribution registry did not start:\n%s", logs.String())
	return ""
}

// cosign runs the real cosign CLI in dir, with an empty key password.
func cosign(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tooltest.Binary(t, "cosign"), args...)
	cmd.Dir, cmd.Env = dir, cosignEnv(dir)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// cosignEnv keeps cosign's keys, home and TUF cache in dir, with an empty key password.
func cosignEnv(dir string) []string {
	return append(os.Environ(), "COSIGN_PASSWORD=", "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, ".sigstore"))
}

func mustCosign(t testing.TB, dir string, args ...string) {
	t.Helper()
	if out, err := cosign(t, dir, args...); err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// pushRandom writes a random image to host/repo:1 and returns it by digest.
func pushRandom(t testing.TB, host, repo string) string {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host + "/" + repo + ":1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	h, _ := img.Digest()
	return ref.Context().Digest(h.String()).String()
}

// exitCode runs cmd and returns its output and exit code.
func exitCode(t *testing.T, cmd *exec.Cmd) ([]byte, int) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return out, ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out, 0
}

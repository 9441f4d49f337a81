// Command demo shows Portcullis at work on real parts: an in-process OCI registry, images signed
// with the real cosign CLI, and the portcullis binary judging them. `make demo` runs it; it
// leaves nothing running.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type demo struct {
	bin, dir, host string
}

func run() error {
	bin := os.Getenv("PORTCULLIS_BIN")
	if bin == "" {
		bin = "bin"
	}
	dir, err := os.MkdirTemp("", "portcullis-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(l)
	defer srv.Close()
	d := &demo{bin: bin, dir: dir, host: l.Addr().String()}
	return d.script()
}

func (d *demo) script() error {
	step("A registry on %s, and a signing key made with the real cosign CLI", d.host)
	if err := d.cosign("generate-key-pair", "--output-key-prefix", "release"); err != nil {
		return err
	}
	if err := d.cosign("signing-config", "create", "--out", "sc.json"); err != nil {
		return err
	}
	app, err := d.push("team/app:1.0")
	if err != nil {
		return err
	}
	tools, err := d.push("team/tools:latest")
	if err != nil {
		return err
	}
	fmt.Printf("pushed %s and %s\n", app, tools)
	if err := d.cosign("sign", "--key", "release.key", "--signing-config", "sc.json", "--yes", app); err != nil {
		return err
	}
	fmt.Printf("signed %s (Sigstore bundle, attached as an OCI referrer); %s stays unsigned\n", app, tools)

	policy := d.write("policy.yaml", `apiVersion: portcullis.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: team-signed}
spec:
  images: [{glob: "`+d.host+`/team/**"}]
  authorities:
  - name: release-key
    key:
      data: |
`+indent(d.read("release.pub"), "        "))
	fmt.Println("\n" + d.read("policy.yaml"))

	step("A signed image is admitted")
	d.portcullis("verify", "--policy", policy, "--image", d.host+"/team/app:1.0")

	step("An unsigned image is denied, with its reason")
	d.portcullis("verify", "--policy", policy, "--image", d.host+"/team/tools:latest")

	step("A Deployment, checked in CI before it is applied")
	manifest := d.write("deploy.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team}
spec:
  template:
    spec:
      initContainers:
      - name: setup
        image: `+d.host+`/team/tools:latest
      containers:
      - name: api
        image: `+d.host+`/team/app:1.0
`)
	d.portcullis("verify", "--policy", policy, "-f", manifest)

	step("The same Deployment pinned to digests for GitOps (--pin)")
	d.portcullis("verify", "--policy", policy, "-f", manifest, "--pin")
	fmt.Println(d.read("deploy.yaml"))
	return nil
}

func step(format string, args ...any) {
	fmt.Printf("\n\033[1m== %s\033[0m\n", fmt.Sprintf(format, args...))
}

// portcullis runs the binary and shows the command, its output and its exit code.
func (d *demo) portcullis(args ...string) {
	fmt.Printf("$ portcullis %s\n", strings.ReplaceAll(strings.Join(args, " "), d.dir+"/", ""))
	cmd := exec.Command(filepath.Join(d.bin, "portcullis"), args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	fmt.Printf("(exit %d)\n", code)
}

func (d *demo) cosign(args ...string) error {
	cmd := exec.Command(filepath.Join(d.bin, "cosign"), args...)
	cmd.Dir = d.dir
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=", "HOME="+d.dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cosign %s: %v\n%s", args[0], err, out)
	}
	return nil
}

// push pushes a random image and returns it as repo@digest.
func (d *demo) push(repoTag string) (string, error) {
	img, err := random.Image(1024, 2)
	if err != nil {
		return "", err
	}
	ref, err := name.ParseReference(d.host + "/" + repoTag)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img); err != nil {
		return "", err
	}
	h, err := img.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Digest(h.String()).String(), nil
}

func (d *demo) write(file, text string) string {
	p := filepath.Join(d.dir, file)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		panic(err)
	}
	return p
}

func (d *demo) read(file string) string {
	b, err := os.ReadFile(filepath.Join(d.dir, file))
	if err != nil {
		panic(err)
	}
	return string(b)
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + l)
	}
	return b.String() + "\n"
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/portcullis-dev/portcullis/internal/envtesting"
)

// demo holds what the script drives: the binaries, a scratch directory, the registry and the
// cluster's kubeconfig. Its commands are not run, or are killed, once ctx is cancelled (the demo
// was interrupted).
type demo struct {
	ctx                        context.Context
	bin, dir, host, kubeconfig string
}

// startWebhook runs `portcullis webhook` out of cluster and waits until it is ready and
// registered; the returned function stops it, and it unregisters itself.
func (d *demo) startWebhook() (func(), error) {
	d.step("The webhook, out of cluster")
	p, err := envtesting.StartProcess(d.bin, d.kubeconfig, "--metrics-bind-address", "0",
		"--no-match", "warn", "--audit-interval", "3s", "--log-level", "error")
	if err != nil {
		return nil, err
	}
	fmt.Printf("$ portcullis %s\n", strings.Join(p.Args, " "))
	fmt.Println("ready, and registered as the Mutating and Validating webhook configurations \"portcullis\"")
	return p.Stop, nil
}

// kubectl runs kubectl, showing the command and everything it prints, warnings and errors too.
func (d *demo) kubectl(args ...string) {
	if d.ctx.Err() != nil {
		return
	}
	fmt.Printf("$ kubectl %s\n", d.rel(strings.Join(args, " ")))
	cmd := exec.CommandContext(d.ctx, filepath.Join(d.bin, "k8s", "kubectl"), append([]string{"--kubeconfig", d.kubeconfig}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && d.ctx.Err() == nil {
			fmt.Printf("(exit %d)\n", ee.ExitCode())
		}
	}
}

// portcullis runs the binary and shows the command, its output and its exit code.
func (d *demo) portcullis(args ...string) {
	if d.ctx.Err() != nil {
		return
	}
	fmt.Printf("$ portcullis %s\n", d.rel(strings.Join(args, " ")))
	cmd := exec.CommandContext(d.ctx, filepath.Join(d.bin, "portcullis"), args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	code := 0
	var ee *exec.ExitError
	if err := cmd.Run(); errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	if d.ctx.Err() == nil {
		fmt.Printf("(exit %d)\n", code)
	}
}

// push pushes a random image as host/repoTag and returns it as repo@digest.
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

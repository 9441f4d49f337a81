// Command demo shows Portcullis at work on real parts: a local control plane (the real
// kube-apiserver and etcd), an in-process OCI registry, images signed through the cosign
// library (the demo shows the cosign commands that do the same), the portcullis webhook
// registered out of cluster, and kubectl. `make demo` builds and runs it; it leaves nothing
// running, interrupted or not.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/portcullis-dev/portcullis/internal/envtesting"
)

func main() {
	err := run()
	if errors.Is(err, context.Canceled) {
		os.Exit(130) // interrupted: the signal handler said so and stopped everything
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	bin, _ := filepath.Abs(envOr("PORTCULLIS_BIN", "bin"))
	dir, err := os.MkdirTemp("", "portcullis-demo-")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &stopper{}
	s.add(func() { os.RemoveAll(dir) })
	defer s.stop()
	s.onSignal(cancel)
	d := &demo{ctx: ctx, bin: bin, dir: dir}

	d.step("A local control plane: the real kube-apiserver and etcd, built from the Go module proxy")
	if err := s.start(d.startControlPlane); err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(l)
	s.add(func() { srv.Close() })
	d.host = l.Addr().String()

	if err := s.start(d.startWebhook); err != nil {
		return err
	}
	if err := d.script(); err != nil {
		return err
	}
	return ctx.Err()
}

// startControlPlane starts kube-apiserver and etcd from bin/k8s with Portcullis's CRDs and the
// PolicyReport CRDs.
func (d *demo) startControlPlane() (func(), error) {
	cfg, kubeconfig, stop, err := envtesting.LocalControlPlane(d.bin, d.dir, "charts/portcullis/crds", "charts/portcullis/report-crds")
	if err != nil {
		return nil, err
	}
	d.kubeconfig = kubeconfig
	fmt.Println("kube-apiserver at", cfg.Host)
	return stop, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// step shows the title of a step, unless the demo was interrupted.
func (d *demo) step(format string, args ...any) {
	if d.ctx.Err() != nil {
		return
	}
	fmt.Printf("\n\033[1m== %s\033[0m\n", fmt.Sprintf(format, args...))
}

func (d *demo) rel(s string) string { return strings.ReplaceAll(s, d.dir+"/", "") }

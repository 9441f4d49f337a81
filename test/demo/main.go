// Command demo shows Portcullis at work on real parts: a local control plane (the real
// kube-apiserver and etcd), an in-process OCI registry, images signed through the cosign
// library (the demo shows the cosign commands that do the same), the portcullis webhook
// registered out of cluster, and kubectl. `make demo` runs it; it leaves nothing running.
package main

import (
	"context"
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
	if err := run(); err != nil {
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
	defer os.RemoveAll(dir)

	step("A local control plane: the real kube-apiserver and etcd, built from the Go module proxy")
	cfg, kubeconfig, stopCluster, err := envtesting.LocalControlPlane(bin, dir, "charts/portcullis/crds", "charts/portcullis/report-crds")
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer stopCluster()
	d := &demo{bin: bin, dir: dir, kubeconfig: kubeconfig}
	fmt.Println("kube-apiserver at", cfg.Host)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(l)
	defer srv.Close()
	d.host = l.Addr().String()

	stopWebhook, err := d.startWebhook()
	if err != nil {
		return err
	}
	defer stopWebhook()
	return d.script(context.Background())
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func step(format string, args ...any) {
	fmt.Printf("\n\033[1m== %s\033[0m\n", fmt.Sprintf(format, args...))
}

func (d *demo) rel(s string) string { return strings.ReplaceAll(s, d.dir+"/", "") }

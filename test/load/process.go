package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
)

// processMemory measures what docs/design.md's memory target is about: the RSS of the real
// `portcullis webhook` process, run out of cluster against a local control plane (the real
// kube-apiserver and etcd from bin/k8s), after it has cached c.verdicts verdicts. Nothing else
// shares its address space: the registry and this client are other processes.
func processMemory(c config) error {
	reg, err := childRegistry()
	if err != nil {
		return err
	}
	defer reg.close()
	key, err := sigtest.GenerateKey()
	if err != nil {
		return err
	}
	refs, err := reg.pushSigned(key, "team", c.verdicts)
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "portcullis-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, kubeconfig, stopCluster, err := envtesting.LocalControlPlane(strings.Split(c.bin, ",")[0], dir, "charts/portcullis/crds")
	if err != nil {
		return fmt.Errorf("starting the control plane (make k8s builds it): %w", err)
	}
	defer stopCluster()
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx := context.Background()
	p := releasePolicy(reg.host, "team", key)
	p.UID, p.Generation = "", 0
	if err := cl.Create(ctx, p); err != nil {
		return err
	}

	for _, bin := range strings.Split(c.bin, ",") {
		if err := measureProcess(c, bin, kubeconfig, refs); err != nil {
			return err
		}
	}
	return nil
}

// measureProcess starts bin/portcullis as a webhook, then reports its RSS: ready, after
// c.duration of warm load on one c.images-image pod from c.concurrency clients, and with every
// image of refs judged and cached.
func measureProcess(c config, bin, kubeconfig string, refs []string) error {
	proc, err := envtesting.StartProcess(bin, kubeconfig, "--no-match", "deny", "--log-level", "error",
		"--metrics-bind-address", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer proc.Stop()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(proc.CA)
	ws := &webhookServer{url: proc.URL + "/mutate", timer: &recorder{},
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: c.concurrency}}}
	pid := proc.Pid
	fmt.Printf("memory of the %s/portcullis webhook process (out of cluster, default flags, GOGC and GOMEMLIMIT unset, a local control plane):\n", bin)
	fmt.Printf("  ready, before any admission:  %s\n", residentSet(pid))
	pod := podReview(refs[:c.images])
	if err := ws.post(pod); err != nil { // judged once, then warm
		return err
	}
	lat, n, err := hammer(ws, pod, c.concurrency, c.duration)
	if err != nil {
		return err
	}
	_, _, p99, _ := lat.percentiles()
	fmt.Printf("  after %s of warm load, %d-image pod, %d clients (%.0f AdmissionReviews/s, client p99 %s):  %s\n",
		c.duration, c.images, c.concurrency, float64(n)/c.duration.Seconds(), p99, residentSet(pid))
	for i := 0; i < len(refs); i += 5 {
		if err := ws.post(podReview(refs[i:min(i+5, len(refs))])); err != nil {
			return err
		}
	}
	fmt.Printf("  after %d admitted images:  %s\n", len(refs), residentSet(pid))
	// The process cannot be told to collect: wait for the cache sweeper (10 s), then for the Go
	// runtime's forced collection (every 2 minutes when nothing allocates) and its scavenger.
	start := time.Now()
	for _, wait := range []time.Duration{c.settle, 150 * time.Second} {
		time.Sleep(time.Until(start.Add(wait)))
		fmt.Printf("  %s later, %d verdicts cached:  %s\n", wait, len(refs), residentSet(pid))
	}
	fmt.Println()
	return nil
}

// Command load measures the admission path as the API server drives it: real AdmissionReviews
// posted over HTTPS on loopback to Portcullis's webhook handler, backed by a real registry that
// counts the requests it serves. `make bench` runs it.
//
// It prints, for a pod of -images images:
//   - warm throughput and client-side p50/p95/p99 (every verdict cached), and the handler's own
//     p50/p95/p99;
//   - registry requests per admission, cold (empty caches) and warm;
//   - the cold admission time of 10 images against 1, with -latency added to every registry
//     request;
//   - with -memory, what -verdicts cached verdicts cost: the caches' heap in this process, and the
//     RSS of the real `portcullis webhook` process run against a local control plane.
package main

import (
	"flag"

	"fmt"
	"github.com/go-logr/logr"
	"os"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"time"
)

type config struct {
	images      int
	duration    time.Duration
	concurrency int
	latency     time.Duration
	memory      bool
	verdicts    int
	heapProfile string
	settle      time.Duration
	bin         string
	soak        time.Duration
}

func main() {
	var c config
	flag.IntVar(&c.images, "images", 5, "images in the admitted pod")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "how long to run the warm load")
	flag.IntVar(&c.concurrency, "concurrency", 16, "concurrent clients")
	flag.DurationVar(&c.latency, "latency", 50*time.Millisecond, "latency added to each registry request in the cold comparison")
	flag.BoolVar(&c.memory, "memory", false, "also measure RSS with -verdicts cached verdicts")
	flag.IntVar(&c.verdicts, "verdicts", 10000, "cached verdicts for -memory")
	flag.DurationVar(&c.settle, "settle", 35*time.Second, "with -memory, wait this long for the signature (15 s) and tag (30 s) caches to expire")
	flag.StringVar(&c.bin, "bin", "bin", "with -memory, where portcullis and k8s/ (kube-apiserver, etcd) were built by make build k8s; several directories, comma-separated, measure each portcullis in turn (the control plane is the first's)")
	flag.StringVar(&c.heapProfile, "heapprofile", "", "with -memory, write a heap profile here")
	flag.DurationVar(&c.soak, "soak", 0, "hold the warm load this long with a mix of allowed, denied, warned and uncovered images, checking every verdict (make soak), and do nothing else")
	serve := flag.String("serve-registry", "", "internal: serve a registry on this address (the -memory child process)")
	flag.Parse()
	if *serve != "" {
		if err := serveRegistry(*serve); err != nil {
			fmt.Fprintln(os.Stderr, "load registry:", err)
			os.Exit(1)
		}
		return
	}
	ctrllog.SetLogger(logr.Discard()) // controller-runtime's admission server logs through it
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.soak > 0 {
		return soak(c)
	}
	fmt.Printf("go test -bench style figures from test/load; %d-image pod, %d clients, GOMAXPROCS from the machine\n\n", c.images, c.concurrency)
	if err := warm(c); err != nil {
		return err
	}
	if err := coldRequests(c); err != nil {
		return err
	}
	if err := coldParallel(c); err != nil {
		return err
	}
	if c.memory {
		if err := memory(c); err != nil {
			return err
		}
		return processMemory(c)
	}
	return nil
}

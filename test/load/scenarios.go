package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
)

// setup starts a registry with n signed images, an engine and the webhook.
func setup(n int) (*registryServer, []string, *webhookServer, func(), error) {
	reg, err := newRegistry()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return setupOn(reg, n)
}

// setupOn pushes n signed images to reg and starts an engine and the webhook.
func setupOn(reg *registryServer, n int) (*registryServer, []string, *webhookServer, func(), error) {
	key, err := sigtest.GenerateKey()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	refs, err := reg.pushSigned(key, "team", n)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	e, err := newEngine(reg.host, "team", key)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ws, err := serveWebhook(e)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return reg, refs, ws, func() { ws.close(); reg.close() }, nil
}

// warm posts the same pod once every verdict is cached: from many clients for throughput, then
// from one client for the handler's own latency without contention for the two cores.
func warm(c config) error {
	reg, refs, ws, stop, err := setup(c.images)
	if err != nil {
		return err
	}
	defer stop()
	body := podReview(refs)
	if err := ws.post(body); err != nil { // fill the caches
		return err
	}
	before := reg.requests.Load()
	for _, clients := range []int{c.concurrency, 1} {
		ws.timer.reset()
		client, n, err := hammer(ws, body, clients, c.duration)
		if err != nil {
			return err
		}
		p50, p95, p99, _ := client.percentiles()
		h50, h95, h99, _ := ws.timer.percentiles()
		fmt.Printf("warm admission, %d-image pod, HTTPS on loopback, %d client(s), %s:\n", c.images, clients, c.duration)
		fmt.Printf("  throughput        %.0f AdmissionReviews/s (%d reviews)\n", float64(n)/c.duration.Seconds(), n)
		fmt.Printf("  client latency    p50 %s  p95 %s  p99 %s\n", p50, p95, p99)
		fmt.Printf("  handler time      p50 %s  p95 %s  p99 %s\n", h50, h95, h99)
	}
	fmt.Printf("  registry requests %d during both runs (0 expected)\n\n", reg.requests.Load()-before)
	return nil
}

// hammer posts body from clients goroutines for d and returns their latencies and count.
func hammer(ws *webhookServer, body []byte, clients int, d time.Duration) (*recorder, int64, error) {
	lat := &recorder{}
	var done atomic.Int64
	var failed atomic.Value
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				start := time.Now()
				if err := ws.post(body); err != nil {
					failed.Store(err)
					return
				}
				lat.add(time.Since(start))
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return nil, 0, err
	}
	return lat, done.Load(), nil
}

// coldRequests counts registry requests for one admission with empty caches, then a repeat.
func coldRequests(c config) error {
	reg, refs, ws, stop, err := setup(c.images)
	if err != nil {
		return err
	}
	defer stop()
	body := podReview(refs)
	before := reg.requests.Load()
	if err := ws.post(body); err != nil {
		return err
	}
	cold := reg.requests.Load() - before
	if err := ws.post(body); err != nil {
		return err
	}
	warmN := reg.requests.Load() - before - cold
	fmt.Printf("registry requests per admission of a %d-image pod (tags, legacy signatures):\n", c.images)
	fmt.Printf("  cold  %d (%.1f per image)\n  warm  %d\n\n", cold, float64(cold)/float64(c.images), warmN)
	return nil
}

// coldParallel compares a cold admission of 10 images with one of 1 image, with latency added
// to every registry request.
func coldParallel(c config) error {
	timeFor := func(n int) (time.Duration, error) {
		reg, refs, ws, stop, err := setup(n)
		if err != nil {
			return 0, err
		}
		defer stop()
		reg.delay.Store(int64(c.latency))
		start := time.Now()
		if err := ws.post(podReview(refs)); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	var one, ten []time.Duration
	for range 5 {
		d1, err := timeFor(1)
		if err != nil {
			return err
		}
		d10, err := timeFor(10)
		if err != nil {
			return err
		}
		one, ten = append(one, d1), append(ten, d10)
	}
	m1, m10 := median(one), median(ten)
	fmt.Printf("cold admission with %s added to each registry request (median of 5):\n", c.latency)
	fmt.Printf("  1 image   %s\n  10 images %s  (%.2fx)\n\n", m1.Round(time.Millisecond), m10.Round(time.Millisecond), float64(m10)/float64(m1))
	return nil
}

// memory fills the verdict cache with c.verdicts distinct images and reports what the caches
// hold: the heap after the admissions less the heap before (the registry's own images are in
// both), and the process RSS.
func memory(c config) error {
	reg, err := childRegistry()
	if err != nil {
		return err
	}
	_, refs, ws, stop, err := setupOn(reg, c.verdicts)
	if err != nil {
		return err
	}
	defer stop()
	before := heapInUse()
	rssBefore := residentSet(0)
	for i := 0; i < len(refs); i += 5 {
		if err := ws.post(podReview(refs[i:min(i+5, len(refs))])); err != nil {
			return err
		}
	}
	after := heapInUse()
	time.Sleep(c.settle) // the signatures fetched to verify expire; the verdicts stay
	settled := heapInUse()
	if c.heapProfile != "" {
		f, err := os.Create(c.heapProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			return err
		}
	}
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	fmt.Printf("memory with %d cached verdicts (heap of the caches: after the admissions less before them):\n", c.verdicts)
	fmt.Printf("  with the fetched signatures still cached  %.1f MiB (%.1f KiB per image)\n", mib(after-before), float64(after-before)/1024/float64(c.verdicts))
	fmt.Printf("  after %s, verdicts and parsed references only  %.1f MiB (%.1f KiB per image)\n", c.settle, mib(settled-before), float64(settled-before)/1024/float64(c.verdicts))
	fmt.Printf("  this process: %s; before the admissions %s (the handler, its caches and the load client; the registry is a child process)\n\n", residentSet(0), rssBefore)
	return nil
}

func heapInUse() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

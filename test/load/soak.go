package main

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/verify"
)

// verdict is what an AdmissionReview of the soak must get.
type verdict struct {
	name     string
	body     []byte
	allowed  bool
	warnings bool
}

// soak holds the warm load for c.soak with a mix of allowed, denied, warned and uncovered
// images, checking every verdict, and prints errors, wrong verdicts, p99 and the RSS at 10 s
// and at the end.
func soak(c config) error {
	reg, err := newRegistry()
	if err != nil {
		return err
	}
	defer reg.close()
	key, err := sigtest.GenerateKey()
	if err != nil {
		return err
	}
	signed, err := reg.pushSigned(key, "team", 1)
	if err != nil {
		return err
	}
	unsigned, err := reg.pushSigned(nil, "team/unsigned", 1)
	if err != nil {
		return err
	}
	advisory, err := reg.pushSigned(nil, "advisory", 1)
	if err != nil {
		return err
	}
	warnPolicy := releasePolicy(reg.host, "advisory", key)
	warnPolicy.Name, warnPolicy.UID, warnPolicy.Spec.Mode = "advisory", "uid-2", v1alpha1.ModeWarn
	set := policy.Compile(policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{*releasePolicy(reg.host, "team", key), *warnPolicy}})
	vc, err := verify.New()
	if err != nil {
		return err
	}
	e, err := policy.NewEngine(vc, set, policy.WithNoMatch(policy.NoMatchWarn))
	if err != nil {
		return err
	}
	// The validating webhook: it gives the warnings, on images as the mutating one pinned them.
	ws, err := serveHandler(e, false)
	if err != nil {
		return err
	}
	defer ws.close()
	var pinned []string
	for _, ref := range []string{signed[0], unsigned[0], advisory[0]} {
		r, err := name.ParseReference(ref)
		if err != nil {
			return err
		}
		desc, err := remote.Head(r)
		if err != nil {
			return err
		}
		pinned = append(pinned, ref+"@"+desc.Digest.String())
	}
	mix := []verdict{
		{"allowed", podReview(pinned[:1]), true, false},
		{"denied", podReview(pinned[1:2]), false, false},
		{"warned", podReview(pinned[2:3]), true, true},
		{"uncovered", podReview([]string{reg.host + "/elsewhere/app:1"}), true, true},
	}
	for _, v := range mix { // fill the caches, and check the mix says what it should
		if err := v.check(ws); err != nil {
			return err
		}
	}
	var done, errs, wrong atomic.Int64
	lat := &histogram{}
	end := time.Now().Add(c.soak)
	var wg sync.WaitGroup
	for i := range c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := i; time.Now().Before(end); j++ {
				v := mix[j%len(mix)]
				start := time.Now()
				err := v.check(ws)
				lat.add(time.Since(start))
				switch {
				case errors.Is(err, errWrongVerdict):
					wrong.Add(1)
				case err != nil:
					errs.Add(1)
				}
				done.Add(1)
			}
		}()
	}
	time.Sleep(min(10*time.Second, c.soak))
	at10 := residentSet(0)
	wg.Wait()
	runtime.GC()
	atEnd := residentSet(0)
	p99, n := lat.quantile(0.99), done.Load()
	fmt.Printf("soak, %s, %d clients, allowed/denied/warned/uncovered in turn, webhook and load generator in one process on the machine's cores:\n", c.soak, c.concurrency)
	fmt.Printf("  %d AdmissionReviews, %.0f/s, %d errors, %d wrong verdicts, client p99 %s (%d timed)\n", done.Load(), float64(done.Load())/c.soak.Seconds(), errs.Load(), wrong.Load(), p99, n)
	fmt.Printf("  at 10 s: %s\n  at %s: %s\n", at10, c.soak, atEnd)
	if errs.Load() > 0 || wrong.Load() > 0 {
		return fmt.Errorf("the soak saw %d errors and %d wrong verdicts", errs.Load(), wrong.Load())
	}
	return nil
}

var errWrongVerdict = errors.New("wrong verdict")

// check posts the review and compares the answer with what it must be.
func (v verdict) check(ws *webhookServer) error {
	r, err := ws.review(v.body)
	if err != nil {
		return fmt.Errorf("%s: %w", v.name, err)
	}
	if r.Allowed != v.allowed || (len(r.Warnings) > 0) != v.warnings {
		return fmt.Errorf("%s: %w: allowed %v, warnings %q, %v", v.name, errWrongVerdict, r.Allowed, r.Warnings, r.Result)
	}
	return nil
}

// histogram counts latencies in 10 µs buckets up to 200 ms, in constant memory, so that a long
// soak measures the webhook's memory and not its own record of every request.
type histogram struct {
	counts [20000]atomic.Int64
}

const bucket = 10 * time.Microsecond

func (h *histogram) add(d time.Duration) {
	i := min(int(d/bucket), len(h.counts)-1)
	h.counts[i].Add(1)
}

// quantile returns the upper edge of the bucket holding the q quantile.
func (h *histogram) quantile(q float64) time.Duration {
	var total int64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	want, seen := int64(q*float64(total)), int64(0)
	for i := range h.counts {
		if seen += h.counts[i].Load(); seen > want {
			return time.Duration(i+1) * bucket
		}
	}
	return time.Duration(len(h.counts)) * bucket
}

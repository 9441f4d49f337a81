package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-dev/portcullis/cluster"
	"github.com/portcullis-dev/portcullis/policy"
)

// The defaults of Parallelism and ImageTimeout.
const (
	DefaultParallelism  = 4
	DefaultImageTimeout = 30 * time.Second
)

// job is one image of one pod, judged as a request of that image alone.
type job struct {
	pod, image int
	req        *policy.Request
}

// judge judges every image of every pod, Parallelism at a time and each within ImageTimeout,
// and returns one Decision per pod. Images are queued by registry, and one registry takes at
// most half the workers, so a registry that hangs delays its own images, not the others'.
func (a *Auditor) judge(ctx context.Context, pods []cluster.Pod) []*policy.Decision {
	decs := make([]*policy.Decision, len(pods))
	queues := map[string][]job{}
	for i, pod := range pods {
		req := pod.Request(nil)
		if req.Unreadable != nil || len(req.Images) == 0 {
			decs[i] = a.Engine.Decide(ctx, req) // answered without a registry
			continue
		}
		decs[i] = &policy.Decision{Images: make([]policy.ImageDecision, len(req.Images))}
		for j, im := range req.Images {
			reg := "" // an unparseable reference: the Engine says why
			if img, err := policy.ParseImage(im.Image); err == nil {
				reg = img.Registry
			}
			queues[reg] = append(queues[reg], job{i, j, req})
		}
	}
	parallelism := a.Parallelism
	if parallelism <= 0 {
		parallelism = DefaultParallelism
	}
	slots := make(chan struct{}, parallelism)
	var wg sync.WaitGroup
	for _, q := range queues {
		var next atomic.Int64
		for range min(max(1, parallelism/2), len(q)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := next.Add(1) - 1; n < int64(len(q)); n = next.Add(1) - 1 {
					select {
					case <-ctx.Done():
						return // the scan is abandoned
					case slots <- struct{}{}:
					}
					j := q[n]
					decs[j.pod].Images[j.image] = a.judgeImage(ctx, pods[j.pod], j)
					<-slots
				}
			}()
		}
	}
	wg.Wait()
	return decs
}

// judgeImage judges the image of j within ImageTimeout.
func (a *Auditor) judgeImage(scan context.Context, pod cluster.Pod, j job) policy.ImageDecision {
	timeout := a.ImageTimeout
	if timeout <= 0 {
		timeout = DefaultImageTimeout
	}
	ctx, cancel := context.WithTimeout(scan, timeout)
	defer cancel()
	req := *j.req
	req.Images = req.Images[j.image : j.image+1]
	if a.Credentials != nil {
		sa, secrets := pod.PullCredentials()
		req.Keychain = a.Credentials.For(ctx, pod.Namespace, sa, secrets)
	}
	req.RegistryRate = a.RegistryRate
	d := a.Engine.Decide(ctx, &req).Images[0]
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && scan.Err() == nil {
		// Say which deadline passed, and so what raises it.
		why := fmt.Sprintf("the audit's per-image deadline of %s passed (--audit-image-timeout)", timeout)
		for k := range d.Policies {
			if d.Policies[k].Result == policy.Error {
				d.Policies[k].Reasons = append(d.Policies[k].Reasons, why)
			}
		}
		if len(d.Policies) == 0 && !d.NoMatch {
			d.Reasons = append(d.Reasons, why)
		}
	}
	return d
}

package audit

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/time/rate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	reports "github.com/portcullis-dev/portcullis/api/reports/v1alpha2"
	"github.com/portcullis-dev/portcullis/cluster"
	"github.com/portcullis-dev/portcullis/policy"
)

// Auditor scans every running pod and writes the reports. It runs on the elected leader only.
type Auditor struct {
	// Client writes reports.
	Client client.Client
	// Pods lists pods, uncached and paged.
	Pods        client.Reader
	Engine      *policy.Engine
	Credentials *cluster.Credentials
	// Interval is the time between scans; a scan also follows each Trigger.
	Interval time.Duration
	// RegistryRate paces the audit's registry requests.
	RegistryRate *rate.Limiter
	// MaxResults caps the rows of one PolicyReport.
	MaxResults int
	// Parallelism is how many images are judged at once (DefaultParallelism when 0); one
	// registry takes at most half of them.
	Parallelism int
	// ImageTimeout bounds the judging of one image (DefaultImageTimeout when 0), so a registry
	// that hangs delays its own rows, never the scan.
	ImageTimeout time.Duration
	// Ready reports whether the first policy set is compiled; the first scan waits for it, so
	// no report is written from the empty set that comes before. Nil means at once.
	Ready func() bool
	Log   logr.Logger

	once    sync.Once
	trigger chan struct{}
}

// Trigger asks for a scan now, as after a policy change. It never blocks.
func (a *Auditor) Trigger() {
	select {
	case a.triggers() <- struct{}{}:
	default: // a scan is already asked for
	}
}

func (a *Auditor) triggers() chan struct{} {
	a.once.Do(func() { a.trigger = make(chan struct{}, 1) })
	return a.trigger
}

// Start scans once the policies are Ready, then every Interval and after each Trigger, until
// ctx ends.
func (a *Auditor) Start(ctx context.Context) error {
	if !a.waitReady(ctx) {
		return nil
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-a.triggers():
			// Let a burst of policy changes settle into one scan.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
		// A compile that asked for a scan before this one starts is seen by it.
		select {
		case <-a.triggers():
		default:
		}
		if err := a.Scan(ctx); err != nil {
			a.Log.Error(err, "audit scan")
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(a.Interval)
	}
}

// waitReady waits until Ready says the policies are compiled; false means ctx ended first.
func (a *Auditor) waitReady(ctx context.Context) bool {
	if a.Ready == nil {
		return true
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !a.Ready() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// Scan judges every running pod once and writes the reports.
func (a *Auditor) Scan(ctx context.Context) error {
	start := time.Now()
	pods, err := cluster.RunningPods(ctx, a.Pods)
	if err != nil {
		return err
	}
	at := metav1.Timestamp{Seconds: start.Unix()}
	byNS := map[string][]reports.PolicyReportResult{}
	images := 0
	decs := a.judge(ctx, pods)
	for i, pod := range pods {
		images += len(decs[i].Images)
		byNS[pod.Namespace] = append(byNS[pod.Namespace], rows(pod, decs[i], at)...)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := a.writeReports(ctx, byNS); err != nil {
		return err
	}
	observe(byNS, images, time.Since(start))
	a.Log.Info("audit scan", "pods", len(pods), "images", images, "namespaces", len(byNS), "duration", time.Since(start).String())
	return nil
}

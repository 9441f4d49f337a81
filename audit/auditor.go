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

// podDeadline bounds the judging of one pod, so a registry that hangs delays a scan, never stops it.
const podDeadline = time.Minute

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
	Log        logr.Logger

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

// Start scans at once, then every Interval and after each Trigger, until ctx ends.
func (a *Auditor) Start(ctx context.Context) error {
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
	for _, pod := range pods {
		dec := a.judge(ctx, pod)
		images += len(pod.Images)
		byNS[pod.Namespace] = append(byNS[pod.Namespace], rows(pod, dec, a.Engine.NoMatch(), at)...)
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

func (a *Auditor) judge(ctx context.Context, pod cluster.Pod) *policy.Decision {
	if pod.Err != nil {
		return &policy.Decision{}
	}
	ctx, cancel := context.WithTimeout(ctx, podDeadline)
	defer cancel()
	sa, secrets := pod.PullCredentials()
	req := pod.Request(nil)
	if a.Credentials != nil {
		req.Keychain = a.Credentials.For(ctx, pod.Namespace, sa, secrets)
	}
	req.RegistryRate = a.RegistryRate
	return a.Engine.Decide(ctx, req)
}

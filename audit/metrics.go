package audit

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	reports "github.com/portcullis-dev/portcullis/api/reports/v1alpha2"
)

var (
	metricsOnce sync.Once
	results     *prometheus.GaugeVec
	duration    prometheus.Histogram
	scanned     prometheus.Counter
)

func register() {
	metricsOnce.Do(func() {
		results = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "portcullis_audit_results", Help: "Results of the last audit scan, by namespace, policy and result.",
		}, []string{"namespace", "policy", "result"})
		duration = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "portcullis_audit_scan_duration_seconds", Help: "Time an audit scan took.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
		})
		scanned = prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portcullis_audit_images_scanned_total", Help: "Images judged by audit scans.",
		})
		ctrlmetrics.Registry.MustRegister(results, duration, scanned)
	})
}

// observe records one scan.
func observe(byNS map[string][]reports.PolicyReportResult, images int, took time.Duration) {
	register()
	results.Reset()
	for ns, rs := range byNS {
		for _, r := range rs {
			results.WithLabelValues(ns, r.Policy, string(r.Result)).Inc()
		}
	}
	duration.Observe(took.Seconds())
	scanned.Add(float64(images))
}

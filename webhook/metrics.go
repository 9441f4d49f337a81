package webhook

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/verify"
)

// Metrics are Portcullis's Prometheus series. They are registered once per process with
// controller-runtime's registry, so /metrics serves them beside its own.
type Metrics struct {
	admissions    *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	verifications *prometheus.CounterVec
	registry      *prometheus.CounterVec
}

var (
	metricsOnce sync.Once
	metrics     *Metrics
	// caches is what the cache series read: the engine and registry client of the newest
	// webhook in this process.
	caches atomic.Pointer[cacheSources]
)

type cacheSources struct {
	engine *policy.Engine
	client *verify.Client
}

// processMetrics returns the process's Metrics, registering them the first time.
func processMetrics() *Metrics {
	metricsOnce.Do(func() {
		metrics = &Metrics{
			admissions: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "portcullis_admission_requests_total", Help: "Admission requests judged, by webhook, kind, operation and decision (allowed, warned, denied).",
			}, []string{"webhook", "kind", "operation", "decision"}),
			latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Name: "portcullis_admission_duration_seconds", Help: "Time to judge an admission request, by webhook.",
				Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
			}, []string{"webhook"}),
			verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "portcullis_verifications_total", Help: "Verifications of an image digest against a policy (cache misses), by policy and result (pass, fail, error).",
			}, []string{"policy", "result"}),
			registry: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "portcullis_registry_requests_total", Help: "Requests to registries, by registry (a host some ClusterImagePolicy names, else other) and HTTP status (0: no response).",
			}, []string{"registry", "code"}),
		}
		ctrlmetrics.Registry.MustRegister(metrics.admissions, metrics.latency, metrics.verifications, metrics.registry)
		for _, c := range []struct {
			cache string
			stats func(*cacheSources) (uint64, uint64)
		}{
			{"verdict", func(s *cacheSources) (uint64, uint64) { return s.engine.CacheStats() }},
			{"digest", func(s *cacheSources) (uint64, uint64) { h, m, _, _ := s.client.CacheStats(); return h, m }},
			{"signatures", func(s *cacheSources) (uint64, uint64) { _, _, h, m := s.client.CacheStats(); return h, m }},
		} {
			for i, series := range []string{"portcullis_cache_hits_total", "portcullis_cache_misses_total"} {
				ctrlmetrics.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
					Name: series, Help: "Cache lookups answered (hits) and not (misses), by cache.", ConstLabels: prometheus.Labels{"cache": c.cache},
				}, func() float64 {
					s := caches.Load()
					if s == nil {
						return 0
					}
					hits, misses := c.stats(s)
					return float64([]uint64{hits, misses}[i])
				}))
			}
		}
	})
	return metrics
}

// verified counts one verification.
func (m *Metrics) verified(p *policy.Policy, r policy.Result) {
	m.verifications.WithLabelValues(p.ID(), string(r)).Inc()
}

// otherRegistry is the registry label of requests to every registry no ClusterImagePolicy
// names.
const otherRegistry = "other"

// registryRequest counts one registry request. The registry label is the host only when a
// ClusterImagePolicy of engine's current set names it, else "other": an image can name any
// host, and each would otherwise be a series kept for the life of the process.
func (m *Metrics) registryRequest(engine *policy.Engine, host string, code int) {
	label := otherRegistry
	if engine != nil && engine.Policies().NamesRegistry(host) {
		label = host
	}
	m.registry.WithLabelValues(label, strconv.Itoa(code)).Inc()
}

package webhook

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/portcullis-dev/portcullis/trust"
)

// trustRoots is the registry the trust root series read: the newest webhook's in this process.
var (
	trustRoots     atomic.Pointer[trust.Registry]
	trustRootsOnce sync.Once
)

var (
	trustRootDesc = prometheus.NewDesc("portcullis_trust_root_info",
		"The trusted root each trust root (built-in name or TrustRoot) uses now: its sha256, where it came from (embedded, cache, mirror, repository) and its TUF root version.",
		[]string{"trust_root", "sha256", "origin", "tuf_version"}, nil)
	trustStaleDesc = prometheus.NewDesc("portcullis_trust_root_stale",
		"1 while a trust root cannot be confirmed (its last refresh failed, or its TUF metadata expired); it is still used.",
		[]string{"trust_root", "health"}, nil)
	trustExpiresDesc = prometheus.NewDesc("portcullis_trust_root_expiry_timestamp_seconds",
		"When the TUF metadata vouching for a trust root expires (absent for an embedded root).",
		[]string{"trust_root"}, nil)
)

// trustCollector reports the trust roots of the current registry at each scrape.
type trustCollector struct{}

var _ prometheus.Collector = trustCollector{}

func (trustCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- trustRootDesc
	ch <- trustStaleDesc
	ch <- trustExpiresDesc
}

func (trustCollector) Collect(ch chan<- prometheus.Metric) {
	reg := trustRoots.Load()
	if reg == nil {
		return
	}
	now := time.Now()
	for _, st := range reg.Statuses() {
		if st.Root == nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(trustRootDesc, prometheus.GaugeValue, 1, st.Name, st.Root.SHA256, string(st.Root.Origin), strconv.FormatInt(st.TUFVersion, 10))
		stale := 0.0
		if st.Stale(now) {
			stale = 1
		}
		ch <- prometheus.MustNewConstMetric(trustStaleDesc, prometheus.GaugeValue, stale, st.Name, st.Health(now))
		if !st.Expires.IsZero() {
			ch <- prometheus.MustNewConstMetric(trustExpiresDesc, prometheus.GaugeValue, float64(st.Expires.Unix()), st.Name)
		}
	}
}

// serveTrustMetrics makes /metrics report reg's trust roots.
func serveTrustMetrics(reg *trust.Registry) {
	trustRoots.Store(reg)
	trustRootsOnce.Do(func() { ctrlmetrics.Registry.MustRegister(trustCollector{}) })
}

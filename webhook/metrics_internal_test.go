package webhook

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/verify"
)

// TestRegistryLabel: the registry label of registry requests is a host only when a
// ClusterImagePolicy glob names it literally (in any spelling), else "other"; hosts that only
// an ImagePolicy or a wildcard names, or that only an image names, never become a series.
func TestRegistryLabel(t *testing.T) {
	vc, err := verify.New()
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.NewEngine(vc, nil)
	if err != nil {
		t.Fatal(err)
	}
	glob := func(g string) v1alpha1.ImagePolicySpec {
		return v1alpha1.ImagePolicySpec{Images: []v1alpha1.ImagePattern{{Glob: g}},
			Authorities: []v1alpha1.Authority{{Name: "any", Static: &v1alpha1.StaticAuthority{Action: v1alpha1.StaticPass}}}}
	}
	cips := []v1alpha1.ClusterImagePolicy{
		{ObjectMeta: metav1.ObjectMeta{Name: "ghcr"}, Spec: glob("GHCR.io:443/org/**")},
		{ObjectMeta: metav1.ObjectMeta{Name: "hub"}, Spec: glob("nginx")},
		{ObjectMeta: metav1.ObjectMeta{Name: "local"}, Spec: glob("127.0.0.1:5000/**")},
		{ObjectMeta: metav1.ObjectMeta{Name: "wild"}, Spec: glob("*.example.com/**")},
	}
	tenant := []v1alpha1.ImagePolicy{{ObjectMeta: metav1.ObjectMeta{Name: "own", Namespace: "team"}, Spec: glob("tenant.example/**")}}

	m := &Metrics{registry: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "registry_requests"}, []string{"registry", "code"})}
	observe := func(hosts ...string) map[string]float64 {
		m.registry.Reset()
		for _, h := range hosts {
			m.registryRequest(engine, h, 200)
		}
		return counts(t, m.registry)
	}
	madeUp := make([]string, 1000)
	for i := range madeUp {
		madeUp[i] = fmt.Sprintf("attacker-%d.example.com", i)
	}
	hosts := append([]string{"ghcr.io", "index.docker.io", "127.0.0.1:5000", "tenant.example", "wild.example.com", "auth.docker.io"}, madeUp...)

	for _, tt := range []struct {
		name string
		set  *policy.Set
		want map[string]float64
	}{
		{"no policies yet", nil, map[string]float64{"other": float64(len(hosts))}},
		{"named by cluster policies", policy.Compile(policy.Sources{ClusterPolicies: cips, Policies: tenant}),
			map[string]float64{"ghcr.io": 1, "index.docker.io": 1, "127.0.0.1:5000": 1, "other": float64(len(hosts) - 3)}},
		{"a policy removed", policy.Compile(policy.Sources{ClusterPolicies: cips[1:], Policies: tenant}),
			map[string]float64{"index.docker.io": 1, "127.0.0.1:5000": 1, "other": float64(len(hosts) - 2)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.set != nil {
				engine.SetPolicies(tt.set)
			}
			if diff := cmp.Diff(tt.want, observe(hosts...)); diff != "" {
				t.Errorf("series by registry (-want +got):\n%s", diff)
			}
		})
	}
	m.registry.Reset()
	m.registryRequest(nil, "ghcr.io", 0)
	if diff := cmp.Diff(map[string]float64{"other": 1}, counts(t, m.registry)); diff != "" {
		t.Errorf("without an engine (-want +got):\n%s", diff)
	}
}

// counts sums c by its registry label.
func counts(t *testing.T, c *prometheus.CounterVec) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "registry" {
					out[l.GetValue()] += s.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

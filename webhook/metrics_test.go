package webhook_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/webhook"
)

// TestRegistryLabelBounded: on a real API server, admissions whose images name 40 made-up
// registries (loopback addresses nothing listens on, so each is really asked) add series only
// under "other", beside the registry a ClusterImagePolicy names.
func TestRegistryLabelBounded(t *testing.T) {
	w := &world{Cluster: envtesting.Start(t, webhook.Options{}), reg: sigtest.NewRegistry(t, true), keyA: sigtest.NewKey(t)}
	ctx := context.Background()
	w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "named"}, Spec: policySpec(w.reg.Host+"/named/**", "", keyAuthority("a", w.keyA))})
	// Covers every other image, so each one's registry is asked; audit mode admits them.
	w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "everything"}, Spec: policySpec("**", v1alpha1.ModeAudit, keyAuthority("a", w.keyA))})
	ns := w.Namespace(t, "labels", nil)
	signed, _ := w.image(t, "named/app:1", w.keyA)

	before := registrySeries(t)
	if err := w.Client.Create(ctx, pod(ns, "named", signed)); err != nil {
		t.Fatal(err)
	}
	for p := range 10 {
		obj := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("made-up-%d", p), Namespace: ns}}
		for c := range 4 {
			obj.Spec.Containers = append(obj.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", c),
				Image: fmt.Sprintf("127.0.0.%d:%d/app:1", 2+p*4+c, 1000+p*4+c)})
		}
		if err := w.Client.Create(ctx, obj); err != nil {
			t.Fatalf("creating %s: %v", obj.Name, err)
		}
	}
	grew := map[string]float64{}
	for label, n := range registrySeries(t) {
		if d := n - before[label]; d > 0 {
			grew[label] = d
		}
	}
	t.Logf("registry requests by label: %v", grew)
	for label := range grew {
		if label != "other" && label != w.reg.Host {
			t.Errorf("a series for registry %q, which no ClusterImagePolicy names", label)
		}
	}
	if grew["other"] < 40 {
		t.Errorf("%v requests counted under other; want at least one per made-up registry (40)", grew["other"])
	}
	if grew[w.reg.Host] == 0 {
		t.Errorf("no request counted under %s, which policy named names", w.reg.Host)
	}
}

// registrySeries sums portcullis_registry_requests_total by its registry label, over every
// webhook this test process has run.
func registrySeries(t *testing.T) map[string]float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "portcullis_registry_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "registry" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

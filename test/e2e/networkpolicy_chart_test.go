package e2e

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestChartNetworkPolicy: by default the chart lets in only the webhook, probe and metrics
// ports of Portcullis's pods, restricts nothing going out, and can name who may scrape.
func TestChartNetworkPolicy(t *testing.T) {
	port := func(p int) networkingv1.NetworkPolicyPort {
		tcp, n := corev1.ProtocolTCP, intstr.FromInt32(int32(p))
		return networkingv1.NetworkPolicyPort{Protocol: &tcp, Port: &n}
	}
	webhook := networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{port(9443), port(8081)}}
	metrics := networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{port(8080)}}
	monitoring := metrics
	monitoring.From = []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}}}
	for _, tc := range []struct {
		name string
		set  []string
		want []networkingv1.NetworkPolicyIngressRule // nil: no NetworkPolicy
	}{
		{"default", nil, []networkingv1.NetworkPolicyIngressRule{webhook, metrics}},
		{"scrapers named", []string{"networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring"},
			[]networkingv1.NetworkPolicyIngressRule{webhook, monitoring}},
		{"metrics off", []string{"metrics.enabled=false"}, []networkingv1.NetworkPolicyIngressRule{webhook}},
		{"off", []string{"networkPolicy.enabled=false"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *networkingv1.NetworkPolicy
			for _, o := range render(t, append([]string{"--set", "replicaCount=2"}, setArgs(tc.set)...)...) {
				if o.GetKind() == "NetworkPolicy" {
					got = &networkingv1.NetworkPolicy{}
					if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, got); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tc.want == nil {
				if got != nil {
					t.Fatal("a NetworkPolicy was rendered")
				}
				return
			}
			if got == nil {
				t.Fatal("no NetworkPolicy")
			}
			if diff := cmp.Diff([]networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, got.Spec.PolicyTypes); diff != "" {
				t.Errorf("policyTypes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got.Spec.Ingress); diff != "" {
				t.Errorf("ingress (-want +got):\n%s", diff)
			}
			if got.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] == "" {
				t.Errorf("the pod selector %v does not select Portcullis's pods", got.Spec.PodSelector)
			}
		})
	}
}

func setArgs(set []string) []string {
	var out []string
	for _, s := range set {
		out = append(out, "--set", s)
	}
	return out
}

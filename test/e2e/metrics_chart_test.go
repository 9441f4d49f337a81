package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// metricsChart is what the chart renders for /metrics.
type metricsChart struct {
	Args        []string            // the webhook's --metrics-* arguments
	ServicePort string              // the Service's metrics port name
	CertVolume  string              // the Secret mounted for the metrics certificate
	Reviews     []rbacv1.PolicyRule // the webhook ClusterRole's TokenReview and SubjectAccessReview rules
	Reader      []rbacv1.PolicyRule // the rules of <fullname>-metrics-reader
	HasMonitor  bool
	Endpoint    map[string]any // the ServiceMonitor's endpoint
}

func renderMetrics(t *testing.T, set ...string) metricsChart {
	t.Helper()
	var args []string
	for _, s := range set {
		args = append(args, "--set", s)
	}
	var m metricsChart
	for _, o := range render(t, args...) {
		switch {
		case o.GetKind() == "Deployment":
			var dep appsv1.Deployment
			convert(t, o, &dep)
			for _, a := range dep.Spec.Template.Spec.Containers[0].Args {
				if strings.HasPrefix(a, "--metrics-") && !strings.HasPrefix(a, "--metrics-bind-address") {
					m.Args = append(m.Args, a)
				}
			}
			for _, v := range dep.Spec.Template.Spec.Volumes {
				if v.Name == "metrics-certs" && v.Secret != nil {
					m.CertVolume = v.Secret.SecretName
				}
			}
		case o.GetKind() == "Service":
			var svc corev1.Service
			convert(t, o, &svc)
			for _, p := range svc.Spec.Ports {
				if strings.HasSuffix(p.Name, "-metrics") {
					m.ServicePort = p.Name
				}
			}
		case o.GetKind() == "ClusterRole" && o.GetName() == release:
			var r rbacv1.ClusterRole
			convert(t, o, &r)
			for _, rule := range r.Rules {
				if len(rule.APIGroups) == 1 && (rule.APIGroups[0] == "authentication.k8s.io" || rule.APIGroups[0] == "authorization.k8s.io") {
					m.Reviews = append(m.Reviews, rule)
				}
			}
		case o.GetKind() == "ClusterRole" && o.GetName() == release+"-metrics-reader":
			var r rbacv1.ClusterRole
			convert(t, o, &r)
			m.Reader = r.Rules
		case o.GetKind() == "ServiceMonitor":
			m.HasMonitor = true
			eps, _, _ := unstructured.NestedSlice(o.Object, "spec", "endpoints")
			if len(eps) != 1 {
				t.Fatalf("ServiceMonitor endpoints: %v", eps)
			}
			m.Endpoint = eps[0].(map[string]any)
		}
	}
	return m
}

// TestChartMetrics: by default the chart serves /metrics over HTTPS to authorized scrapers, as
// the binary does: the webhook may create TokenReviews and SubjectAccessReviews, a
// metrics-reader ClusterRole grants get /metrics for Prometheus to bind, and the ServiceMonitor
// scrapes over HTTPS with its service account token. metrics.secure=false alone undoes it.
func TestChartMetrics(t *testing.T) {
	reviews := []rbacv1.PolicyRule{
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
		{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
	}
	reader := []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}
	secureEndpoint := func(tls map[string]any) map[string]any {
		return map[string]any{"port": "https-metrics", "path": "/metrics", "interval": "30s", "scheme": "https",
			"bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token", "tlsConfig": tls}
	}
	for _, tc := range []struct {
		name string
		set  []string
		want metricsChart
	}{
		{"default", nil, metricsChart{Args: []string{"--metrics-secure=true"}, ServicePort: "https-metrics", Reviews: reviews, Reader: reader}},
		{"a ServiceMonitor: the self-signed certificate is not verified", []string{"metrics.serviceMonitor.enabled=true"},
			metricsChart{Args: []string{"--metrics-secure=true"}, ServicePort: "https-metrics", Reviews: reviews, Reader: reader,
				HasMonitor: true, Endpoint: secureEndpoint(map[string]any{"insecureSkipVerify": true})}},
		{"a certificate Secret and the CA to verify it", []string{"metrics.serviceMonitor.enabled=true", "metrics.certSecret=metrics-tls",
			"metrics.serviceMonitor.tlsConfig.serverName=portcullis.portcullis-system.svc",
			"metrics.serviceMonitor.tlsConfig.ca.secret.name=metrics-tls", "metrics.serviceMonitor.tlsConfig.ca.secret.key=ca\\.crt"},
			metricsChart{Args: []string{"--metrics-secure=true", "--metrics-cert-dir=/metrics-certs"}, ServicePort: "https-metrics",
				CertVolume: "metrics-tls", Reviews: reviews, Reader: reader, HasMonitor: true,
				Endpoint: secureEndpoint(map[string]any{"serverName": "portcullis.portcullis-system.svc",
					"ca": map[string]any{"secret": map[string]any{"name": "metrics-tls", "key": "ca.crt"}}})}},
		{"metrics.secure=false: plain HTTP, no reviews", []string{"metrics.secure=false", "metrics.serviceMonitor.enabled=true"},
			metricsChart{Args: []string{"--metrics-secure=false"}, ServicePort: "http-metrics", HasMonitor: true,
				Endpoint: map[string]any{"port": "http-metrics", "path": "/metrics", "interval": "30s"}}},
		{"metrics off", []string{"metrics.enabled=false"}, metricsChart{Args: []string{"--metrics-secure=true"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, renderMetrics(t, tc.set...)); diff != "" {
				t.Errorf("rendered /metrics setup (-want +got):\n%s", diff)
			}
		})
	}
}

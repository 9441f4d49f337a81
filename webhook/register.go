package webhook

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/cert"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// Name is the name of both webhook configurations.
const Name = "portcullis"

// PolicyCheckName names the policy-check webhook in the validating configuration.
const PolicyCheckName = "validate-policy.portcullis.dev"

// IgnoreLabel on a namespace keeps Portcullis out of it.
const IgnoreLabel = "portcullis.dev/ignore"

// Rules are the kinds and subresources both webhooks see: every kind with a pod spec.
func Rules() []admissionregistrationv1.RuleWithOperations {
	rule := func(group string, resources ...string) admissionregistrationv1.RuleWithOperations {
		scope := admissionregistrationv1.NamespacedScope
		return admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources, Scope: &scope},
		}
	}
	return []admissionregistrationv1.RuleWithOperations{
		rule("", "pods", "pods/ephemeralcontainers", "replicationcontrollers"),
		rule("apps", "deployments", "replicasets", "statefulsets", "daemonsets"),
		rule("batch", "jobs", "cronjobs"),
	}
}

// PolicyRules are the kinds the policy-check webhook sees: Portcullis's own policies, in every
// namespace (it never refuses, so it needs no namespaceSelector).
func PolicyRules() []admissionregistrationv1.RuleWithOperations {
	scope := admissionregistrationv1.AllScopes
	return []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{v1alpha1.GroupVersion.Group}, APIVersions: []string{v1alpha1.GroupVersion.Version},
			Resources: []string{"clusterimagepolicies", "imagepolicies"}, Scope: &scope},
	}}
}

// NamespaceSelector excludes kube-system, the install namespace and namespaces labelled
// portcullis.dev/ignore=true, so Portcullis can never lock a cluster out of its own recovery.
func NamespaceSelector(installNamespace string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system", installNamespace}},
		{Key: IgnoreLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"true"}},
	}}
}

// Registration says where the API server reaches the webhooks and how long it waits.
type Registration struct {
	// Name names both configurations.
	Name             string
	URL              string
	CABundle         []byte
	InstallNamespace string
	TimeoutSeconds   int32
}

// Register creates or updates the Mutating and Validating webhook configurations named
// portcullis to call r.URL with r.CABundle. The validating one holds a second webhook, the
// policy check, which only warns and so ignores failures: Portcullis being down never blocks
// fixing a policy.
func Register(ctx context.Context, c client.Client, r Registration) error {
	none := admissionregistrationv1.SideEffectClassNone
	fail := admissionregistrationv1.Fail
	ignore := admissionregistrationv1.Ignore
	ifNeeded := admissionregistrationv1.IfNeededReinvocationPolicy
	cc := func(path string) admissionregistrationv1.WebhookClientConfig {
		u := r.URL + path
		return admissionregistrationv1.WebhookClientConfig{URL: &u, CABundle: r.CABundle}
	}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: r.Name}}
	if _, err := controllerutil.CreateOrUpdate(ctx, c, mwc, func() error {
		mwc.Webhooks = []admissionregistrationv1.MutatingWebhook{{
			Name: "mutate.portcullis.dev", ClientConfig: cc("/mutate"), Rules: Rules(),
			NamespaceSelector: NamespaceSelector(r.InstallNamespace), SideEffects: &none, FailurePolicy: &fail,
			TimeoutSeconds: &r.TimeoutSeconds, AdmissionReviewVersions: []string{"v1"}, ReinvocationPolicy: &ifNeeded,
		}}
		return nil
	}); err != nil {
		return fmt.Errorf("registering the mutating webhook: %w", err)
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: r.Name}}
	if _, err := controllerutil.CreateOrUpdate(ctx, c, vwc, func() error {
		vwc.Webhooks = []admissionregistrationv1.ValidatingWebhook{{
			Name: "validate.portcullis.dev", ClientConfig: cc("/validate"), Rules: Rules(),
			NamespaceSelector: NamespaceSelector(r.InstallNamespace), SideEffects: &none, FailurePolicy: &fail,
			TimeoutSeconds: &r.TimeoutSeconds, AdmissionReviewVersions: []string{"v1"},
		}, {
			Name: PolicyCheckName, ClientConfig: cc(PolicyCheckPath), Rules: PolicyRules(), SideEffects: &none, FailurePolicy: &ignore,
			TimeoutSeconds: &r.TimeoutSeconds, AdmissionReviewVersions: []string{"v1"},
		}}
		return nil
	}); err != nil {
		return fmt.Errorf("registering the validating webhooks: %w", err)
	}
	return nil
}

// Unregister deletes both webhook configurations named name, and with them every webhook
// Register made, so a stopped out-of-cluster webhook does not block the cluster.
func Unregister(ctx context.Context, c client.Client, name string) error {
	for _, obj := range []client.Object{
		&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}},
		&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}},
	} {
		if err := c.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("unregistering %s: %w", name, err)
		}
	}
	return nil
}

// SelfSignedCert writes a serving certificate for the host of rawURL into dir (tls.crt,
// tls.key) and returns the CA bundle that verifies it.
func SelfSignedCert(rawURL, dir string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return nil, fmt.Errorf("--register-url %q must be an https URL", rawURL)
	}
	host := u.Hostname()
	var ips []net.IP
	var names []string
	if ip := net.ParseIP(host); ip != nil {
		ips = append(ips, ip)
	} else {
		names = append(names, host)
	}
	crt, key, err := cert.GenerateSelfSignedCertKey(host, ips, names)
	if err != nil {
		return nil, fmt.Errorf("generating a serving certificate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), crt, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), key, 0o600); err != nil {
		return nil, err
	}
	return crt, nil
}

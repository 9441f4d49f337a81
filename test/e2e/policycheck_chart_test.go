package e2e

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/portcullis-dev/portcullis/webhook"
)

// TestChartPolicyCheck: the chart registers the policy check as the out-of-cluster webhook
// does, beside the image webhook in the validating configuration, where the CA is injected into
// every webhook: the same service, its own path, Portcullis's policies only, failurePolicy
// Ignore and no namespaceSelector.
func TestChartPolicyCheck(t *testing.T) {
	for _, o := range render(t) {
		if o.GetKind() != "ValidatingWebhookConfiguration" {
			continue
		}
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		convert(t, o, &vwc)
		if len(vwc.Webhooks) != 2 || vwc.Webhooks[1].Name != webhook.PolicyCheckName {
			t.Fatalf("validating webhooks %v; want the image webhook, then %s", vwc.Webhooks, webhook.PolicyCheckName)
		}
		img, pc := vwc.Webhooks[0], vwc.Webhooks[1]
		svc := pc.ClientConfig.Service
		if svc == nil || svc.Name != img.ClientConfig.Service.Name || svc.Namespace != releaseNS || *svc.Path != webhook.PolicyCheckPath || *svc.Port != 443 {
			t.Errorf("policy check clientConfig %+v", pc.ClientConfig)
		}
		if diff := cmp.Diff(webhook.PolicyRules(), pc.Rules); diff != "" {
			t.Errorf("policy check rules differ from the out-of-cluster registration (-want +got):\n%s", diff)
		}
		if *pc.FailurePolicy != admissionregistrationv1.Ignore || *pc.SideEffects != admissionregistrationv1.SideEffectClassNone ||
			pc.NamespaceSelector != nil || *pc.TimeoutSeconds != 10 || *pc.MatchPolicy != admissionregistrationv1.Equivalent {
			t.Errorf("policy check: failurePolicy %s, sideEffects %s, namespaceSelector %v, timeoutSeconds %d, matchPolicy %s",
				*pc.FailurePolicy, *pc.SideEffects, pc.NamespaceSelector, *pc.TimeoutSeconds, *pc.MatchPolicy)
		}
		return
	}
	t.Fatal("the chart renders no ValidatingWebhookConfiguration")
}

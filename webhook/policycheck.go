package webhook

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/cluster"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/trust"
)

// PolicyCheckPath is where the policy-check webhook is served.
const PolicyCheckPath = "/validate-policy"

// PolicyCheck serves the policy-check webhook. It admits every ClusterImagePolicy and
// ImagePolicy, and warns whoever applies one about what in it is probably a mistake
// (policy.Lint) and why it does not compile: a TrustRoot or Secret it names may be applied
// next, so a compile error is no reason to refuse it.
type PolicyCheck struct {
	// TrustRoots lists the TrustRoots a keyless authority may name.
	TrustRoots client.Reader
	// Secrets reads the Secrets that key.secretRef names, uncached.
	Secrets          client.Reader
	InstallNamespace string
	// RegoLimits are the webhook's: a policy over the per-policy limit is told so.
	RegoLimits policy.RegoLimits
	// Trust gives the trust roots as the webhook holds them, so a check never asks a mirror.
	Trust *trust.Registry
	Log   logr.Logger
}

var _ admission.Handler = (*PolicyCheck)(nil)

// policyCheckWebhook is the policy-check webhook of the process run by mgr.
func policyCheckWebhook(mgr manager.Manager, o *Options, reg *trust.Registry) *crwebhook.Admission {
	recoverPanic := true
	h := &PolicyCheck{TrustRoots: mgr.GetClient(), Secrets: mgr.GetAPIReader(), InstallNamespace: o.InstallNamespace, RegoLimits: o.RegoLimits, Trust: reg, Log: o.Log.WithName("validate-policy")}
	return &crwebhook.Admission{Handler: h, RecoverPanic: &recoverPanic}
}

// Handle implements admission.Handler. It always admits.
func (h *PolicyCheck) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("Portcullis checks policies only on CREATE and UPDATE")
	}
	res := &cluster.Resources{}
	var spec *v1alpha1.ImagePolicySpec
	id := req.Name // empty for a generateName CREATE; then the prefix names it
	switch req.Kind.Kind {
	case policy.KindCluster:
		var o v1alpha1.ClusterImagePolicy
		if err := json.Unmarshal(req.Object.Raw, &o); err != nil {
			return admission.Allowed("").WithWarnings(fmt.Sprintf("Portcullis cannot read this ClusterImagePolicy to check it: %v", err))
		}
		if id == "" {
			id = o.GenerateName
		}
		res.ClusterPolicies.Items = []v1alpha1.ClusterImagePolicy{o}
		spec = &res.ClusterPolicies.Items[0].Spec
	case policy.KindNamespaced:
		var o v1alpha1.ImagePolicy
		if err := json.Unmarshal(req.Object.Raw, &o); err != nil {
			return admission.Allowed("").WithWarnings(fmt.Sprintf("Portcullis cannot read this ImagePolicy to check it: %v", err))
		}
		if o.Namespace == "" {
			o.Namespace = req.Namespace
		}
		if id == "" {
			id = o.GenerateName
		}
		id = o.Namespace + "/" + id
		res.Policies.Items = []v1alpha1.ImagePolicy{o}
		spec = &res.Policies.Items[0].Spec
	default:
		return admission.Allowed("Portcullis checks only ClusterImagePolicies and ImagePolicies")
	}
	warnings := policy.Lint(req.Kind.Kind, spec)
	if err := h.TrustRoots.List(ctx, &res.TrustRoots); err != nil {
		// Without the TrustRoots a compile would blame one that exists: warn what the spec shows.
		h.Log.Error(err, "listing TrustRoots to check a policy; giving only the warnings its spec shows", "kind", req.Kind.Kind, "policy", id)
	} else {
		src := res.Sources(ctx, h.Secrets, h.InstallNamespace, h.RegoLimits)
		src.Trust = h.Trust
		warnings = policy.Compile(src).Policies()[0].ApplyWarnings()
	}
	named := make([]string, 0, len(warnings))
	for _, w := range warnings {
		named = append(named, fmt.Sprintf("%s %s: %s", req.Kind.Kind, id, w)) // one apply may carry many policies
	}
	return admission.Allowed("").WithWarnings(named...)
}

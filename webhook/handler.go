package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/portcullis-dev/portcullis/cluster"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/workload"
)

// Handler serves one of the two webhooks. The mutating one pins images to digests; the
// validating one gives the final verdict on the object as it will be stored.
type Handler struct {
	Engine *policy.Engine
	// Mutate selects the mutating webhook; otherwise validating.
	Mutate bool
	// Credentials gives each admission the registry credentials of its pod; nil means none.
	Credentials *cluster.Credentials
	// Deadline bounds each admission, and is shorter than the webhook's timeoutSeconds so a
	// slow registry gives our reason, not the API server's timeout.
	Deadline time.Duration
	// Events records an Event for each denial, and for each warning of the validating webhook.
	Events  events.EventRecorder
	Metrics *Metrics
	Log     logr.Logger
}

var _ admission.Handler = (*Handler)(nil)

// Handle implements admission.Handler.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	start := time.Now()
	resp := h.handle(ctx, req)
	// A dry run (kubectl --dry-run=server) has no side effects, as sideEffects: None promises:
	// no Event and no count of a decision that never took effect.
	if h.Metrics != nil && !dryRun(req) {
		hook := map[bool]string{true: "mutate", false: "validate"}[h.Mutate]
		decision := "allowed"
		switch {
		case !resp.Allowed:
			decision = "denied"
		case len(resp.Warnings) > 0:
			decision = "warned"
		}
		h.Metrics.admissions.WithLabelValues(hook, label(req.Kind.Kind, workload.HasPodSpec(req.Kind.Kind)),
			label(string(req.Operation), req.Operation == admissionv1.Create || req.Operation == admissionv1.Update ||
				req.Operation == admissionv1.Delete || req.Operation == admissionv1.Connect), decision).Inc()
		h.Metrics.latency.WithLabelValues(hook).Observe(time.Since(start).Seconds())
	}
	return resp
}

// label keeps a metric label to known values: whoever reaches the webhook could otherwise
// grow the series without bound with made-up kinds.
func label(v string, known bool) string {
	if known {
		return v
	}
	return "other"
}

func (h *Handler) handle(ctx context.Context, req admission.Request) admission.Response {
	switch req.Operation {
	case admissionv1.Create, admissionv1.Update:
	case admissionv1.Delete, admissionv1.Connect:
		return admission.Allowed("Portcullis judges only CREATE and UPDATE")
	default:
		// What the API server never sends: a review without a request, or of another version.
		return admission.Denied(fmt.Sprintf("Portcullis cannot read this AdmissionReview: operation %q is not CREATE, UPDATE, DELETE or CONNECT", req.Operation))
	}
	if req.SubResource != "" && req.SubResource != "ephemeralcontainers" {
		return admission.Allowed("subresource " + req.SubResource + " carries no images")
	}
	obj, err := decode(req.Object.Raw, req.Kind.Kind)
	if err != nil {
		return admission.Denied(fmt.Sprintf("Portcullis cannot read this %s: %v", req.Kind.Kind, err))
	}
	var old map[string]any
	if req.Operation == admissionv1.Update {
		old, _ = decode(req.OldObject.Raw, req.Kind.Kind) // unreadable: judge as if new
	}
	ctx, cancel := context.WithTimeout(ctx, h.Deadline)
	defer cancel()
	preq := policy.NewRequest(string(req.Operation), req.Namespace, obj, old, policy.UserInfo{Username: req.UserInfo.Username, Groups: req.UserInfo.Groups})
	sa, secrets := workload.PullCredentials(obj)
	preq.Keychain = h.credentials(ctx, req.Namespace, sa, secrets)
	preq.RequirePinned, preq.DryRun = !h.Mutate, dryRun(req)
	dec := h.Engine.Decide(ctx, preq)
	if (!dec.Allowed || !h.Mutate) && !dryRun(req) {
		recordEvent(h.Events, obj, dec, string(req.Operation))
	}
	return respond(dec, preq.Images, h.Mutate)
}

func dryRun(req admission.Request) bool { return req.DryRun != nil && *req.DryRun }

func (h *Handler) credentials(ctx context.Context, namespace, serviceAccount string, pullSecrets []string) authn.Keychain {
	if h.Credentials == nil {
		return nil
	}
	return h.Credentials.For(ctx, namespace, serviceAccount, pullSecrets)
}

// decode reads an object of kind; the engine finds its images.
func decode(raw []byte, kind string) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("the request carries no object")
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	if k, _ := obj["kind"].(string); k == "" {
		obj["kind"] = kind // the API server always sets it; a hand-made review might not
	} else if k != kind {
		return nil, fmt.Errorf("the object is a %s, the request says %s", k, kind)
	}
	return obj, nil
}

// respond turns a Decision into an admission response: a denial with every reason, or an
// allowance with the pinning patch (mutating) or the warnings (validating, which sees the object
// as it will be stored, so each warning is given once).
func respond(dec *policy.Decision, imgs []workload.Image, mutate bool) admission.Response {
	if !dec.Allowed {
		return admission.Denied("Portcullis denied it: " + strings.Join(dec.Denials(), "; "))
	}
	if len(dec.Images) == 0 { // not judged: no image, or none changed
		return admission.Allowed(strings.Join(dec.Reasons, "; "))
	}
	if !mutate {
		return admission.Allowed("").WithWarnings(dec.Warnings()...)
	}
	var patches []jsonpatch.JsonPatchOperation
	for i, im := range dec.Images {
		if pinned := im.Pinned(); pinned != "" {
			patches = append(patches, jsonpatch.NewOperation("replace", imgs[i].Pointer(), pinned))
		}
	}
	if len(patches) == 0 {
		return admission.Allowed("")
	}
	return admission.Patched("", patches...)
}

package webhook_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/verify"
	"github.com/portcullis-dev/portcullis/webhook"
)

// TestHandler drives both handlers directly, with no API server: the real Engine, policies
// compiled from CRD objects, and go-containerregistry's registry with cosign signatures. It
// shows what each kind of AdmissionReview is answered, as the API server would relay it.
func TestHandler(t *testing.T) {
	reg := sigtest.NewRegistry(t, true)
	key := sigtest.NewKey(t)
	signed := reg.PushRandom(t, "team/app:1")
	key.SignLegacy(t, signed)
	reg.PushRandom(t, "team/unsigned:1")
	reg.PushRandom(t, "advisory/unsigned:1")
	good, bad, advisory := reg.Host+"/team/app:1", reg.Host+"/team/unsigned:1", reg.Host+"/advisory/unsigned:1"
	pinned := good + "@" + signed.DigestStr()
	vc, err := verify.New()
	if err != nil {
		t.Fatal(err)
	}
	set := policy.Compile(policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{
		{ObjectMeta: metav1.ObjectMeta{Name: "release"}, Spec: policySpec(reg.Host+"/team/**", "", keyAuthority("a", key))},
		{ObjectMeta: metav1.ObjectMeta{Name: "advisory"}, Spec: policySpec(reg.Host+"/advisory/**", v1alpha1.ModeWarn, keyAuthority("a", key))},
	}})
	e, err := policy.NewEngine(vc, set, policy.WithNoMatch(policy.NoMatchWarn))
	if err != nil {
		t.Fatal(err)
	}
	podOf := func(images ...string) []byte {
		p := pod("team", "p", images...)
		p.APIVersion, p.Kind = "v1", "Pod"
		b, _ := json.Marshal(p)
		return b
	}
	deploy := func(img string) []byte {
		d := deployment("team", "d", img)
		d.APIVersion, d.Kind = "apps/v1", "Deployment"
		b, _ := json.Marshal(d)
		return b
	}
	type review struct {
		kind, op, sub string
		obj, old      []byte
	}
	for _, tt := range []struct {
		name    string
		mutate  bool
		r       review
		allowed bool
		want    string // in the message, a warning or the patch
	}{
		{"signed pod is pinned", true, review{"Pod", "CREATE", "", podOf(good), nil}, true, "@" + signed.DigestStr()},
		{"unsigned pod is denied", true, review{"Pod", "CREATE", "", podOf(bad), nil}, false, "policy release: no signature verified by key a"},
		{"unsigned Deployment template is denied", true, review{"Deployment", "CREATE", "", deploy(bad), nil}, false, "no signature verified"},
		{"validate: pinned signed pod", false, review{"Pod", "CREATE", "", podOf(pinned), nil}, true, ""},
		{"validate: a tag the mutating webhook should have pinned", false, review{"Pod", "CREATE", "", podOf(good), nil}, false, "not pinned to a digest, which policy release requires"},
		{"validate: warn-mode failure warns", false, review{"Pod", "CREATE", "", podOf(advisory), nil}, true, "policy advisory (warn): no signature verified"},
		{"validate: uncovered image warns", false, review{"Pod", "CREATE", "", podOf("registry.example.com/x@sha256:" + strings.Repeat("a", 64)), nil}, true, "no ClusterImagePolicy covers this image (noMatch: warn)"},
		{"unreadable pod spec is denied", true, review{"Pod", "CREATE", "", []byte(`{"kind":"Pod","spec":{"containers":"x"}}`), nil}, false, "the images cannot be read from the pod spec"},
		{"update with the same images is not judged", true, review{"Pod", "UPDATE", "", podOf(bad), podOf(bad)}, true, "no image changed"},
		{"update that changes an image is judged", true, review{"Pod", "UPDATE", "", podOf(bad), podOf(good)}, false, "no signature verified"},
		{"no images", true, review{"Pod", "CREATE", "", podOf(), nil}, true, "no images"},
		{"DELETE", true, review{"Pod", "DELETE", "", nil, podOf(bad)}, true, "only CREATE and UPDATE"},
		{"unknown operation", true, review{"Pod", "PATCH", "", podOf(bad), nil}, false, `operation "PATCH" is not`},
		{"status subresource", true, review{"Pod", "UPDATE", "status", podOf(bad), podOf(good)}, true, "subresource status carries no images"},
		{"ephemeral containers subresource is judged", true, review{"Pod", "UPDATE", "ephemeralcontainers", podOf(good, bad), podOf(good)}, false, "no signature verified"},
		{"object of another kind than the request says", true, review{"Deployment", "CREATE", "", podOf(bad), nil}, false, "the object is a Pod, the request says Deployment"},
		{"no object", true, review{"Pod", "CREATE", "", nil, nil}, false, "the request carries no object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &webhook.Handler{Engine: e, Mutate: tt.mutate, Deadline: webhook.Deadline(10), Log: logr.Discard()}
			req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{UID: "1", Kind: metav1.GroupVersionKind{Kind: tt.r.kind},
				Namespace: "team", Operation: admissionv1.Operation(tt.r.op), SubResource: tt.r.sub,
				Object: runtime.RawExtension{Raw: tt.r.obj}, OldObject: runtime.RawExtension{Raw: tt.r.old}}}
			resp := h.Handle(context.Background(), req)
			said := strings.Join(resp.Warnings, "\n") + string(resp.Patch)
			if resp.Result != nil {
				said += resp.Result.Message
			}
			for _, p := range resp.Patches {
				b, _ := json.Marshal(p)
				said += string(b)
			}
			if resp.Allowed != tt.allowed || !strings.Contains(said, tt.want) {
				t.Fatalf("allowed %v, said %q; want allowed %v and %q", resp.Allowed, said, tt.allowed, tt.want)
			}
		})
	}
}

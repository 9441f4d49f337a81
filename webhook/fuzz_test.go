package webhook_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/verify"
	"github.com/portcullis-dev/portcullis/webhook"
)

// FuzzAdmissionReview: any body posted to either webhook gets a well-formed answer, never a
// crash; a denial always says why; and an image in a pod that no reference grammar accepts, or
// that a static-fail policy covers, is never admitted. Nothing here reaches a registry: the one
// policy covers only unreachable.invalid, whose lookups fail at once.
func FuzzAdmissionReview(f *testing.F) {
	pod := func(image string) []byte {
		obj, _ := json.Marshal(map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p"},
			"spec": map[string]any{"containers": []any{map[string]any{"name": "a", "image": image}}}})
		ar, _ := json.Marshal(admissionv1.AdmissionReview{Request: &admissionv1.AdmissionRequest{UID: "u", Operation: admissionv1.Create,
			Namespace: "team", Object: runtime.RawExtension{Raw: obj}}})
		return ar
	}
	for _, s := range [][]byte{pod("nginx"), pod("UPPER/case"), pod("blocked.example/app:1"), pod("Blocked.Example.:443/app:1"),
		[]byte(`{"request": {"uid": "1", "operation": "UPDATE", "kind": {"kind": "Deployment"}, "object": {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}}}`),
		[]byte("{nope"), []byte(`{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}`)} {
		f.Add(s, true)
	}
	c, err := verify.New()
	if err != nil {
		f.Fatal(err)
	}
	set := policy.Compile(policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{{Spec: v1alpha1.ImagePolicySpec{
		Images: []v1alpha1.ImagePattern{{Glob: "blocked.example/**"}}, Authorities: []v1alpha1.Authority{{Name: "no", Static: &v1alpha1.StaticAuthority{Action: v1alpha1.StaticFail}}}}}}})
	engine, err := policy.NewEngine(c, set, policy.WithNoMatch(policy.NoMatchAllow))
	if err != nil {
		f.Fatal(err)
	}
	handlers := map[bool]http.Handler{}
	for _, mutate := range []bool{true, false} {
		handlers[mutate] = &crwebhook.Admission{Handler: &webhook.Handler{Engine: engine, Mutate: mutate, Deadline: 1e9}}
	}
	f.Fuzz(func(t *testing.T, body []byte, mutate bool) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		handlers[mutate].ServeHTTP(rec, req)
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
			t.Fatalf("status %d, an answer that is not an AdmissionReview: %v: %s", rec.Code, err, rec.Body.Bytes())
		}
		if !out.Response.Allowed && (out.Response.Result == nil || out.Response.Result.Message == "") {
			t.Fatalf("refused without a reason: %s", rec.Body.Bytes())
		}
		var in admissionv1.AdmissionReview
		if json.Unmarshal(body, &in) != nil || in.Request == nil || in.Request.Operation != admissionv1.Create || in.Request.SubResource != "" {
			return
		}
		var obj struct {
			Kind string `json:"kind"`
			Spec struct {
				Containers []struct {
					Image string `json:"image"`
				} `json:"containers"`
			} `json:"spec"`
		}
		if json.Unmarshal(in.Request.Object.Raw, &obj) != nil || obj.Kind != "Pod" || (in.Request.Kind.Kind != "" && in.Request.Kind.Kind != "Pod") {
			return
		}
		for _, ct := range obj.Spec.Containers {
			img, err := policy.ParseImage(ct.Image)
			if (err != nil || img.Registry == "blocked.example") && out.Response.Allowed {
				t.Fatalf("image %q (%v) admitted: %s", ct.Image, err, rec.Body.Bytes())
			}
		}
	})
}

package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// BenchmarkAdmitWarm is the handler time of a warm admission: a 5-image pod whose digests and
// verdicts are all cached, through the mutating and the validating handler.
func BenchmarkAdmitWarm(b *testing.B) {
	reg := sigtest.NewRegistry(b, true)
	key := sigtest.NewKey(b)
	var images []string
	for i := range 5 {
		d := reg.PushRandom(b, fmt.Sprintf("team/app%d:1", i))
		key.SignLegacy(b, d)
		images = append(images, fmt.Sprintf("%s/team/app%d:1", reg.Host, i))
	}
	vc, _ := verify.New()
	set := policy.Compile(policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u", Generation: 1},
		Spec: policySpec(reg.Host+"/team/**", "", keyAuthority("a", key))}}})
	e, _ := policy.NewEngine(vc, set)
	for _, mutate := range []bool{true, false} {
		h := &webhook.Handler{Engine: e, Mutate: mutate, Deadline: webhook.Deadline(10), Log: logr.Discard()}
		req := admissionRequest(b, images, !mutate)
		if resp := h.Handle(context.Background(), req); !resp.Allowed {
			b.Fatalf("not allowed: %+v", resp.Result)
		}
		b.Run(map[bool]string{true: "mutate", false: "validate"}[mutate], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if resp := h.Handle(context.Background(), req); !resp.Allowed {
					b.Fatal(resp.Result)
				}
			}
		})
	}
}

// admissionRequest is a pod review with images, pinned (as /validate sees them) or not.
func admissionRequest(b *testing.B, images []string, pinned bool) admission.Request {
	b.Helper()
	if pinned {
		vc, _ := verify.New()
		s := vc.Session(context.Background(), nil, nil)
		for i, img := range images {
			im, _ := policy.ParseImage(img)
			d, err := s.Digest(im.Ref)
			if err != nil {
				b.Fatal(err)
			}
			images[i] = img + "@" + d.DigestStr()
		}
	}
	p := pod("default", "bench")
	for i, img := range images {
		p.Spec.Containers = append(p.Spec.Containers, podContainer(fmt.Sprintf("c%d", i), img))
	}
	p.APIVersion, p.Kind = "v1", "Pod"
	raw, _ := json.Marshal(p)
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{UID: "1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Namespace: "default", Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}}}
}

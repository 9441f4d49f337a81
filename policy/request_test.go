package policy_test

import (
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/policy"
)

func pod(images ...any) map[string]any {
	var cs []any
	for i, im := range images {
		cs = append(cs, map[string]any{"name": string(rune('a' + i)), "image": im})
	}
	return map[string]any{"kind": "Pod", "spec": map[string]any{"containers": cs}}
}

// TestUnjudged: the engine itself answers the objects whose images are not judged one by one,
// for every front end alike: an unreadable pod spec is denied (outcome error), an object
// without images or an UPDATE that changes none is admitted (outcome skip) without a
// registry, whatever the policies say.
func TestUnjudged(t *testing.T) {
	e := engine(t, policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("deny-all", spec("**", static("no", v1alpha1.StaticFail)))}},
		policy.WithNoMatch(policy.NoMatchDeny))
	for _, tt := range []struct {
		name     string
		op       string
		obj, old map[string]any
		allowed  bool
		outcome  policy.Result
		reason   string
	}{
		{"containers not a list", policy.OperationCreate, map[string]any{"kind": "Pod", "spec": map[string]any{"containers": "x"}}, nil, false, policy.Error, "the images cannot be read from the pod spec: spec.containers is not a list"},
		{"image not a string", policy.OperationCreate, pod(7), nil, false, policy.Error, "the images cannot be read from the pod spec"},
		{"a kind without a pod spec", policy.OperationCreate, map[string]any{"kind": "ConfigMap"}, nil, false, policy.Error, "carries no pod spec"},
		{"no images", policy.OperationCreate, pod(), nil, true, policy.Skip, "no images"},
		{"update, same images", policy.OperationUpdate, pod("registry.example.com/a:1"), pod("registry.example.com/a:1"), true, policy.Skip, "no image changed"},
		{"audit of a pod without images", policy.OperationAudit, pod(), nil, true, policy.Skip, "no images"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Decide(t.Context(), policy.NewRequest(tt.op, "team", tt.obj, tt.old, policy.UserInfo{}))
			if d.Allowed != tt.allowed || d.Outcome != tt.outcome || len(d.Images) != 0 || !strings.Contains(strings.Join(d.Reasons, "; "), tt.reason) {
				t.Fatalf("allowed %v, outcome %q, reasons %q, %d images; want %v, %q, %q", d.Allowed, d.Outcome, d.Reasons, len(d.Images), tt.allowed, tt.outcome, tt.reason)
			}
			if !tt.allowed && !strings.Contains(strings.Join(d.Denials(), "; "), tt.reason) {
				t.Fatalf("denials %q do not say why", d.Denials())
			}
		})
	}
	// An UPDATE that changes an image is judged image by image (here denied: the image cannot
	// be resolved, and the policy would fail it anyway).
	d := e.Decide(t.Context(), policy.NewRequest(policy.OperationUpdate, "team", pod("registry.example.com/a:2"), pod("registry.example.com/a:1"), policy.UserInfo{}))
	if d.Allowed || len(d.Images) != 1 {
		t.Fatalf("an UPDATE that changes the image: allowed %v, %d images judged", d.Allowed, len(d.Images))
	}
}

package policy

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// BenchmarkMatch1000 matches one image against a Set of 1,000 cluster policies: most with a
// literal registry, one in ten with a wildcard registry.
func BenchmarkMatch1000(b *testing.B) {
	var src Sources
	for i := range 1000 {
		glob := fmt.Sprintf("registry%d.example.com/team/**", i)
		if i%10 == 0 {
			glob = fmt.Sprintf("*.mirror%d.example.com/**", i)
		}
		src.ClusterPolicies = append(src.ClusterPolicies, v1alpha1.ClusterImagePolicy{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%04d", i)},
			Spec: v1alpha1.ImagePolicySpec{Images: []v1alpha1.ImagePattern{{Glob: glob}},
				Authorities: []v1alpha1.Authority{{Name: "s", Static: &v1alpha1.StaticAuthority{Action: v1alpha1.StaticPass}}}},
		})
	}
	set := Compile(src)
	img, err := ParseImage("registry517.example.com/team/app:1.2")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if got, _ := set.Match("default", img); len(got) != 1 {
			b.Fatalf("matched %d policies", len(got))
		}
	}
}

// BenchmarkRegoEval evaluates one prepared policy-level Rego module on a full input document.
func BenchmarkRegoEval(b *testing.B) {
	r, err := compileRules(`package portcullis
deny contains msg if { input.image.registry == "index.docker.io"; msg := "no Docker Hub images" }
deny contains msg if { some s in input.signatures; s.keyId == ""; msg := "unsigned" }
warn contains msg if { input.namespace == "prod"; not input.image.tag; msg := "untagged" }`)
	if err != nil {
		b.Fatal(err)
	}
	img, _ := ParseImage("registry.example.com/team/app:1.2")
	d, _ := name.NewDigest("registry.example.com/team/app@sha256:" + fmt.Sprintf("%064d", 1))
	base := newRegoBase(&Request{Namespace: "team", Operation: "CREATE", Object: map[string]any{"kind": "Pod",
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": img.Raw}}}}})
	o := &outcome{result: Pass, signers: []SignerInfo{{Authority: "k"}}, attestations: map[string][]attested{}}
	o.signers[0].KeyID = "abc"
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		in, err := base.policyInput(img, d, o)
		if err != nil {
			b.Fatal(err)
		}
		deny, _, err := r.eval(ctx, in)
		if err != nil || len(deny) != 0 {
			b.Fatalf("deny %v, err %v", deny, err)
		}
	}
}

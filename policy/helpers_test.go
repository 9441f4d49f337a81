package policy_test

import (
	"context"
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/verify"
	"github.com/portcullis-dev/portcullis/workload"
)

func cip(name string, spec v1alpha1.ImagePolicySpec) v1alpha1.ClusterImagePolicy {
	return v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
}

func nsPolicy(ns, name string, spec v1alpha1.ImagePolicySpec) v1alpha1.ImagePolicy {
	return v1alpha1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
}

func keyAuth(name string, k *sigtest.Key, atts ...v1alpha1.Attestation) v1alpha1.Authority {
	return v1alpha1.Authority{Name: name, Key: &v1alpha1.KeyAuthority{Data: string(k.PEM)}, Attestations: atts}
}

func static(name string, action v1alpha1.StaticAction) v1alpha1.Authority {
	return v1alpha1.Authority{Name: name, Static: &v1alpha1.StaticAuthority{Action: action}}
}

func spec(glob string, auths ...v1alpha1.Authority) v1alpha1.ImagePolicySpec {
	return v1alpha1.ImagePolicySpec{Images: []v1alpha1.ImagePattern{{Glob: glob}}, Authorities: auths}
}

func withMode(s v1alpha1.ImagePolicySpec, m v1alpha1.Mode) v1alpha1.ImagePolicySpec {
	s.Mode = m
	return s
}

func engine(t testing.TB, src policy.Sources, opts ...policy.EngineOption) *policy.Engine {
	t.Helper()
	c, err := verify.New()
	if err != nil {
		t.Fatal(err)
	}
	e, err := policy.NewEngine(c, policy.Compile(src), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func decide(t testing.TB, e *policy.Engine, ns string, images ...string) *policy.Decision {
	t.Helper()
	req := &policy.Request{Namespace: ns, Operation: "CREATE"}
	for i, img := range images {
		req.Images = append(req.Images, workload.Image{Source: "container \"c" + string(rune('0'+i)) + "\"", Image: img})
	}
	return e.Decide(context.Background(), req)
}

func keyIDOf(t testing.TB, k *sigtest.Key) string {
	t.Helper()
	pk, err := verify.ParsePublicKey(k.PEM)
	if err != nil {
		t.Fatal(err)
	}
	return pk.ID
}

// withoutTSA drops the timestamp authorities from a trusted root document.
func withoutTSA(t testing.TB, doc []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "timestampAuthorities")
	out, _ := json.Marshal(m)
	return out
}

// ciSubject and ciIssuer are the identity keylessSigned signs as: a GitHub Actions workflow.
const (
	ciSubject = "https://github.com/org/repo/.github/workflows/ci.yml@refs/heads/main"
	ciIssuer  = "https://token.actions.githubusercontent.com"
)

// keylessSigned pushes team/app:1 to a new registry and signs it keylessly, as ciSubject, with
// a new in-memory Sigstore (ours); theirs is another Sigstore, which did not sign it.
func keylessSigned(t testing.TB) (reg *sigtest.Registry, ours, theirs *sigtest.Sigstore, img string) {
	t.Helper()
	reg = sigtest.NewRegistry(t, true)
	var err error
	if ours, err = sigtest.NewSigstore(); err != nil {
		t.Fatal(err)
	}
	if theirs, err = sigtest.NewSigstore(); err != nil {
		t.Fatal(err)
	}
	if err := ours.SignBundle(reg.PushRandom(t, "team/app:1"), sigtest.Identity{Subject: ciSubject, Issuer: ciIssuer}); err != nil {
		t.Fatal(err)
	}
	return reg, ours, theirs, reg.Host + "/team/app:1"
}

package webhook_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
)

// testRekorV2: through the API server, a pod whose image carries a production Rekor v2 + TSA
// provenance bundle is admitted against the embedded root and pinned; under a TrustRoot
// resource naming sigtest's Rekor v2 log and TSA, a signature logged there with a timestamp is
// admitted and one without a timestamp is denied, saying why.
func testRekorV2(t *testing.T, w *world) {
	ctx := context.Background()
	ns := w.Namespace(t, "rekor-v2", nil)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("../test/testdata/sigstore/public-good-2026", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	prod := sigtest.PushArtifact(t, w.reg, "rekor-v2/provenance:1", read("rekor-v2-dsse-provenance.artifact"), read("rekor-v2-dsse-provenance.sigstore.json"))
	ss, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	const workflow = "https://github.com/org/repo/.github/workflows/ci.yml@refs/heads/main"
	ci := v1alpha1.Identity{Issuer: "https://token.actions.githubusercontent.com", SubjectRegExp: "^https://github.com/org/repo/"}
	for tag, timestamp := range map[string]bool{"stamped": true, "unstamped": false} {
		d := w.reg.PushRandom(t, "rekor-v2-corp/"+tag+":1")
		if err := ss.SignBundle(d, sigtest.Identity{Subject: workflow, Issuer: ci.Issuer, RekorV2: true, Timestamp: timestamp}); err != nil {
			t.Fatal(err)
		}
	}
	if c := w.apply(t, &v1alpha1.TrustRoot{ObjectMeta: metav1.ObjectMeta{Name: "corp-v2"}, Spec: v1alpha1.TrustRootSpec{SigstoreTrustedRoot: string(ss.TrustedRootJSON)}}); c.Status != metav1.ConditionTrue {
		t.Fatalf("TrustRoot Ready %+v", c)
	}
	production := v1alpha1.Authority{Name: "conformance",
		Keyless:      &v1alpha1.KeylessAuthority{Identities: []v1alpha1.Identity{{Issuer: "https://accounts.google.com", Subject: "untrusted-sa@sigstore-conformance.iam.gserviceaccount.com"}}},
		Attestations: []v1alpha1.Attestation{{Name: "provenance", PredicateType: "slsaprovenance1"}}}
	corp := v1alpha1.Authority{Name: "ci", Keyless: &v1alpha1.KeylessAuthority{Identities: []v1alpha1.Identity{ci}, TrustRootRef: "corp-v2"}}
	for name, spec := range map[string]v1alpha1.ImagePolicySpec{
		"rekor-v2":      policySpec(w.reg.Host+"/rekor-v2/**", "", production),
		"rekor-v2-corp": policySpec(w.reg.Host+"/rekor-v2-corp/**", "", corp),
	} {
		if c := w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}); c.Status != metav1.ConditionTrue {
			t.Fatalf("%s Ready %+v", name, c)
		}
	}

	img := w.reg.Host + "/rekor-v2/provenance:1"
	p := pod(ns, "production", img)
	if err := w.Client.Create(ctx, p); err != nil {
		t.Fatalf("the production Rekor v2 bundle was denied: %v", err)
	}
	if got := p.Spec.Containers[0].Image; got != img+"@"+prod.DigestStr() {
		t.Fatalf("stored image %s", got)
	}
	if err := w.Client.Create(ctx, pod(ns, "stamped", w.reg.Host+"/rekor-v2-corp/stamped:1")); err != nil {
		t.Fatalf("a Rekor v2 signature with a timestamp was denied: %v", err)
	}
	denied(t, w.Client.Create(ctx, pod(ns, "unstamped", w.reg.Host+"/rekor-v2-corp/unstamped:1")), "policy rekor-v2-corp",
		"its Rekor v2 log entry records no time, and no RFC 3161 timestamp from a trusted timestamp authority verifies")
}

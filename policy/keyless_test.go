package policy_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/policy"
)

func trustRoot(name string, gen int64, doc []byte) v1alpha1.TrustRoot {
	return v1alpha1.TrustRoot{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Generation: gen}, Spec: v1alpha1.TrustRootSpec{SigstoreTrustedRoot: string(doc)}}
}

func keyless(name, root string, tlog v1alpha1.TlogPolicy, ids ...v1alpha1.Identity) v1alpha1.Authority {
	return v1alpha1.Authority{Name: name, Tlog: tlog, Keyless: &v1alpha1.KeylessAuthority{Identities: ids, TrustRootRef: root}}
}

// TestKeylessPolicies: trustRootRef selects a TrustRoot, a TrustRoot's generation is part of the
// verdict's cache key, a TrustRoot that does not parse fails closed, and the verified identity
// reaches Rego.
func TestKeylessPolicies(t *testing.T) {
	reg, ours, theirs, img := keylessSigned(t)
	ci := v1alpha1.Identity{Issuer: "https://token.actions.githubusercontent.com", SubjectRegExp: "^https://github.com/org/repo/"}
	rego := "package portcullis\ndeny contains msg if { some s in input.signatures; not startswith(s.subject, \"https://github.com/org/\"); msg := \"foreign signer\" }\n" +
		"warn contains msg if { some s in input.signatures; msg := sprintf(\"signed by %s via %s\", [s.subject, s.issuer]) }"
	cipWith := func(a v1alpha1.Authority) v1alpha1.ClusterImagePolicy {
		s := spec(reg.Host+"/team/**", a)
		s.Rego = rego
		return cip("keyless", s)
	}
	e := engine(t, policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cipWith(keyless("ci", "corp", "", ci))},
		TrustRoots: []v1alpha1.TrustRoot{trustRoot("corp", 1, ours.TrustedRootJSON)}})
	dec := decide(t, e, "team", img)
	if !dec.Allowed {
		t.Fatalf("denied: %q", dec.Denials())
	}
	if w := strings.Join(dec.Warnings(), "\n"); !strings.Contains(w, "signed by https://github.com/org/repo/.github/workflows/ci.yml@refs/heads/main via https://token.actions.githubusercontent.com") {
		t.Fatalf("Rego did not see the verified identity: %q", w)
	}

	// The same TrustRoot, now another Sigstore's, at the next generation: the cached pass must
	// not survive it.
	e.SetPolicies(policy.Compile(policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cipWith(keyless("ci", "corp", "", ci))},
		TrustRoots: []v1alpha1.TrustRoot{trustRoot("corp", 2, theirs.TrustedRootJSON)}}))
	if dec := decide(t, e, "team", img); dec.Allowed || !strings.Contains(strings.Join(dec.Denials(), "\n"), "no signature verified by keyless authority ci") {
		t.Fatalf("after the trust root changed: allowed %v, %q", dec.Allowed, dec.Denials())
	}

	for _, tt := range []struct {
		name  string
		roots []v1alpha1.TrustRoot
		auth  v1alpha1.Authority
		want  string
	}{
		{"unparseable TrustRoot", []v1alpha1.TrustRoot{trustRoot("corp", 1, []byte("{not json"))}, keyless("ci", "corp", "", ci), `trustRootRef "corp": TrustRoot corp: parsing Sigstore trusted root`},
		{"missing TrustRoot", nil, keyless("ci", "corp", "", ci), `trustRootRef "corp": no such TrustRoot`},
		{"bad identity regexp", []v1alpha1.TrustRoot{trustRoot("corp", 1, ours.TrustedRootJSON)}, keyless("ci", "corp", "", v1alpha1.Identity{Issuer: "x", SubjectRegExp: "(["}), "identity regular expression"},
		{"tlog ignored without a timestamp authority", []v1alpha1.TrustRoot{trustRoot("corp", 1, withoutTSA(t, ours.TrustedRootJSON))}, keyless("ci", "corp", v1alpha1.TlogIgnore, ci), "tlog: ignore needs a trust root with a timestamp authority"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cipWith(tt.auth)}, TrustRoots: tt.roots}
			set := policy.Compile(src)
			if err := set.Policies()[0].Err; err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("compile error %v, want %q", err, tt.want)
			}
			if dec := decide(t, engine(t, src), "team", img); dec.Allowed {
				t.Fatal("a policy with a broken trust root allowed an image it covers")
			}
		})
	}
	if err := policy.Compile(policy.Sources{TrustRoots: []v1alpha1.TrustRoot{trustRoot("corp", 1, []byte("{not json"))}}).TrustRootErr("corp"); err == nil {
		t.Fatal("an unparseable TrustRoot reports no error")
	}
}

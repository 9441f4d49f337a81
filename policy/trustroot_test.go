package policy_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/tuftest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/trust"
)

func tufTrustRoot(name string, src v1alpha1.TUFSource) v1alpha1.TrustRoot {
	return v1alpha1.TrustRoot{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Generation: 1}, Spec: v1alpha1.TrustRootSpec{TUF: &src}}
}

// TestTUFTrustRoot: a keyless authority verifies with the trusted root a TrustRoot's TUF
// repository serves (a mirror on loopback, or the same repository serialized); when the
// repository publishes another root, the next compile uses it and the cached pass does not
// survive it, with no change to the TrustRoot itself.
func TestTUFTrustRoot(t *testing.T) {
	reg, ours, theirs, img := keylessSigned(t)
	ci := v1alpha1.Identity{Issuer: ciIssuer, Subject: ciSubject}
	repo := tuftest.New(t, ours.TrustedRootJSON)
	srv := httptest.NewServer(repo)
	defer srv.Close()
	roots := trust.NewRegistry(trust.Options{})
	for _, tt := range []struct {
		name string
		tuf  v1alpha1.TUFSource
	}{
		{"mirror", v1alpha1.TUFSource{Mirror: srv.URL, Root: tuftest.Base64(repo.InitialRoot())}},
		{"serialized repository", v1alpha1.TUFSource{Root: tuftest.Base64(repo.InitialRoot()), Repository: tuftest.Base64(repo.Archive())}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("keyless", spec(reg.Host+"/team/**", keyless("ci", "corp", "", ci)))},
				TrustRoots: []v1alpha1.TrustRoot{tufTrustRoot("corp", tt.tuf)}, Trust: roots}
			e := engine(t, src)
			if dec := decide(t, e, "team", img); !dec.Allowed {
				t.Fatalf("denied: %q", dec.Denials())
			}
			st, ok := e.Policies().TrustRootStatus("corp")
			if !ok || st.Root == nil || st.TUFVersion != 1 || st.Expires.IsZero() {
				t.Fatalf("TrustRoot status %+v", st)
			}
		})
	}

	// The mirror publishes another Sigstore's root: once refreshed, the same TrustRoot
	// generation judges again, and denies.
	roots = trust.NewRegistry(trust.Options{})
	src := policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("keyless", spec(reg.Host+"/team/**", keyless("ci", "corp", "", ci)))},
		TrustRoots: []v1alpha1.TrustRoot{tufTrustRoot("corp", v1alpha1.TUFSource{Mirror: srv.URL, Root: tuftest.Base64(repo.InitialRoot())})}, Trust: roots}
	e := engine(t, src)
	if dec := decide(t, e, "team", img); !dec.Allowed {
		t.Fatalf("denied: %q", dec.Denials())
	}
	repo.SetTarget(theirs.TrustedRootJSON)
	if err := roots.Source("corp").Refresh(); err != nil {
		t.Fatal(err)
	}
	e.SetPolicies(policy.Compile(src))
	if dec := decide(t, e, "team", img); dec.Allowed || !strings.Contains(strings.Join(dec.Denials(), "\n"), "no signature verified by keyless authority ci") {
		t.Fatalf("after the TUF repository changed root: allowed %v, %q", dec.Allowed, dec.Denials())
	}
}

// TestTrustRootNames: the built-in names resolve to the embedded roots offline; a TrustRoot
// cannot take them; a TUF TrustRoot whose mirror cannot be reached fails closed, naming it.
func TestTrustRootNames(t *testing.T) {
	srv := httptest.NewServer(tuftest.New(t, []byte("{}")))
	down := srv.URL
	srv.Close()
	initial := tuftest.New(t, []byte("{}")).InitialRoot()
	ci := v1alpha1.Identity{Issuer: ciIssuer, Subject: "x"}
	for _, tt := range []struct {
		name, ref string
		roots     []v1alpha1.TrustRoot
		want      string // compile error, or "" for none
		rootErr   string
	}{
		{"default is public-good", "", nil, "", ""},
		{"public-good", "public-good", nil, "", ""},
		{"github", "github", nil, "", ""},
		{"a TrustRoot named public-good is refused, the built-in one is used", "public-good", []v1alpha1.TrustRoot{trustRoot("public-good", 1, []byte("{}"))}, "", "the name public-good is reserved"},
		{"a TrustRoot named github", "", []v1alpha1.TrustRoot{trustRoot("github", 1, []byte("{}"))}, "", "the name github is reserved"},
		{"mirror down at start", "corp", []v1alpha1.TrustRoot{tufTrustRoot("corp", v1alpha1.TUFSource{Mirror: down, Root: tuftest.Base64(initial)})}, `trustRootRef "corp": TrustRoot corp: no verified trusted root yet: TUF repository ` + down, "no verified trusted root yet"},
		{"neither mirror nor repository", "corp", []v1alpha1.TrustRoot{tufTrustRoot("corp", v1alpha1.TUFSource{Root: tuftest.Base64(initial)})}, "exactly one of mirror or repository", "exactly one of mirror or repository"},
		{"root not base64", "corp", []v1alpha1.TrustRoot{tufTrustRoot("corp", v1alpha1.TUFSource{Mirror: down, Root: "not base64!"})}, "tuf.root is not base64", "tuf.root is not base64"},
		{"bad initial root", "corp", []v1alpha1.TrustRoot{tufTrustRoot("corp", v1alpha1.TUFSource{Mirror: down, Root: tuftest.Base64([]byte("{}"))})}, "initial TUF root", "initial TUF root"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set := policy.Compile(policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("p", spec("registry.example.com/**", keyless("ci", tt.ref, "", ci)))},
				TrustRoots: tt.roots, Trust: trust.NewRegistry(trust.Options{Offline: true})})
			err := set.Policies()[0].Err
			if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("compile error %v, want %q", err, tt.want)
			}
			if tt.rootErr != "" {
				name := tt.roots[0].Name
				if rerr := set.TrustRootErr(name); rerr == nil || !strings.Contains(rerr.Error(), tt.rootErr) {
					t.Fatalf("TrustRoot %s error %v, want %q", name, rerr, tt.rootErr)
				}
			}
		})
	}
}

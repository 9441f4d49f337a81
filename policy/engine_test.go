package policy_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
)

// world is a registry with images signed by two keys.
type world struct {
	reg                             *sigtest.Registry
	keyA, keyB                      *sigtest.Key
	byA, byB, byBoth, unsigned, any string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{reg: sigtest.NewRegistry(t, true), keyA: sigtest.NewKey(t), keyB: sigtest.NewKey(t)}
	push := func(repoTag string, keys ...*sigtest.Key) string {
		d := w.reg.PushRandom(t, repoTag)
		for _, k := range keys {
			k.SignLegacy(t, d)
		}
		return w.reg.Host + "/" + repoTag
	}
	w.byA = push("team/a:1", w.keyA)
	w.byB = push("team/b:1", w.keyB)
	w.byBoth = push("team/both:1", w.keyA, w.keyB)
	w.unsigned = push("team/unsigned:1")
	w.any = w.reg.Host + "/team/**"
	return w
}

func TestApplicableSet(t *testing.T) {
	w := newWorld(t)
	clusterA := cip("cluster-a", spec(w.any, keyAuth("a", w.keyA)))
	tests := []struct {
		name    string
		src     policy.Sources
		ns      string
		image   string
		allowed bool
		reason  string
	}{
		{"cluster policy passes", policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{clusterA}}, "team", w.byA, true, ""},
		{"cluster policy fails", policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{clusterA}}, "team", w.unsigned, false,
			"policy cluster-a: no signature verified by key a (no signatures found)"},
		{"namespace policy adds a requirement", policy.Sources{
			ClusterPolicies: []v1alpha1.ClusterImagePolicy{clusterA},
			Policies:        []v1alpha1.ImagePolicy{nsPolicy("team", "also-b", spec(w.any, keyAuth("b", w.keyB)))},
		}, "team", w.byA, false, "policy team/also-b: no signature verified by key b"},
		{"the added requirement stays in its namespace", policy.Sources{
			ClusterPolicies: []v1alpha1.ClusterImagePolicy{clusterA},
			Policies:        []v1alpha1.ImagePolicy{nsPolicy("team", "also-b", spec(w.any, keyAuth("b", w.keyB)))},
		}, "other", w.byA, true, ""},
		{"both requirements met", policy.Sources{
			ClusterPolicies: []v1alpha1.ClusterImagePolicy{clusterA},
			Policies:        []v1alpha1.ImagePolicy{nsPolicy("team", "also-b", spec(w.any, keyAuth("b", w.keyB)))},
		}, "team", w.byBoth, true, ""},
		{"a namespace policy cannot relax a cluster policy", policy.Sources{
			ClusterPolicies: []v1alpha1.ClusterImagePolicy{clusterA},
			Policies:        []v1alpha1.ImagePolicy{nsPolicy("team", "let-it-in", spec("**", static("yes", v1alpha1.StaticPass)))},
		}, "team", w.unsigned, false, "policy cluster-a: no signature verified by key a"},
		{"a namespace audit policy cannot relax a cluster policy", policy.Sources{
			ClusterPolicies: []v1alpha1.ClusterImagePolicy{clusterA},
			Policies:        []v1alpha1.ImagePolicy{nsPolicy("team", "audit-only", withMode(spec(w.any, keyAuth("a", w.keyA)), v1alpha1.ModeAudit))},
		}, "team", w.unsigned, false, "policy cluster-a"},
		{"a namespace static pass over ** does not cover an image", policy.Sources{
			Policies: []v1alpha1.ImagePolicy{nsPolicy("team", "let-it-in", spec("**", static("yes", v1alpha1.StaticPass)))},
		}, "team", w.unsigned, false, "no ClusterImagePolicy covers this image (noMatch: deny)"},
		{"a namespace audit policy over ** does not cover an image", policy.Sources{
			Policies: []v1alpha1.ImagePolicy{nsPolicy("team", "audit-all", withMode(spec("**", keyAuth("a", w.keyA)), v1alpha1.ModeAudit))},
		}, "team", w.unsigned, false, "no ClusterImagePolicy covers this image (noMatch: deny)"},
		{"a namespace warn policy that passes does not cover an image", policy.Sources{
			Policies: []v1alpha1.ImagePolicy{nsPolicy("team", "warn-all", withMode(spec("**", keyAuth("a", w.keyA)), v1alpha1.ModeWarn))},
		}, "team", w.byA, false, "no ClusterImagePolicy covers this image (noMatch: deny)"},
		{"a namespace policy of another namespace does not apply", policy.Sources{
			Policies: []v1alpha1.ImagePolicy{nsPolicy("other", "b-only", spec(w.any, keyAuth("b", w.keyB)))},
		}, "team", w.byA, false, "no ClusterImagePolicy covers this image (noMatch: deny)"},
		{"authorities are ORed", policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{
			cip("a-or-b", spec(w.any, keyAuth("a", w.keyA), keyAuth("b", w.keyB)))}}, "team", w.byB, true, ""},
		{"threshold 2 with one signature", policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{
			cip("two", withThreshold(spec(w.any, keyAuth("a", w.keyA), keyAuth("b", w.keyB)), 2))}}, "team", w.byA, false,
			"1 of 2 authorities passed, 2 needed"},
		{"threshold 2 with two signatures", policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{
			cip("two", withThreshold(spec(w.any, keyAuth("a", w.keyA), keyAuth("b", w.keyB)), 2))}}, "team", w.byBoth, true, ""},
		{"static fail", policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{
			cip("nope", spec(w.any, v1alpha1.Authority{Name: "nope", Static: &v1alpha1.StaticAuthority{Action: v1alpha1.StaticFail, Message: "frozen"}}))}}, "team", w.byA, false, "policy nope: frozen"},
		{"every matching cluster policy applies", policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{
			clusterA, cip("cluster-b", spec(w.reg.Host+"/team/*", keyAuth("b", w.keyB)))}}, "team", w.byA, false, "policy cluster-b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, engine(t, tt.src, policy.WithNoMatch(policy.NoMatchDeny)), tt.ns, tt.image)
			if d.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v; denials: %q", d.Allowed, tt.allowed, d.Denials())
			}
			if got := strings.Join(d.Denials(), "\n"); !strings.Contains(got, tt.reason) {
				t.Fatalf("denials %q do not contain %q", got, tt.reason)
			}
			if d.Images[0].Digest == "" && !d.Images[0].NoMatch {
				t.Fatalf("no digest resolved")
			}
		})
	}
}

func withThreshold(s v1alpha1.ImagePolicySpec, n int32) v1alpha1.ImagePolicySpec {
	s.Threshold = &n
	return s
}

func TestModes(t *testing.T) {
	w := newWorld(t)
	for _, tt := range []struct {
		mode     v1alpha1.Mode
		allowed  bool
		warnings int
		outcome  policy.Result // what every front end reports
	}{
		{v1alpha1.ModeEnforce, false, 0, policy.Fail},
		{v1alpha1.ModeWarn, true, 1, policy.Warn},
		{v1alpha1.ModeAudit, true, 0, policy.Fail},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			e := engine(t, policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("p", withMode(spec(w.any, keyAuth("a", w.keyA)), tt.mode))}})
			d := decide(t, e, "team", w.unsigned)
			if d.Allowed != tt.allowed || len(d.Warnings()) != tt.warnings {
				t.Fatalf("allowed = %v, warnings %q; want %v and %d warnings", d.Allowed, d.Warnings(), tt.allowed, tt.warnings)
			}
			if r := d.Images[0].Policies[0]; r.Result != policy.Fail || r.Mode != tt.mode || r.Outcome != tt.outcome {
				t.Fatalf("policy result = %+v, want a %s failure with outcome %s", r, tt.mode, tt.outcome)
			}
			if tt.warnings > 0 && !strings.Contains(d.Warnings()[0], "policy p (warn): no signature verified by key a") {
				t.Fatalf("warning %q does not say why", d.Warnings()[0])
			}
		})
	}
}

func TestNoMatch(t *testing.T) {
	w := newWorld(t)
	src := policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("other", spec("registry.example.com/**", keyAuth("a", w.keyA)))}}
	for _, tt := range []struct {
		action   policy.NoMatch
		allowed  bool
		warnings int
		outcome  policy.Result
	}{
		{policy.NoMatchDeny, false, 0, policy.Fail},
		{policy.NoMatchWarn, true, 1, policy.Warn},
		{policy.NoMatchAllow, true, 0, policy.Skip},
	} {
		t.Run(string(tt.action), func(t *testing.T) {
			d := decide(t, engine(t, src, policy.WithNoMatch(tt.action)), "team", w.unsigned)
			if d.Allowed != tt.allowed || len(d.Warnings()) != tt.warnings || !d.Images[0].NoMatch || d.Images[0].Outcome != tt.outcome {
				t.Fatalf("allowed = %v, warnings %q, denials %q, outcome %q", d.Allowed, d.Warnings(), d.Denials(), d.Images[0].Outcome)
			}
		})
	}
}

// TestNamespacePoliciesOnlyAdd: under noMatch warn or allow, an ImagePolicy still adds its
// failure to an image no ClusterImagePolicy covers, and its pass adds nothing.
func TestNamespacePoliciesOnlyAdd(t *testing.T) {
	w := newWorld(t)
	src := policy.Sources{Policies: []v1alpha1.ImagePolicy{nsPolicy("team", "need-a", spec(w.any, keyAuth("a", w.keyA)))}}
	for _, action := range []policy.NoMatch{policy.NoMatchWarn, policy.NoMatchAllow} {
		t.Run(string(action), func(t *testing.T) {
			e := engine(t, src, policy.WithNoMatch(action))
			if d := decide(t, e, "team", w.unsigned); d.Allowed || !strings.Contains(strings.Join(d.Denials(), "\n"), "policy team/need-a: no signature verified by key a") {
				t.Fatalf("an unsigned image passed an ImagePolicy that requires a signature: allowed %v, denials %q", d.Allowed, d.Denials())
			}
			d := decide(t, e, "team", w.byA)
			if !d.Allowed || !d.Images[0].NoMatch || d.Images[0].Digest == "" {
				t.Fatalf("a signed image: allowed %v, noMatch %v, digest %q; want admitted by noMatch %s, resolved", d.Allowed, d.Images[0].NoMatch, d.Images[0].Digest, action)
			}
			if got := len(d.Warnings()); (action == policy.NoMatchWarn) != (got == 1) {
				t.Fatalf("warnings %q under noMatch %s", d.Warnings(), action)
			}
		})
	}
}

func TestBrokenPoliciesDenyWhatTheyCover(t *testing.T) {
	w := newWorld(t)
	good := keyAuth("a", w.keyA)
	tests := []struct {
		name   string
		spec   v1alpha1.ImagePolicySpec
		reason string
	}{
		{"bad PEM", spec(w.any, v1alpha1.Authority{Name: "a", Key: &v1alpha1.KeyAuthority{Data: "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"}}), "parsing PEM public key"},
		{"bad policy Rego", withRego(spec(w.any, good), "package portcullis\ndeny contains msg if {"), "parsing Rego"},
		{"bad attestation Rego", spec(w.any, keyAuth("a", w.keyA, v1alpha1.Attestation{Name: "p", PredicateType: "slsaprovenance1", Rego: "package other\ndeny contains 1 if true"})), "must be package portcullis"},
		{"bad predicate type", spec(w.any, keyAuth("a", w.keyA, v1alpha1.Attestation{Name: "p", PredicateType: "not a type"})), "neither a cosign short name nor a URI"},
		{"bad glob covers everything", spec("registry.example.com/(x|y)", good), "has characters other than"},
		{"no authorities", spec(w.any), "no authorities"},
		{"Rego over the per-policy limit", withRego(spec(w.any, good), regoOf("big", 129<<10)), "policy rego refused: its Rego is 132096 bytes, over the limit of 131072 per policy"},
		{"secretRef without cluster access", spec(w.any, v1alpha1.Authority{Name: "a", Key: &v1alpha1.KeyAuthority{SecretRef: &v1alpha1.SecretKeyRef{Name: "k", Key: "cosign.pub"}}}), "cannot be read here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := policy.Compile(policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("broken", tt.spec)}})
			if err := set.Policies()[0].Err; err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("compile error = %v, want one containing %q", err, tt.reason)
			}
			e := engine(t, policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("broken", tt.spec)}}, policy.WithNoMatch(policy.NoMatchAllow))
			d := decide(t, e, "team", w.byA) // signed by a: only the broken policy can deny it
			if d.Allowed {
				t.Fatal("a broken policy allowed an image it covers")
			}
			if got := strings.Join(d.Denials(), "\n"); !strings.Contains(got, "policy broken: policy does not compile") || !strings.Contains(got, tt.reason) {
				t.Fatalf("denials %q do not name the compile error", got)
			}
		})
	}
}

func withRego(s v1alpha1.ImagePolicySpec, rego string) v1alpha1.ImagePolicySpec {
	s.Rego = rego
	return s
}

func TestUnparseableImageIsDeniedAlone(t *testing.T) {
	w := newWorld(t)
	e := engine(t, policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("a", spec(w.any, keyAuth("a", w.keyA)))}})
	d := decide(t, e, "team", w.byA, "Not::A/Reference")
	if d.Allowed || !d.Images[0].Allowed || d.Images[1].Allowed {
		t.Fatalf("decision %+v: want the good image allowed and the bad one denied", d)
	}
	if !strings.Contains(d.Denials()[0], `container "c1": image Not::A/Reference: invalid image reference`) {
		t.Fatalf("denial %q", d.Denials()[0])
	}
}

// TestConcurrentDecisions shares one Engine between many requests with overlapping images, as
// the webhook does; run with -race (make test does) it guards the Engine's concurrency.
func TestConcurrentDecisions(t *testing.T) {
	w := newWorld(t)
	e := engine(t, policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("a", spec(w.any, keyAuth("a", w.keyA)))}})
	images := []string{w.byA, w.byB, w.byBoth, w.unsigned, w.byA}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := decide(t, e, "team", images[i%3:]...)
			for _, im := range d.Images {
				if want := im.Image == w.byA || im.Image == w.byBoth; im.Allowed != want {
					t.Errorf("%s allowed = %v", im.Image, im.Allowed)
				}
			}
		}()
	}
	wg.Wait()
}

// TestTooManyImages: an object naming more distinct images than the limit is denied whole,
// with the limit and the count, before any registry is asked; the same image many times counts
// once.
func TestTooManyImages(t *testing.T) {
	w := newWorld(t)
	e := engine(t, policy.Sources{}, policy.WithNoMatch(policy.NoMatchAllow), policy.WithMaxImages(3))
	var many []string
	for i := 0; i < 4; i++ {
		many = append(many, fmt.Sprintf("%s/unreachable/app:%d", w.reg.Host, i))
	}
	d := decide(t, e, "team", many...)
	if d.Allowed || len(d.Images) != 4 || d.Images[3].Digest != "" || !strings.Contains(strings.Join(d.Denials(), "\n"), "names 4 distinct images, over the limit of 3 per admission (--max-images)") {
		t.Fatalf("allowed %v, denials %q", d.Allowed, d.Denials())
	}
	if d := decide(t, e, "team", w.unsigned, w.unsigned, w.unsigned, w.unsigned); !d.Allowed {
		t.Fatalf("one image four times: denials %q", d.Denials())
	}
	if _, err := policy.NewEngine(nil, nil, policy.WithMaxImages(0)); err == nil {
		t.Fatal("a limit of 0 images was accepted")
	}
}

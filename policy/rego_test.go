package policy_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/workload"
)

// TestRegoInput shows policy-level rules exactly the input document docs/design.md defines.
func TestRegoInput(t *testing.T) {
	w := newWorld(t)
	d := w.reg.PushRandom(t, "team/attested:1.2")
	w.keyA.SignLegacy(t, d)
	w.keyA.AttestBundle(t, d, provenance, sigtest.Statement(t, d, provenance, map[string]any{"buildType": "https://slsa-framework/x"}))
	rego := `package portcullis
deny contains msg if {
	msg := json.marshal({"keys": object.keys(input), "image": input.image, "signatures": input.signatures,
		"attestations": input.attestations, "namespace": input.namespace, "operation": input.operation,
		"userInfo": input.userInfo, "kind": input.object.kind})
}`
	s := spec(w.any, keyAuth("sig", w.keyA), keyAuth("prov", w.keyA, v1alpha1.Attestation{Name: "p", PredicateType: "slsaprovenance1"}))
	s.Threshold = ptr(int32(2))
	s.Rego = rego
	e := engine(t, policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("p", s)}})
	// Written with a leading zero in the port: Rego sees the image as written and canonical.
	host, port, _ := strings.Cut(w.reg.Host, ":")
	written := host + ":0" + port
	ref := written + "/team/attested:1.2"
	dec := e.Decide(context.Background(), &policy.Request{
		Namespace: "team-a", Operation: "CREATE",
		Object:   map[string]any{"kind": "Pod", "spec": map[string]any{}},
		UserInfo: policy.UserInfo{Username: "alice", Groups: []string{"dev"}},
		Images:   []workload.Image{{Source: `container "app"`, Image: ref}},
	})
	reasons := dec.Images[0].Policies[0].Reasons
	if len(reasons) != 1 {
		t.Fatalf("reasons = %q", reasons)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(reasons[0]), &got); err != nil {
		t.Fatalf("%v: %s", err, reasons[0])
	}
	keyID := keyIDOf(t, w.keyA)
	want := map[string]any{
		"keys": []any{"attestations", "image", "namespace", "object", "operation", "signatures", "userInfo"},
		"image": map[string]any{"reference": ref, "canonical": w.reg.Host + "/team/attested:1.2", "registry": w.reg.Host, "repository": "team/attested",
			"tag": "1.2", "digest": d.DigestStr(), "written": map[string]any{"registry": written, "repository": "team/attested"}},
		"signatures": []any{map[string]any{"authority": "sig", "subject": "", "issuer": "", "keyId": keyID}},
		"attestations": map[string]any{provenance: []any{map[string]any{"authority": "prov",
			"predicate": map[string]any{"buildType": "https://slsa-framework/x"}}}},
		"namespace": "team-a", "operation": "CREATE",
		"userInfo": map[string]any{"username": "alice", "groups": []any{"dev"}},
		"kind":     "Pod",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Rego input (-want +got):\n%s", diff)
	}
}

func TestPolicyRego(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name     string
		rego     string
		allowed  bool
		reason   string
		warnings int
	}{
		{"deny", "package portcullis\ndeny contains msg if { input.image.repository == \"team/a\"; msg := \"no team/a\" }", false, "policy p: no team/a", 0},
		{"no deny", "package portcullis\ndeny contains msg if { input.image.registry == \"index.docker.io\"; msg := \"no Docker Hub\" }", true, "", 0},
		{"warn", "package portcullis\nwarn contains msg if { true; msg := \"be careful\" }", true, "", 1},
		{"evaluation error denies", "package portcullis\ndeny contains msg if { x := to_number(\"nan-x\"); x > 1; msg := \"x\" }", false, "evaluating Rego", 0},
		{"deny that is not a set", "package portcullis\ndeny := true", false, "must be a set of messages", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := engine(t, policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("p", withRego(spec(w.any, keyAuth("a", w.keyA)), tt.rego))}})
			if err := e.Policies().Policies()[0].Err; err != nil {
				t.Fatalf("compile: %v", err)
			}
			d := decide(t, e, "team", w.byA)
			if d.Allowed != tt.allowed || len(d.Warnings()) != tt.warnings || !strings.Contains(strings.Join(d.Denials(), "\n"), tt.reason) {
				t.Fatalf("allowed %v, denials %q, warnings %q", d.Allowed, d.Denials(), d.Warnings())
			}
		})
	}
}

func TestRegoCompileErrors(t *testing.T) {
	for _, tt := range []struct{ rego, want string }{
		{"package other\ndeny contains 1 if true", "must be package portcullis"},
		{"package portcullis\nallow if true", "defines neither deny nor warn"},
		{"package portcullis\ndeny contains msg if { msg := http.send({\"method\": \"GET\", \"url\": \"http://x\"}) }", "http.send"},
		{"package portcullis\ndeny[msg] { msg := 1 }", "parsing Rego"}, // Rego v0 syntax
		{"package portcullis\ndeny contains msg if { msg := undefined_fn(1) }", "undefined function"},
	} {
		set := policy.Compile(policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("p", withRego(spec("**", static("s", v1alpha1.StaticPass)), tt.rego))}})
		if err := set.Policies()[0].Err; err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Rego %q: compile error %v, want %q", tt.rego, err, tt.want)
		}
	}
}

func TestAttestations(t *testing.T) {
	w := newWorld(t)
	good := w.reg.PushRandom(t, "team/good:1")
	w.keyA.AttestLegacy(t, good, sigtest.Statement(t, good, provenance, map[string]any{"buildType": "https://slsa-framework/github"}))
	bad := w.reg.PushRandom(t, "team/bad:1")
	w.keyA.AttestBundle(t, bad, provenance, sigtest.Statement(t, bad, provenance, map[string]any{"buildType": "https://example.com/laptop"}))
	byOther := w.reg.PushRandom(t, "team/other:1")
	w.keyB.AttestBundle(t, byOther, provenance, sigtest.Statement(t, byOther, provenance, map[string]any{"buildType": "https://slsa-framework/github"}))
	rego := `package portcullis
deny contains msg if { not startswith(input.predicate.buildType, "https://slsa-framework"); msg := sprintf("unexpected build type %s", [input.predicate.buildType]) }
deny contains msg if { input.predicateType != "https://slsa.dev/provenance/v1"; msg := "wrong type" }
deny contains msg if { not startswith(input.image.digest, "sha256:"); msg := "no digest" }`
	e := engine(t, policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("prov", spec(w.any,
		keyAuth("a", w.keyA, v1alpha1.Attestation{Name: "provenance", PredicateType: "slsaprovenance1", Rego: rego})))}})
	for _, tt := range []struct {
		image   string
		allowed bool
		reason  string
	}{
		{w.reg.Host + "/team/good:1", true, ""}, // attested, and never signed: the attestation alone satisfies the authority
		{w.reg.Host + "/team/bad:1", false, "attestation provenance (https://slsa.dev/provenance/v1) denied by its rules: unexpected build type https://example.com/laptop"},
		{w.reg.Host + "/team/other:1", false, "no https://slsa.dev/provenance/v1 attestation verified by key a (1 attestation found, none matched"},
		{w.byA, false, "no https://slsa.dev/provenance/v1 attestation verified by key a (no attestations found)"},
	} {
		d := decide(t, e, "team", tt.image)
		if d.Allowed != tt.allowed || !strings.Contains(strings.Join(d.Denials(), "\n"), tt.reason) {
			t.Errorf("%s: allowed %v, denials %q; want %v, %q", tt.image, d.Allowed, d.Denials(), tt.allowed, tt.reason)
		}
	}
}

const provenance = "https://slsa.dev/provenance/v1"

func ptr[T any](v T) *T { return &v }

// TestHostileRegoStaysInItsNamespace shows a tenant's ImagePolicy whose Rego would exhaust
// memory denies its own namespace's image with the bound that stopped it, while an admission
// in another namespace, decided at the same time, is answered as before.
func TestHostileRegoStaysInItsNamespace(t *testing.T) {
	w := newWorld(t)
	bomb := `package portcullis
deny contains "never" if {
	xs := [[i, j, k] | some i in numbers.range(0, 99999); some j in numbers.range(0, 99999); some k in numbers.range(0, 99999)]
	count(xs) < 0
}`
	e := engine(t, policy.Sources{
		ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("signed", spec(w.any, keyAuth("a", w.keyA)))},
		Policies:        []v1alpha1.ImagePolicy{nsPolicy("hostile", "bomb", withRego(spec(w.any, keyAuth("a", w.keyA)), bomb))},
	})
	var hostile *policy.Decision
	done := make(chan struct{})
	go func() {
		defer close(done)
		hostile = decide(t, e, "hostile", w.byA)
	}()
	other := decide(t, e, "team", w.byA)
	<-done
	if !other.Allowed {
		t.Errorf("namespace team: denied %q while the hostile policy ran", other.Denials())
	}
	if got := strings.Join(hostile.Denials(), "\n"); hostile.Allowed || !strings.Contains(got, "policy hostile/bomb: evaluating Rego: stopped: ") {
		t.Errorf("namespace hostile: allowed %v, denials %q; want the bound that stopped the policy", hostile.Allowed, got)
	}
}

package policy_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
)

// regoOf is a module of about n bytes, distinct by tag, that denies nothing.
func regoOf(tag string, n int) string {
	head := fmt.Sprintf("package portcullis\n\ndeny contains %q if { false }\n", tag)
	return head + "# " + strings.Repeat("x", max(n-len(head)-3, 0)) + "\n"
}

func regoPolicy(ns, name string, age int, rego string, k *sigtest.Key) v1alpha1.ImagePolicy {
	p := nsPolicy(ns, name, spec("**", keyAuth("k", k)))
	p.Spec.Rego = rego
	p.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, age, 0, 0, time.UTC))
	return p
}

// TestRegoBudget: a tenant cannot make the process hold more compiled Rego than the limits
// allow. What is over a limit is refused before it is parsed, the refusal names the limit, and
// the policies that were there first keep their Rego.
func TestRegoBudget(t *testing.T) {
	k := sigtest.NewKey(t)
	limits := policy.RegoLimits{PerPolicy: 10 << 10, PerNamespace: 16 << 10, Total: 40 << 10}
	cluster := cip("base", spec("**", keyAuth("k", k)))
	cluster.Spec.Rego = regoOf("cluster", 8<<10)
	cluster.CreationTimestamp = metav1.NewTime(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) // newer than every ImagePolicy: still first
	big := regoPolicy("a", "big", 1, "package portcullis\n!! not Rego, and never parsed "+strings.Repeat("x", 11<<10), k)
	withAtt := regoPolicy("a", "attestation", 2, regoOf("a1", 6<<10), k)
	withAtt.Spec.Authorities[0].Attestations = []v1alpha1.Attestation{{Name: "sbom", PredicateType: "https://spdx.dev/Document", Rego: regoOf("a1-att", 6<<10)}}
	src := policy.Sources{
		ClusterPolicies: []v1alpha1.ClusterImagePolicy{cluster},
		Policies: []v1alpha1.ImagePolicy{
			// Listed newest first: the budget goes by age, not by listing order or name.
			regoPolicy("a", "zz-newest", 9, regoOf("a3", 9<<10), k), // a: 9 + 9 > 16
			big,     // over the per-policy limit on its own
			withAtt, // its module and its attestation's together: 12 KiB, over 10
			regoPolicy("a", "b-older", 3, regoOf("a2", 9<<10), k),
			regoPolicy("a", "same-as-b", 4, regoOf("a2", 9<<10), k), // the same module counts once
			regoPolicy("b", "copy-of-a", 5, regoOf("a2", 9<<10), k), // and once in the total
			regoPolicy("b", "own", 6, regoOf("b1", 6<<10), k),       // b: 9 + 6 <= 16
			regoPolicy("c", "own", 7, regoOf("c1", 9<<10), k),       // in all: 8 + 9 + 6 + 9 = 32
			regoPolicy("d", "own", 8, regoOf("d1", 9<<10), k),       // 32 + 9 > 40
			regoPolicy("e", "plain", 10, "", k),
		},
		RegoLimits: limits,
	}
	want := map[string]string{
		"/base":         "",
		"a/big":         "its Rego is 11",
		"a/attestation": "its Rego is 12288 bytes, over the limit of 10240 per policy",
		"a/b-older":     "",
		"a/same-as-b":   "",
		"a/zz-newest":   "the ImagePolicies of namespace a would carry 18432 bytes of Rego, over the limit of 16384 per namespace",
		"b/copy-of-a":   "",
		"b/own":         "",
		"c/own":         "",
		"d/own":         "would carry 41984 bytes of Rego in all, over the limit of 40960 (--max-rego-total-bytes)",
		"e/plain":       "",
	}
	got := map[string]*policy.Policy{}
	for _, p := range policy.Compile(src).Policies() {
		got[p.Namespace+"/"+p.Name] = p
	}
	for id, w := range want {
		p := got[id]
		if p == nil {
			t.Fatalf("%s was not compiled", id)
		}
		switch {
		case w == "" && p.Err != nil:
			t.Errorf("%s: refused: %v", id, p.Err)
		case w != "" && (p.Err == nil || !strings.Contains(p.Err.Error(), w)):
			t.Errorf("%s: error %v, want one containing %q", id, p.Err, w)
		case w != "" && strings.Contains(p.Err.Error(), "parsing Rego"):
			t.Errorf("%s: its Rego was parsed although refused: %v", id, p.Err)
		}
	}
}

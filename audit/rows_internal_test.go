package audit

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	reports "github.com/portcullis-dev/portcullis/api/reports/v1alpha2"
	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/cluster"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/verify"
)

// TestRowsWithoutAPIServer judges pods as a scan does (judge, then rows), with the real Engine
// against go-containerregistry's registry and no API server: each row's result is the outcome
// the engine gave, for every mode, noMatch and a pod spec that cannot be read.
func TestRowsWithoutAPIServer(t *testing.T) {
	reg := sigtest.NewRegistry(t, true)
	key := sigtest.NewKey(t)
	signed := reg.PushRandom(t, "team/app:1")
	key.SignLegacy(t, signed)
	reg.PushRandom(t, "team/unsigned:1")
	reg.PushRandom(t, "advisory/unsigned:1")
	reg.PushRandom(t, "watched/unsigned:1")
	auth := v1alpha1.Authority{Name: "a", Key: &v1alpha1.KeyAuthority{Data: string(key.PEM)}}
	cip := func(name, glob string, mode v1alpha1.Mode) v1alpha1.ClusterImagePolicy {
		return v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.ImagePolicySpec{Images: []v1alpha1.ImagePattern{{Glob: glob}}, Mode: mode, Authorities: []v1alpha1.Authority{auth}}}
	}
	set := policy.Compile(policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{
		cip("release", reg.Host+"/team/**", v1alpha1.ModeEnforce),
		cip("advisory", reg.Host+"/advisory/**", v1alpha1.ModeWarn),
		cip("watched", reg.Host+"/watched/**", v1alpha1.ModeAudit),
	}})
	vc, err := verify.New()
	if err != nil {
		t.Fatal(err)
	}
	podOf := func(name string, containers any) cluster.Pod {
		return cluster.Pod{Namespace: "team", Name: name, UID: name,
			Object: map[string]any{"kind": "Pod", "metadata": map[string]any{"name": name}, "spec": map[string]any{"containers": containers}}}
	}
	containers := func(images ...string) []any {
		var out []any
		for i, im := range images {
			out = append(out, map[string]any{"name": string(rune('a' + i)), "image": im})
		}
		return out
	}
	for _, tt := range []struct {
		name    string
		noMatch policy.NoMatch
		pod     cluster.Pod
		want    []string // policy=result: description part, one per row
	}{
		{"enforce pass and fail", policy.NoMatchWarn, podOf("p1", containers(reg.Host+"/team/app:1", reg.Host+"/team/unsigned:1")),
			[]string{"release=pass: verified", "release=fail: no signature verified by key a"}},
		{"warn-mode failure is a warning", policy.NoMatchWarn, podOf("p2", containers(reg.Host+"/advisory/unsigned:1")),
			[]string{"advisory=warn: no signature verified"}},
		{"audit-mode failure is a failure", policy.NoMatchWarn, podOf("p3", containers(reg.Host+"/watched/unsigned:1")),
			[]string{"watched=fail: no signature verified"}},
		{"uncovered under warn", policy.NoMatchWarn, podOf("p4", containers("registry.example.com/x@sha256:"+strings.Repeat("b", 64))),
			[]string{NoMatchPolicy + "=warn: no ClusterImagePolicy covers this image (noMatch: warn)"}},
		{"uncovered under allow", policy.NoMatchAllow, podOf("p5", containers("registry.example.com/x@sha256:"+strings.Repeat("b", 64))),
			[]string{NoMatchPolicy + "=skip: no ClusterImagePolicy covers this image (noMatch: allow)"}},
		{"uncovered under deny", policy.NoMatchDeny, podOf("p6", containers("registry.example.com/x@sha256:"+strings.Repeat("b", 64))),
			[]string{NoMatchPolicy + "=fail: no ClusterImagePolicy covers this image (noMatch: deny)"}},
		{"unparseable reference", policy.NoMatchWarn, podOf("p7", containers("UPPER/Case:x")),
			[]string{NoMatchPolicy + "=error: "}},
		{"pod spec that cannot be read", policy.NoMatchWarn, podOf("p8", "not a list"),
			[]string{NoMatchPolicy + "=error: the images cannot be read from the pod spec"}},
		{"pod without images", policy.NoMatchWarn, podOf("p9", containers()), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := policy.NewEngine(vc, set, policy.WithNoMatch(tt.noMatch))
			if err != nil {
				t.Fatal(err)
			}
			a := &Auditor{Engine: e}
			decs := a.judge(context.Background(), []cluster.Pod{tt.pod})
			got := rows(tt.pod, decs[0], metav1.Timestamp{})
			if len(got) != len(tt.want) {
				t.Fatalf("%d rows %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				pol, rest, _ := strings.Cut(w, "=")
				result, desc, _ := strings.Cut(rest, ": ")
				r := got[i]
				if r.Policy != pol || r.Result != reports.PolicyResult(result) || !strings.Contains(r.Description, desc) {
					t.Errorf("row %d: %s=%s: %q; want %s", i, r.Policy, r.Result, r.Description, w)
				}
			}
		})
	}
}

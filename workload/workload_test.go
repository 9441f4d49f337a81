package workload

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestImages(t *testing.T) {
	spec := map[string]any{
		"initContainers":      []any{map[string]any{"name": "init", "image": "i"}},
		"containers":          []any{map[string]any{"name": "app", "image": "a"}, map[string]any{"name": "side", "image": "s"}},
		"ephemeralContainers": []any{map[string]any{"name": "dbg", "image": "e"}},
		"volumes":             []any{map[string]any{"name": "data", "image": map[string]any{"reference": "v"}}, map[string]any{"name": "tmp", "emptyDir": map[string]any{}}},
	}
	pod := map[string]any{"kind": "Pod", "spec": spec}
	got, err := Images(pod)
	if err != nil {
		t.Fatal(err)
	}
	want := []Image{
		{`initContainer "init"`, []string{"spec", "initContainers", "0", "image"}, "i"},
		{`container "app"`, []string{"spec", "containers", "0", "image"}, "a"},
		{`container "side"`, []string{"spec", "containers", "1", "image"}, "s"},
		{`ephemeralContainer "dbg"`, []string{"spec", "ephemeralContainers", "0", "image"}, "e"},
		{`volume "data"`, []string{"spec", "volumes", "0", "image", "reference"}, "v"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Images (-want +got):\n%s", diff)
	}
	if p := got[4].Pointer(); p != "/spec/volumes/0/image/reference" {
		t.Fatalf("Pointer = %s", p)
	}
	cron := map[string]any{"kind": "CronJob", "spec": map[string]any{"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": spec}}}}}
	got, err = Images(cron)
	if err != nil || len(got) != 5 || got[0].Pointer() != "/spec/jobTemplate/spec/template/spec/initContainers/0/image" {
		t.Fatalf("CronJob images %v, %v", got, err)
	}
	for _, k := range Kinds() {
		if !HasPodSpec(k) {
			t.Errorf("%s has no pod spec path", k)
		}
	}
}

func TestImagesRejectsMalformedSpecs(t *testing.T) {
	for _, tt := range []struct {
		obj  map[string]any
		want string
	}{
		{map[string]any{"kind": "Pod", "spec": map[string]any{"containers": "x"}}, "spec.containers is not a list"},
		{map[string]any{"kind": "Pod", "spec": map[string]any{"containers": []any{map[string]any{"image": 3}}}}, "spec.containers[0].image is not a string"},
		{map[string]any{"kind": "Deployment", "spec": map[string]any{"template": "x"}}, "spec.template is not an object"},
		{map[string]any{"kind": "ConfigMap"}, "kind ConfigMap: kind carries no pod spec"},
		{map[string]any{}, "object without a kind"},
	} {
		if _, err := Images(tt.obj); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Images(%v) = %v, want %q", tt.obj, err, tt.want)
		}
	}
}

func TestPullCredentials(t *testing.T) {
	dep := map[string]any{"kind": "Deployment", "spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"serviceAccountName": "builder", "imagePullSecrets": []any{map[string]any{"name": "regcred"}, map[string]any{"name": "other"}}}}}}
	sa, secrets := PullCredentials(dep)
	if sa != "builder" || strings.Join(secrets, ",") != "regcred,other" {
		t.Fatalf("PullCredentials = %s, %v", sa, secrets)
	}
	if sa, secrets := PullCredentials(map[string]any{"kind": "Pod", "spec": map[string]any{}}); sa != "default" || secrets != nil {
		t.Fatalf("defaults = %s, %v", sa, secrets)
	}
}

func TestSameImages(t *testing.T) {
	a := []Image{{Source: "c", Path: []string{"spec", "containers", "0", "image"}, Image: "x"}}
	b := []Image{{Source: "c", Path: []string{"spec", "containers", "0", "image"}, Image: "x"}}
	if !SameImages(a, b) {
		t.Fatal("same images reported different")
	}
	b[0].Image = "y"
	if SameImages(a, b) {
		t.Fatal("a changed image reported the same")
	}
	if SameImages(a, append(b, b[0])) {
		t.Fatal("an added image reported the same")
	}
}

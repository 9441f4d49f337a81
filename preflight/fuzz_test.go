package preflight

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/workload"
)

// FuzzParseFile: no input file crashes the manifest reader.
func FuzzParseFile(f *testing.F) {
	for _, s := range []string{"kind: Pod\nspec: {}\n", "---\n---\n", `{"kind": "List", "items": [{"kind": "Pod"}]}`, "- a\n", "kind: [\n", "kind: FooList\nitems: 3\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		file, err := parseFile("fuzz.yaml", text)
		if err != nil {
			return
		}
		for _, o := range file.Objects {
			if o.Kind() == "" {
				t.Fatal("an object without a kind was accepted")
			}
		}
	})
}

// FuzzPin: pinning any manifest either refuses with a reason or writes text that parses to the
// same objects, with each image it pinned written as image@digest and nothing else changed.
func FuzzPin(f *testing.F) {
	for _, s := range []string{
		"kind: Pod\nspec:\n  containers:\n  - name: a\n    image: nginx:1\n",
		"kind: Pod\nspec:\n  containers:\n  - {name: a, image: \"reg.io/a:1\"}\n  initContainers:\n  - name: b\n    image: 'reg.io/b'\n",
		"kind: List\nitems:\n- kind: Pod\n  spec: {containers: [{name: a, image: x}]}\n---\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: >-\n          folded\n",
		`{"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "a:1"}]}}`,
	} {
		f.Add([]byte(s))
	}
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	f.Fuzz(func(t *testing.T, text []byte) {
		file, err := parseFile("fuzz.yaml", text)
		if err != nil {
			return
		}
		var edits []edit
		want := map[string]int{}
		for _, o := range file.Objects {
			imgs, err := workload.Images(o.Object)
			if err != nil {
				return
			}
			dec := &policy.Decision{}
			for _, im := range imgs {
				dec.Images = append(dec.Images, policy.ImageDecision{Image: im.Image, Digest: digest, Pin: true})
			}
			if edits, err = appendPins(edits, o, imgs, dec); err != nil {
				return // refused, with a reason: nothing is written
			}
		}
		out := apply(file.Text, edits)
		again, err := parseFile("fuzz.yaml", out)
		if err != nil {
			t.Fatalf("pinned text does not parse: %v\n%s", err, out)
		}
		if len(again.Objects) != len(file.Objects) {
			t.Fatalf("pinning changed the objects: %d, then %d", len(file.Objects), len(again.Objects))
		}
		for i, o := range again.Objects {
			before, _ := workload.Images(file.Objects[i].Object)
			after, err := workload.Images(o.Object)
			if err != nil || len(after) != len(before) {
				t.Fatalf("object %d's images changed shape: %v, %v", i, before, err)
			}
			for j := range after {
				if w := before[j].Image; after[j].Image != w && (strings.Contains(w, "@") || after[j].Image != w+"@"+digest) {
					t.Fatalf("image %q became %q", w, after[j].Image)
				}
				want[after[j].Image]++
			}
			for _, im := range before {
				setImage(file.Objects[i].Object, im.Path, "")
			}
			for _, im := range after {
				setImage(o.Object, im.Path, "")
			}
			if !reflect.DeepEqual(file.Objects[i].Object, o.Object) {
				t.Fatalf("pinning changed more than images:\n%v\n%v", file.Objects[i].Object, o.Object)
			}
		}
	})
}

// setImage sets the scalar at path in obj, to compare objects without their images.
func setImage(obj any, path []string, v string) {
	for i, p := range path {
		last := i == len(path)-1
		switch n := obj.(type) {
		case map[string]any:
			if last {
				n[p] = v
				return
			}
			obj = n[p]
		case []any:
			k, err := strconv.Atoi(p)
			if err != nil || k >= len(n) {
				return
			}
			if last {
				n[k] = v
				return
			}
			obj = n[k]
		default:
			return
		}
	}
}

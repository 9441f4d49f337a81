package preflight

import "testing"

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

package workload

import (
	"encoding/json"
	"testing"
)

// FuzzImages: no decoded object, however malformed, crashes the image finder.
func FuzzImages(f *testing.F) {
	for _, s := range []string{
		`{"kind":"Pod","spec":{"containers":[{"name":"a","image":"x"}]}}`,
		`{"kind":"CronJob","spec":{"jobTemplate":{"spec":{"template":{"spec":{"volumes":[{"name":"v","image":{"reference":"y"}}]}}}}}}`,
		`{"kind":"Deployment","spec":{"template":{"spec":{"containers":"no"}}}}`,
		`{"kind":"Pod","spec":{"containers":[{"image":5}]}}`,
		`{"kind":"Pod","spec":[]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var obj map[string]any
		if json.Unmarshal([]byte(doc), &obj) != nil {
			return
		}
		imgs, err := Images(obj)
		if err != nil {
			return
		}
		for _, im := range imgs {
			if len(im.Path) == 0 || im.Source == "" {
				t.Fatalf("image %+v has no path or source", im)
			}
		}
	})
}

package workload

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNoPodSpec is returned for a kind that carries no pod spec.
var ErrNoPodSpec = errors.New("kind carries no pod spec")

// specPaths is where each kind keeps its pod spec.
var specPaths = map[string][]string{
	"Pod":                   {"spec"},
	"Deployment":            {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// Kinds returns the kinds that carry a pod spec.
func Kinds() []string {
	return []string{"Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicationController"}
}

// HasPodSpec reports whether kind carries a pod spec.
func HasPodSpec(kind string) bool { _, ok := specPaths[kind]; return ok }

// Image is one image reference in an object.
type Image struct {
	// Source says where it is used, as messages name it: container "api", volume "data".
	Source string
	// Path is the path of the image field, from the object's root.
	Path []string
	// Image is the reference as written.
	Image string
}

// pointerEscaper escapes a JSON pointer segment (RFC 6901).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// Pointer returns Path as a JSON pointer (RFC 6901), for a JSONPatch.
func (i Image) Pointer() string {
	var b strings.Builder
	for _, p := range i.Path {
		b.WriteByte('/')
		b.WriteString(pointerEscaper.Replace(p))
	}
	return b.String()
}

// lists are the pod spec fields holding containers, in the order messages list them.
var lists = []struct{ field, label string }{
	{"initContainers", "initContainer"},
	{"containers", "container"},
	{"ephemeralContainers", "ephemeralContainer"},
}

// Images returns every image of obj (a decoded Kubernetes object), or ErrNoPodSpec for a kind
// without one. A field of the wrong type is an error that names it; a kind with no pod spec set
// yet has no images.
func Images(obj map[string]any) ([]Image, error) {
	kind, _ := obj["kind"].(string)
	path, ok := specPaths[kind]
	if !ok {
		return nil, fmt.Errorf("%s: %w", kindName(kind), ErrNoPodSpec)
	}
	spec, err := walk(obj, path)
	if err != nil || spec == nil {
		return nil, err
	}
	var out []Image
	for _, l := range lists {
		items, err := listAt(spec, path, l.field)
		if err != nil {
			return nil, err
		}
		for i, c := range items {
			at := append(append([]string(nil), path...), l.field, strconv.Itoa(i))
			img, name, err := imageOf(c, at, "image")
			if err != nil {
				return nil, err
			}
			out = append(out, Image{Source: fmt.Sprintf("%s %q", l.label, name), Path: append(at, "image"), Image: img})
		}
	}
	vols, err := listAt(spec, path, "volumes")
	if err != nil {
		return nil, err
	}
	for i, v := range vols {
		at := append(append([]string(nil), path...), "volumes", strconv.Itoa(i))
		vm, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an object", dotted(at))
		}
		iv, present := vm["image"]
		if !present || iv == nil {
			continue
		}
		img, _, err := imageOf(iv, append(at, "image"), "reference")
		if err != nil {
			return nil, err
		}
		name, _ := vm["name"].(string)
		out = append(out, Image{Source: fmt.Sprintf("volume %q", name), Path: append(at, "image", "reference"), Image: img})
	}
	return out, nil
}

func kindName(kind string) string {
	if kind == "" {
		return "object without a kind"
	}
	return "kind " + kind
}

// walk follows path through nested objects; a missing field gives nil.
func walk(obj map[string]any, path []string) (map[string]any, error) {
	cur := obj
	for i, p := range path {
		v, ok := cur[p]
		if !ok || v == nil {
			return nil, nil
		}
		if cur, ok = v.(map[string]any); !ok {
			return nil, fmt.Errorf("%s is not an object", dotted(path[:i+1]))
		}
	}
	return cur, nil
}

func listAt(spec map[string]any, path []string, field string) ([]any, error) {
	v, ok := spec[field]
	if !ok || v == nil {
		return nil, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s.%s is not a list", dotted(path), field)
	}
	return items, nil
}

// imageOf reads the string field of an object at path, with the object's name.
func imageOf(v any, path []string, field string) (image, name string, err error) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", "", fmt.Errorf("%s is not an object", dotted(path))
	}
	name, _ = m["name"].(string)
	raw, present := m[field]
	image, ok = raw.(string)
	if present && raw != nil && !ok {
		return "", "", fmt.Errorf("%s.%s is not a string", dotted(path), field)
	}
	return image, name, nil
}

func dotted(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

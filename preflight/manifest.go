package preflight

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// File is one input file (or stdin, named "-") and the objects read from it.
type File struct {
	Path    string
	Text    []byte
	Objects []*Object
}

// Object is one Kubernetes object of a File, with its YAML node for pinning.
type Object struct {
	File   *File
	Line   int
	Object map[string]any
	node   *yaml.Node
}

// Kind returns the object's kind.
func (o *Object) Kind() string { k, _ := o.Object["kind"].(string); return k }

// Name returns kind/namespace/name, or kind/name, as messages name the object.
func (o *Object) Name() string {
	md, _ := o.Object["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	if ns, _ := md["namespace"].(string); ns != "" {
		name = ns + "/" + name
	}
	return o.Kind() + "/" + name
}

// Namespace returns metadata.namespace, or def when it is unset.
func (o *Object) Namespace(def string) string {
	md, _ := o.Object["metadata"].(map[string]any)
	if ns, _ := md["namespace"].(string); ns != "" {
		return ns
	}
	return def
}

// readFiles reads every path: a file, a directory (its .yaml, .yml and .json files, recursively,
// in name order) or "-" for stdin.
func readFiles(paths []string, stdin io.Reader) ([]*File, error) {
	var out []*File
	for _, p := range paths {
		if p == "-" {
			text, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("reading stdin: %w", err)
			}
			f, err := parseFile("-", text)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
			continue
		}
		names, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			text, err := os.ReadFile(n)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", n, unwrapPath(err))
			}
			f, err := parseFile(n, text)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func expand(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, unwrapPath(err))
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var names []string
	err = filepath.WalkDir(p, func(n string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(n)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				names = append(names, n)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading directory %s: %w", p, unwrapPath(err))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("directory %s holds no .yaml, .yml or .json files", p)
	}
	sort.Strings(names)
	return names, nil
}

// unwrapPath drops the *fs.PathError wrapper, whose path the caller already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseFile reads every YAML (or JSON) document of text, expanding Lists into their items.
func parseFile(path string, text []byte) (*File, error) {
	f := &File{Path: path, Text: text}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	for n := 1; ; n++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d is not valid YAML or JSON: %w", path, n, err)
		}
		if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
			continue // an empty document, as between two ---
		}
		if err := f.add(doc.Content[0], fmt.Sprintf("document %d", n)); err != nil {
			return nil, err
		}
	}
}

func (f *File) add(node *yaml.Node, where string) error {
	if node.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: %s is not an object", f.Path, node.Line, where)
	}
	var obj map[string]any
	if err := node.Decode(&obj); err != nil {
		return fmt.Errorf("%s:%d: %s: %w", f.Path, node.Line, where, err)
	}
	kind, _ := obj["kind"].(string)
	if kind == "" {
		return fmt.Errorf("%s:%d: %s has no kind", f.Path, node.Line, where)
	}
	if strings.HasSuffix(kind, "List") {
		items := child(node, "items")
		if items == nil || items.Kind != yaml.SequenceNode {
			return nil // an empty List
		}
		for i, it := range items.Content {
			if err := f.add(it, fmt.Sprintf("%s item %d", where, i)); err != nil {
				return err
			}
		}
		return nil
	}
	f.Objects = append(f.Objects, &Object{File: f, Line: node.Line, Object: obj, node: node})
	return nil
}

// child returns the value node of key in a mapping node, or nil.
func child(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

package preflight

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"

	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/workload"

	yaml "go.yaml.in/yaml/v3"
)

// edit replaces one scalar of a file's text: the image at a node, with its quoting kept.
type edit struct {
	offset int
	old    string
	new    string
}

// node returns the node at path under the object's node.
func (o *Object) nodeAt(path []string) *yaml.Node {
	n := o.node
	for _, p := range path {
		switch n.Kind {
		case yaml.MappingNode:
			n = child(n, p)
		case yaml.SequenceNode:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		default:
			return nil
		}
		if n == nil {
			return nil
		}
	}
	return n
}

// pinEdit returns the edit that rewrites the image scalar at path to pinned.
func (o *Object) pinEdit(path []string, pinned string) (edit, error) {
	n := o.nodeAt(path)
	if n == nil || n.Kind != yaml.ScalarNode {
		return edit{}, fmt.Errorf("%s:%d: no image scalar at %v", o.File.Path, o.Line, path)
	}
	off := offsetOf(o.File.Text, n.Line, n.Column)
	var old, repl string
	switch n.Style {
	case 0:
		old, repl = n.Value, pinned
	case yaml.DoubleQuotedStyle:
		old, repl = strconv.Quote(n.Value), strconv.Quote(pinned)
	case yaml.SingleQuotedStyle:
		old, repl = "'"+n.Value+"'", "'"+pinned+"'"
	}
	if off < 0 || old == "" || !bytes.HasPrefix(o.File.Text[off:], []byte(old)) {
		return edit{}, fmt.Errorf("%s:%d: cannot pin image %q: write it as a plain or quoted scalar on one line", o.File.Path, n.Line, n.Value)
	}
	return edit{offset: off, old: old, new: repl}, nil
}

// offsetOf returns the byte offset of a 1-based line and column, or -1.
func offsetOf(text []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(text[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	off += col - 1
	if off > len(text) {
		return -1
	}
	return off
}

// apply returns text with every edit made.
func apply(text []byte, edits []edit) []byte {
	sort.Slice(edits, func(i, j int) bool { return edits[i].offset > edits[j].offset })
	out := append([]byte(nil), text...)
	last := -1
	for _, e := range edits {
		if e.offset == last {
			continue // the same scalar, reached through two objects of one List
		}
		last = e.offset
		out = append(out[:e.offset], append([]byte(e.new), out[e.offset+len(e.old):]...)...)
	}
	return out
}

// appendPins adds the edits that pin each resolved image of obj.
func appendPins(edits []edit, obj *Object, imgs []workload.Image, dec *policy.Decision) ([]edit, error) {
	for i, im := range imgs {
		pinned := dec.Images[i].Pinned()
		if pinned == "" {
			continue
		}
		e, err := obj.pinEdit(im.Path, pinned)
		if err != nil {
			return nil, badInput{err}
		}
		edits = append(edits, e)
	}
	return edits, nil
}

// writePins writes each pinned file back in place, and stdin's to stdout.
func (o *Options) writePins(pins map[*File][]edit) error {
	for f, edits := range pins {
		out := apply(f.Text, edits)
		if f.Path == "-" {
			if _, err := o.Stdout.Write(out); err != nil {
				return fmt.Errorf("writing pinned manifests: %w", err)
			}
			continue
		}
		if len(edits) == 0 {
			continue
		}
		st, err := os.Stat(f.Path)
		if err != nil {
			return fmt.Errorf("pinning %s: %w", f.Path, err)
		}
		if err := os.WriteFile(f.Path, out, st.Mode().Perm()); err != nil {
			return fmt.Errorf("pinning %s: %w", f.Path, err)
		}
	}
	return nil
}

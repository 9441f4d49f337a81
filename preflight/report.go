package preflight

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/portcullis-dev/portcullis/policy"
)

// Report is the `-o json` document: the shape docs/design.md gives, plus where each image was found.
type Report struct {
	Allowed bool          `json:"allowed"`
	Images  []ImageReport `json:"images"`
}

// ImageReport is the verdict on one image of one object.
type ImageReport struct {
	Image    string         `json:"image"`
	Digest   string         `json:"digest"`
	Allowed  bool           `json:"allowed"`
	Policies []PolicyReport `json:"policies"`
	// Reasons are image-level: an unparseable reference, no covering policy.
	Reasons  []string `json:"reasons,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Object   string   `json:"object,omitempty"`
	Source   string   `json:"source,omitempty"`
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`

	// message is the one-line text of a denial, for text and SARIF.
	message string
}

// PolicyReport is the verdict of one policy on one image.
type PolicyReport struct {
	Name      string              `json:"name"`
	Namespace string              `json:"namespace,omitempty"`
	Kind      string              `json:"kind"`
	Mode      string              `json:"mode"`
	Result    string              `json:"result"`
	Allowed   bool                `json:"allowed"`
	Reasons   []string            `json:"reasons"`
	Warnings  []string            `json:"warnings,omitempty"`
	Signers   []policy.SignerInfo `json:"signers,omitempty"`
}

// add appends the images of one decision, or, for an object whose pod spec cannot be read,
// one entry that says why.
func (r *Report) add(dec *policy.Decision, obj *Object, lines []int) {
	r.Allowed = r.Allowed && dec.Allowed
	if dec.Outcome == policy.Error {
		msg := strings.Join(dec.Reasons, "; ")
		ir := ImageReport{Policies: []PolicyReport{}, Reasons: dec.Reasons, message: msg}
		if obj != nil {
			ir.Object = obj.Name()
		}
		if obj != nil && obj.File != nil {
			ir.File, ir.Line = obj.File.Path, obj.Line
		}
		r.Images = append(r.Images, ir)
		return
	}
	for i, im := range dec.Images {
		ir := ImageReport{Image: im.Image, Digest: im.Digest, Allowed: im.Allowed, Policies: []PolicyReport{},
			Reasons: im.Reasons, Warnings: im.Warnings, Source: im.Source}
		if obj != nil {
			ir.Object = obj.Name()
		}
		if obj != nil && obj.File != nil {
			ir.File, ir.Line = obj.File.Path, lines[i]
		}
		for _, p := range im.Policies {
			ir.Policies = append(ir.Policies, PolicyReport{Name: p.Name, Namespace: p.Namespace, Kind: p.Kind,
				Mode: string(p.Mode), Result: string(p.Result), Allowed: p.Allowed,
				Reasons: append([]string{}, p.Reasons...), Warnings: p.Warnings, Signers: p.Signers})
		}
		ir.message = strings.Join(im.Denials(), "\n")
		r.Images = append(r.Images, ir)
	}
}

func writeJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func writeText(w io.Writer, r *Report, warnings []string) error {
	denied := 0
	for _, im := range r.Images {
		where := ""
		switch {
		case im.File != "":
			where = fmt.Sprintf("%s (%s:%d) ", im.Object, im.File, im.Line)
		case im.Object != "":
			where = im.Object + " "
		}
		if !im.Allowed {
			denied++
			for _, l := range strings.Split(im.message, "\n") {
				fmt.Fprintf(w, "DENY   %s%s\n", where, l)
			}
			continue
		}
		digest := im.Digest
		if digest == "" {
			digest = "digest not resolved"
		}
		fmt.Fprintf(w, "ALLOW  %s%s: image %s (%s)\n", where, im.Source, im.Image, digest)
	}
	for _, wn := range warnings {
		fmt.Fprintf(w, "WARN   %s\n", wn)
	}
	verdict := "allowed"
	if !r.Allowed {
		verdict = "denied"
	}
	_, err := fmt.Fprintf(w, "%d images checked: %d allowed, %d denied; %s.\n", len(r.Images), len(r.Images)-denied, denied, verdict)
	return err
}

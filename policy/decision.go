package policy

import (
	"fmt"
	"strings"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/verify"
)

// Result is the outcome of one policy for one image, or of an image itself.
type Result string

// The results, as PolicyReports name them.
const (
	// Pass: the policy is satisfied.
	Pass Result = "pass"
	// Fail: the policy is not satisfied.
	Fail Result = "fail"
	// Error: the policy could not be evaluated (registry unreachable, deadline).
	Error Result = "error"
	// Warn, as an Outcome only: a failure under a warn-mode policy, or an image no
	// ClusterImagePolicy covers under noMatch: warn.
	Warn Result = "warn"
	// Skip, as an Outcome only: an image no ClusterImagePolicy covers under noMatch: allow.
	Skip Result = "skip"
)

// Decision is the verdict on one object: allowed only if every image is.
type Decision struct {
	Allowed bool
	// Images holds one entry per image of the Request, in the same order.
	Images []ImageDecision
	// Outcome and Reasons are set when the object's images were not judged one by one: Error
	// when its pod spec cannot be read (denied), Skip when it names no image or, on UPDATE, no
	// changed one (allowed). Reasons say which.
	Outcome Result
	Reasons []string
}

// ImageDecision is the verdict on one image of one container.
type ImageDecision struct {
	// Source says where the image is used: container "api", volume "data".
	Source string
	Image  string
	// Canonical is the image's canonical spelling (ParseImage); empty when it cannot be parsed.
	Canonical string
	// Digest is what the image was resolved to; empty when it could not be.
	Digest string
	// Pin is true when an applicable policy asks for the tag to be rewritten to the digest.
	Pin     bool
	Allowed bool
	// NoMatch is true when no ClusterImagePolicy covers the image.
	NoMatch bool
	// Outcome is the image's own outcome, apart from its policies': Skip, Warn or Fail when no
	// ClusterImagePolicy covers it (noMatch allow, warn or deny), Error when it cannot be
	// judged at all (its reference does not parse), Fail when it must be pinned and is not;
	// empty otherwise. Front ends report it as it is (imageOutcome sets it).
	Outcome Result
	// Reasons are image-level reasons: an unparseable reference, no covering policy.
	Reasons  []string
	Warnings []string
	Policies []PolicyResult
}

// PolicyResult is the outcome of one policy for one image.
type PolicyResult struct {
	Kind      string
	Name      string
	Namespace string
	Mode      v1alpha1.Mode
	// Result is what the policy concluded: Pass, Fail or Error.
	Result Result
	// Outcome is the result as every front end reports it: Result, except that a failure of
	// a warn-mode policy is Warn (finish sets both it and Allowed, from Result and Mode).
	Outcome Result
	// Allowed is false only when the policy did not pass and is in enforce mode.
	Allowed  bool
	Reasons  []string
	Warnings []string
	// Signers are the verified signers, by authority.
	Signers []SignerInfo
}

// SignerInfo is one verified signature, and the authority that verified it.
type SignerInfo struct {
	Authority string `json:"authority"`
	verify.Signer
}

// ID names the policy as users write it.
func (r *PolicyResult) ID() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// Pinned returns the image pinned to its digest (repo:tag@sha256:...), or "" when the image
// needs no rewrite: it is already pinned, unresolved, or no policy asks.
func (d *ImageDecision) Pinned() string {
	if !d.Pin || d.Digest == "" || strings.Contains(d.Image, "@") {
		return ""
	}
	return d.Image + "@" + d.Digest
}

// Denials returns one line per reason the object is denied, naming the container, the image,
// its digest, the policy and what failed.
func (d *Decision) Denials() []string {
	var out []string
	if !d.Allowed {
		out = append(out, d.Reasons...)
	}
	for i := range d.Images {
		out = append(out, d.Images[i].Denials()...)
	}
	return out
}

// Denials returns one line per reason this image is denied; none when it is allowed.
func (d *ImageDecision) Denials() []string {
	if d.Allowed {
		return nil
	}
	var out []string
	for _, r := range d.Reasons {
		out = append(out, fmt.Sprintf("%s: %s", d.subject(), r))
	}
	for _, p := range d.Policies {
		if !p.Allowed {
			out = append(out, fmt.Sprintf("%s: policy %s: %s", d.subject(), p.ID(), strings.Join(p.Reasons, "; ")))
		}
	}
	return out
}

// Warnings returns one line per warning: warn-mode failures, Rego warn rules, and images no
// policy covers when noMatch is warn.
func (d *Decision) Warnings() []string {
	var out []string
	for _, im := range d.Images {
		for _, w := range im.Warnings {
			out = append(out, fmt.Sprintf("%s: %s", im.subject(), w))
		}
		for _, p := range im.Policies {
			if p.Outcome == Warn {
				out = append(out, fmt.Sprintf("%s: policy %s (warn): %s", im.subject(), p.ID(), strings.Join(p.Reasons, "; ")))
			}
			for _, w := range p.Warnings {
				out = append(out, fmt.Sprintf("%s: policy %s: %s", im.subject(), p.ID(), w))
			}
		}
	}
	return out
}

func (d *ImageDecision) subject() string {
	s := fmt.Sprintf("image %s", d.Image)
	var notes []string
	if d.Canonical != "" && d.Canonical != d.Image {
		notes = append(notes, "canonical "+d.Canonical)
	}
	if d.Digest != "" && !strings.Contains(d.Image, "@") {
		notes = append(notes, short(d.Digest))
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	if d.Source != "" {
		s = d.Source + ": " + s
	}
	return s
}

// short abbreviates a digest for messages: sha256:0123456789ab...
func short(digest string) string {
	alg, hex, ok := strings.Cut(digest, ":")
	if !ok || len(hex) <= 12 {
		return digest
	}
	return alg + ":" + hex[:12] + "…"
}

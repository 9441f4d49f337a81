package policy

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/cache"
	"github.com/portcullis-dev/portcullis/verify"
)

// outcome is what a policy's authorities concluded about one digest; it is what the verdict
// cache keeps. Policy-level Rego, which sees the object, runs on top of it for every request.
type outcome struct {
	result       Result // Pass or Fail
	reasons      []string
	signers      []SignerInfo
	attestations map[string][]attested
}

// attested is one verified predicate, as Rego's input.attestations[type] lists it.
type attested struct {
	Authority string `json:"authority"`
	Predicate any    `json:"predicate"`
}

// image judges one image against every policy that covers it.
func (e *Engine) image(ctx context.Context, sess *verify.Session, set *Set, req *Request, in *regoBase, raw string) ImageDecision {
	d := ImageDecision{Image: raw}
	img, err := e.images.Get(ctx, raw, func() (*Image, bool, error) {
		img, err := ParseImage(raw)
		return img, false, err
	})
	if err != nil {
		d.Reasons = []string{err.Error()}
		return e.imageOutcome(d)
	}
	d.Canonical = img.Canonical
	pols, covered := set.Match(req.Namespace, img)
	if !covered {
		d = e.noPolicy(sess, req, img, d)
		if len(pols) == 0 {
			return e.imageOutcome(d)
		}
		// ImagePolicies of the namespace still apply: they can add a failure, never coverage.
	} else {
		d.Allowed = true
	}
	digest, derr := sess.Digest(img.Ref)
	if derr == nil {
		d.Digest = digest.DigestStr()
	}
	for _, p := range pols {
		var r PolicyResult
		if derr != nil {
			r = errored(p, derr)
		} else {
			r = e.policy(ctx, sess, p, img, digest, in, !req.DryRun)
		}
		d.Allowed = d.Allowed && r.Allowed
		d.Pin = d.Pin || p.MutateDigest
		d.Policies = append(d.Policies, r)
	}
	if req.RequirePinned && img.Digest == "" {
		if p := pinning(pols); p != nil {
			d.Allowed = false
			d.Reasons = append(d.Reasons, fmt.Sprintf("not pinned to a digest, which policy %s requires (mutateDigest): "+
				"Portcullis's mutating webhook pins every image it admits, so a later mutation changed it or the mutating webhook is not registered; "+
				"to fix: write the image as tag@digest (portcullis verify --pin)", p.ID()))
		}
	}
	return e.imageOutcome(d)
}

// pinning returns the first enforcing policy that pins images, or nil.
func pinning(pols []*Policy) *Policy {
	for _, p := range pols {
		if p.MutateDigest && p.Mode == v1alpha1.ModeEnforce {
			return p
		}
	}
	return nil
}

// noPolicy applies the noMatch action to an image no ClusterImagePolicy covers.
func (e *Engine) noPolicy(sess *verify.Session, req *Request, img *Image, d ImageDecision) ImageDecision {
	d.NoMatch = true
	if req.ResolveAll {
		if digest, err := sess.Digest(img.Ref); err == nil {
			d.Digest, d.Pin = digest.DigestStr(), true
		} else {
			d.Warnings = append(d.Warnings, err.Error())
		}
	}
	msg := "no ClusterImagePolicy covers this image"
	switch e.noMatch {
	case NoMatchAllow:
		d.Allowed = true
	case NoMatchWarn:
		d.Allowed = true
		d.Warnings = append(d.Warnings, msg+" (noMatch: warn)")
	default:
		d.Reasons = append(d.Reasons, msg+" (noMatch: deny); add a ClusterImagePolicy whose images glob matches "+img.Repo)
	}
	return d
}

func newResult(p *Policy) PolicyResult {
	return PolicyResult{Kind: p.Kind, Name: p.Name, Namespace: p.Namespace, Mode: p.Mode}
}

// finish sets what the result means under the policy's mode: only enforce denies, and a
// failure under warn is reported as a warning. It is the one place the modes are read.
func finish(r PolicyResult) PolicyResult {
	r.Allowed = r.Result == Pass || r.Mode != v1alpha1.ModeEnforce
	r.Outcome = r.Result
	if r.Result == Fail && r.Mode == v1alpha1.ModeWarn {
		r.Outcome = Warn
	}
	return r
}

// imageOutcome sets the outcome of the image itself (ImageDecision.Outcome) once its
// reasons are known.
func (e *Engine) imageOutcome(d ImageDecision) ImageDecision {
	switch {
	case d.NoMatch:
		d.Outcome = map[NoMatch]Result{NoMatchAllow: Skip, NoMatchWarn: Warn, NoMatchDeny: Fail}[e.noMatch]
	case len(d.Reasons) > 0 && len(d.Policies) == 0:
		d.Outcome = Error
	case len(d.Reasons) > 0:
		d.Outcome = Fail
	}
	return d
}

func errored(p *Policy, err error) PolicyResult {
	r := newResult(p)
	r.Result, r.Reasons = Error, []string{err.Error() + "; to fix: make sure the registry answers and the pod's imagePullSecrets grant access to it"}
	return finish(r)
}

// policy judges one image against one policy.
func (e *Engine) policy(ctx context.Context, sess *verify.Session, p *Policy, img *Image, digest name.Digest, in *regoBase, observe bool) PolicyResult {
	r := newResult(p)
	if p.Err != nil {
		r.Result, r.Reasons = Fail, []string{"policy does not compile, so it denies what it covers: " + p.Err.Error() + "; to fix: correct the " + p.Kind + " (its Ready condition says the same)"}
		return finish(r)
	}
	creds, err := credentials(sess, p, digest)
	if err != nil {
		return errored(p, err)
	}
	o, err := e.verdicts.Get(ctx, verdictKey(digest, p, creds), func() (*outcome, bool, error) {
		o, err := e.authorities(ctx, sess, p, img, digest)
		if e.observe != nil && observe {
			r := Error
			if err == nil {
				r = o.result
			}
			e.observe(p, r)
		}
		return o, o != nil && o.result == Fail, err
	})
	if errors.Is(err, cache.ErrGaveUp) {
		err = fmt.Errorf("verifying %s: %w", digest, err)
	}
	if err != nil {
		return errored(p, err)
	}
	r.Result, r.Reasons, r.Signers = o.result, o.reasons, o.signers
	if o.result == Pass && p.rules != nil {
		input, err := in.policyInput(img, digest, o)
		var deny, warn []string
		if err == nil {
			deny, warn, err = p.rules.eval(ctx, input)
		}
		switch {
		case err != nil:
			r.Result, r.Reasons = Fail, []string{err.Error()}
		case len(deny) > 0:
			r.Result, r.Reasons = Fail, deny
		}
		r.Warnings = warn
	}
	return finish(r)
}

// authorities evaluates p's authorities until threshold of them pass. Failures are an outcome;
// an infrastructure error on any authority that kept the threshold from being met is an error.
func (e *Engine) authorities(ctx context.Context, sess *verify.Session, p *Policy, img *Image, digest name.Digest) (*outcome, error) {
	o := &outcome{}
	passed := 0
	var failures []string
	var errs []error
	for _, a := range p.authorities {
		if passed >= p.threshold {
			break
		}
		res, err := e.authority(ctx, sess, a, digest)
		switch {
		case err == nil:
			passed++
			o.add(a.name, res)
		case verify.IsFailure(err):
			failures = append(failures, err.Error())
		default:
			errs = append(errs, fmt.Errorf("authority %s: %w", a.name, err))
		}
	}
	if passed >= p.threshold {
		o.result = Pass
		return o, nil
	}
	head := ""
	if p.threshold > 1 {
		head = fmt.Sprintf("%d of %d authorities passed, %d needed: ", passed, len(p.authorities), p.threshold)
	}
	if len(errs) > 0 {
		for _, f := range failures {
			errs = append(errs, errors.New(f))
		}
		return nil, fmt.Errorf("%s%w", head, joinErrs(errs))
	}
	o.result = Fail
	o.reasons = []string{head + strings.Join(failures, "; ")}
	return o, nil
}

// authority evaluates one authority, with its attestation-level rules.
func (e *Engine) authority(ctx context.Context, sess *verify.Session, a authority, digest name.Digest) (*verify.Result, error) {
	if a.static != nil {
		if a.static.Action == v1alpha1.StaticPass {
			return &verify.Result{}, nil
		}
		msg := a.static.Message
		if msg == "" {
			msg = "static authority " + a.name + " fails every image"
		}
		return nil, &verify.Failure{Reason: msg}
	}
	res, err := sess.Verify(digest, a.verify)
	if err != nil {
		return nil, err
	}
	for _, at := range a.attestations {
		if err := checkAttestation(ctx, at, res.Attestations, digest); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// checkAttestation runs at's rules over the verified predicates of its type: one that no rule
// denies is enough.
func checkAttestation(ctx context.Context, at attestation, atts []verify.Attestation, digest name.Digest) error {
	if at.rules == nil {
		return nil
	}
	var denies []string
	for _, a := range atts {
		if a.PredicateType != at.predicateType {
			continue
		}
		input, err := attestationInput(a, digest)
		if err == nil {
			var deny []string
			if deny, _, err = at.rules.eval(ctx, input); err == nil && len(deny) == 0 {
				return nil
			}
			denies = append(denies, deny...)
		}
		if err != nil {
			denies = append(denies, err.Error())
		}
	}
	return &verify.Failure{Reason: fmt.Sprintf("attestation %s (%s) denied by its rules: %s", at.name, at.predicateType, strings.Join(denies, "; "))}
}

// weight approximates the bytes a cached outcome holds: its verified predicates, reasons and
// signers, and a fixed overhead.
func (o *outcome) weight() int64 {
	n := int64(256)
	for _, r := range o.reasons {
		n += int64(len(r))
	}
	n += int64(len(o.signers)) * 256
	for _, as := range o.attestations {
		for _, a := range as {
			if raw, ok := a.Predicate.(json.RawMessage); ok {
				n += int64(len(raw))
			}
			n += 64
		}
	}
	return n
}

func (o *outcome) add(authority string, res *verify.Result) {
	for _, s := range res.Signatures {
		o.signers = append(o.signers, SignerInfo{Authority: authority, Signer: s.Signer})
	}
	for _, a := range res.Attestations {
		if o.attestations == nil {
			o.attestations = map[string][]attested{}
		}
		o.attestations[a.PredicateType] = append(o.attestations[a.PredicateType], attested{Authority: authority, Predicate: a.Predicate})
	}
}

func joinErrs(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

// verdictKey identifies a verdict: the image (repository and digest), the compiled policy
// (its UID and generation, or spec hash, and its keys and trust roots), and the credentials
// the material was read with. It is hashed to keep ten thousand cached verdicts small.
func verdictKey(digest name.Digest, p *Policy, creds string) string {
	sum := sha256.Sum256([]byte(digest.String() + "|" + p.key + "|" + creds))
	return string(sum[:])
}

// credentials identifies the credentials a verdict of p on digest reads its material with:
// those for the image's registry and for each signature repository p names.
func credentials(sess *verify.Session, p *Policy, digest name.Digest) (string, error) {
	id, err := sess.CredentialID(digest.Context().Registry)
	for _, a := range p.authorities {
		if a.verify == nil || a.verify.SignatureRepository == nil || err != nil {
			continue
		}
		var more string
		more, err = sess.CredentialID(a.verify.SignatureRepository.Registry)
		id += "," + more
	}
	return id, err
}

package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/trust"
	"github.com/portcullis-dev/portcullis/verify"
)

// Sources are the resources a Set is compiled from.
type Sources struct {
	ClusterPolicies []v1alpha1.ClusterImagePolicy
	Policies        []v1alpha1.ImagePolicy
	TrustRoots      []v1alpha1.TrustRoot
	// SecretKey returns key of Secret namespace/name, for key.secretRef. Nil means Secrets
	// cannot be read, and a policy that needs one does not compile.
	SecretKey func(namespace, name, key string) ([]byte, error)
	// InstallNamespace holds the Secrets that ClusterImagePolicies refer to.
	InstallNamespace string
	// DefaultTrustRoot replaces the built-in public-good Sigstore root (portcullis verify
	// --trust-root).
	DefaultTrustRoot root.TrustedMaterial
	// RegoLimits bound the Rego the policies carry; zero fields take DefaultRegoLimits.
	RegoLimits RegoLimits
	// Trust gives the built-in roots and TrustRoots' TUF repositories, and keeps them between
	// compiles. Nil means the built-in roots' embedded snapshots, with no network for them.
	Trust *trust.Registry
}

// Compile compiles every policy. It never fails as a whole: a policy that does not compile
// carries its Err and denies what it covers.
func Compile(src Sources) *Set {
	s := newSet()
	roots := compileTrustRoots(src, s)
	refused := src.chargeRego()
	cps := append([]v1alpha1.ClusterImagePolicy(nil), src.ClusterPolicies...)
	sort.Slice(cps, func(i, j int) bool { return cps[i].Name < cps[j].Name })
	for _, cp := range cps {
		spec, err := withinBudget(&cp.Spec, refused["/"+cp.Name])
		p := compilePolicy(KindCluster, cp.ObjectMeta.Name, "", string(cp.UID), cp.Generation, spec, roots, src.secret(src.InstallNamespace), roots[""].current)
		s.add(refuse(p, err))
	}
	ips := append([]v1alpha1.ImagePolicy(nil), src.Policies...)
	sort.Slice(ips, func(i, j int) bool {
		if ips[i].Namespace != ips[j].Namespace {
			return ips[i].Namespace < ips[j].Namespace
		}
		return ips[i].Name < ips[j].Name
	})
	for _, ip := range ips {
		spec, err := withinBudget(&ip.Spec, refused[ip.Namespace+"/"+ip.Name])
		p := compilePolicy(KindNamespaced, ip.Name, ip.Namespace, string(ip.UID), ip.Generation, spec, roots, src.secret(ip.Namespace), roots[""].current)
		s.add(refuse(p, err))
	}
	return s
}

// secret returns a reader of Secrets in namespace ns, or nil when Secrets cannot be read.
func (src Sources) secret(ns string) func(name, key string) ([]byte, error) {
	return func(name, key string) ([]byte, error) {
		if src.SecretKey == nil {
			return nil, fmt.Errorf("key secretRef %s/%s cannot be read here (no cluster access); use key.data", name, key)
		}
		if ns == "" {
			return nil, fmt.Errorf("key secretRef %s/%s: no namespace to read it from", name, key)
		}
		return src.SecretKey(ns, name, key)
	}
}

func compilePolicy(kind, nm, ns, uid string, gen int64, spec *v1alpha1.ImagePolicySpec, roots map[string]trustRoot, secret func(name, key string) ([]byte, error), defaultRoot root.TrustedMaterial) *Policy {
	p := &Policy{Kind: kind, Name: nm, Namespace: ns, Mode: spec.Mode, MutateDigest: spec.MutateDigest == nil || *spec.MutateDigest}
	var errs []error
	if p.Mode == "" {
		p.Mode = v1alpha1.ModeEnforce
	}
	if p.Mode != v1alpha1.ModeEnforce && p.Mode != v1alpha1.ModeWarn && p.Mode != v1alpha1.ModeAudit {
		errs = append(errs, fmt.Errorf("mode %q is not enforce, warn or audit", p.Mode))
		p.Mode = v1alpha1.ModeEnforce
	}
	p.globs, errs = compileGlobs(spec.Images, errs)
	var material []string // key IDs and trust roots: a Secret's key can change under one generation
	for i := range spec.Authorities {
		a, mk, err := compileAuthority(&spec.Authorities[i], roots, secret, defaultRoot)
		if err != nil {
			errs = append(errs, fmt.Errorf("authority %q: %w", spec.Authorities[i].Name, err))
			continue
		}
		p.authorities = append(p.authorities, a)
		material = append(material, mk)
	}
	if len(spec.Authorities) == 0 {
		errs = append(errs, errors.New("no authorities"))
	}
	p.threshold = 1
	if spec.Threshold != nil {
		p.threshold = int(*spec.Threshold)
	}
	if p.threshold < 1 || p.threshold > len(spec.Authorities) {
		errs = append(errs, fmt.Errorf("threshold %d is not between 1 and the %d authorities", p.threshold, len(spec.Authorities)))
	}
	if spec.Rego != "" {
		r, err := compileRules(spec.Rego)
		if err != nil {
			errs = append(errs, fmt.Errorf("policy rego: %w", err))
		}
		p.rules = r
	}
	p.Err = errors.Join(errs...)
	p.Warnings = Lint(kind, spec)
	p.key = policyKey(kind, ns, nm, uid, gen, spec, material)
	return p
}

// compileGlobs compiles the image globs. A glob that does not compile makes the policy cover
// every image in its scope, so the policy fails closed on what it may have meant to cover.
func compileGlobs(images []v1alpha1.ImagePattern, errs []error) ([]glob, []error) {
	var out []glob
	for _, im := range images {
		g, err := compileGlob(im.Glob)
		if err != nil {
			errs = append(errs, err)
			g, _ = compileGlob("**")
		}
		out = append(out, g)
	}
	if len(images) == 0 {
		errs = append(errs, errors.New("no image globs"))
		g, _ := compileGlob("**")
		out = append(out, g)
	}
	return out, errs
}

// policyKey identifies a compiled policy for the verdict cache: its UID and generation when it
// comes from a cluster, a hash of its spec otherwise, and the keys and trust roots it uses.
func policyKey(kind, ns, nm, uid string, gen int64, spec *v1alpha1.ImagePolicySpec, material []string) string {
	id := fmt.Sprintf("%s/%d", uid, gen)
	if uid == "" {
		b, _ := json.Marshal(spec)
		sum := sha256.Sum256(b)
		id = hex.EncodeToString(sum[:16])
	}
	return fmt.Sprintf("%s/%s/%s@%s%v", kind, ns, nm, id, material)
}

func compileAuthority(a *v1alpha1.Authority, roots map[string]trustRoot, secret func(name, key string) ([]byte, error), defaultRoot root.TrustedMaterial) (authority, string, error) {
	out := authority{name: a.Name}
	set := 0
	for _, present := range []bool{a.Key != nil, a.Keyless != nil, a.Static != nil} {
		if present {
			set++
		}
	}
	if set != 1 {
		return out, "", errors.New("exactly one of key, keyless or static must be set")
	}
	if a.Static != nil {
		if a.Static.Action != v1alpha1.StaticPass && a.Static.Action != v1alpha1.StaticFail {
			return out, "", fmt.Errorf("static action %q is not pass or fail", a.Static.Action)
		}
		out.static = a.Static
		return out, "", nil
	}
	switch a.Tlog {
	case "", v1alpha1.TlogIgnore, v1alpha1.TlogRequire:
	default:
		return out, "", fmt.Errorf("tlog %q is not require or ignore", a.Tlog)
	}
	va := &verify.Authority{Name: a.Name, TrustedMaterial: defaultRoot}
	var material string
	var err error
	if a.Key != nil {
		material, err = compileKey(va, a, secret)
		if va.RequireTlog { // its log's keys come from the default root: a new root re-judges
			material += "," + roots[""].currentKey
		}
	} else {
		material, err = compileKeyless(va, a, roots)
	}
	if err != nil {
		return out, "", err
	}
	if a.SignatureRepository != "" {
		repo, err := name.NewRepository(a.SignatureRepository)
		if err == nil {
			repo, err = verify.CanonicalRepository(repo)
		}
		if err != nil {
			return out, "", fmt.Errorf("signatureRepository: %w", err)
		}
		va.SignatureRepository = &repo
	}
	out.verify = va
	for _, at := range a.Attestations {
		c, err := compileAttestation(at)
		if err != nil {
			return out, "", err
		}
		out.attestations = append(out.attestations, c)
		va.Attestations = append(va.Attestations, c.predicateType)
	}
	return out, material, nil
}

// compileKey sets va's key; the transparency log is ignored unless the authority requires it.
// It returns the key's ID: a Secret's key can change under one policy generation.
func compileKey(va *verify.Authority, a *v1alpha1.Authority, secret func(name, key string) ([]byte, error)) (string, error) {
	pem := []byte(a.Key.Data)
	if a.Key.SecretRef != nil {
		var err error
		if pem, err = secret(a.Key.SecretRef.Name, a.Key.SecretRef.Key); err != nil {
			return "", err
		}
	}
	key, err := verify.ParsePublicKey(pem)
	if err != nil {
		return "", err
	}
	va.Key, va.RequireTlog = key, a.Tlog == v1alpha1.TlogRequire
	return key.ID, nil
}

// compileKeyless sets va's identities and trust root; the transparency log is required unless
// the authority ignores it, which needs a timestamp authority to give the time instead. It
// returns the trust root's identity and generation, for the verdict cache.
func compileKeyless(va *verify.Authority, a *v1alpha1.Authority, roots map[string]trustRoot) (string, error) {
	for _, id := range a.Keyless.Identities {
		vid, err := compileIdentity(id, a.Keyless.CertificateAuthority != nil)
		if err != nil {
			return "", err
		}
		va.Identities = append(va.Identities, vid)
	}
	if len(va.Identities) == 0 {
		return "", errors.New("keyless needs at least one identity")
	}
	va.RequireTlog = a.Tlog != v1alpha1.TlogIgnore
	ref := a.Keyless.TrustRootRef
	if a.Keyless.CertificateAuthority != nil && ref == "" {
		// The CA alone: no built-in root is read (nor, in the CLI, its mirror asked). The chain
		// is in the spec, which the policy's key already covers.
		return "certificate-authority", compileCertificateAuthority(va, a.Keyless)
	}
	tr, ok := roots[ref]
	if !ok {
		return "", fmt.Errorf("trustRootRef %q: no such TrustRoot", ref)
	}
	if tr = tr.resolve(); tr.err != nil {
		return "", fmt.Errorf("trustRootRef %q: %w", ref, tr.err)
	}
	va.TrustedMaterial = tr.material
	if a.Keyless.CertificateAuthority != nil {
		return tr.key, compileCertificateAuthority(va, a.Keyless)
	}
	if !va.RequireTlog {
		if len(tr.material.TimestampingAuthorities()) == 0 {
			return "", errors.New("tlog: ignore needs a trust root with a timestamp authority to give the signing time instead")
		}
	}
	return tr.key, nil
}

func compileAttestation(at v1alpha1.Attestation) (attestation, error) {
	pt, err := verify.PredicateType(at.PredicateType)
	if err != nil {
		return attestation{}, fmt.Errorf("attestation %q: %w", at.Name, err)
	}
	c := attestation{name: at.Name, predicateType: pt}
	if at.Rego != "" {
		if c.rules, err = compileRules(at.Rego); err != nil {
			return attestation{}, fmt.Errorf("attestation %q rego: %w", at.Name, err)
		}
	}
	return c, nil
}

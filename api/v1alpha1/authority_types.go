package v1alpha1

// TlogPolicy says whether a transparency log entry is required.
// +kubebuilder:validation:Enum=require;ignore
type TlogPolicy string

// The transparency log policies.
const (
	// TlogRequire needs a verified Rekor entry (SET or inclusion proof).
	TlogRequire TlogPolicy = "require"
	// TlogIgnore does not look at the transparency log.
	TlogIgnore TlogPolicy = "ignore"
)

// Authority is one signer a policy trusts. Exactly one of key, keyless or static is set.
// +kubebuilder:validation:XValidation:rule="[has(self.key), has(self.keyless), has(self.static)].filter(x, x).size() == 1",message="exactly one of key, keyless or static must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.static) || !has(self.attestations) || size(self.attestations) == 0",message="a static authority cannot require attestations"
// +kubebuilder:validation:XValidation:rule="!has(self.keyless) || !has(self.keyless.certificateAuthority) || has(self.keyless.trustRootRef) || (has(self.tlog) && self.tlog == 'ignore')",message="a keyless certificateAuthority without a trustRootRef has no transparency log to require: set tlog: ignore, or a trustRootRef whose Rekor logs and timestamp authorities to use"
type Authority struct {
	// Name identifies the authority in reasons and reports.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`

	// Key verifies signatures with a public key.
	// +optional
	Key *KeyAuthority `json:"key,omitempty"`
	// Keyless verifies Fulcio certificates bound to an identity.
	// +optional
	Keyless *KeylessAuthority `json:"keyless,omitempty"`
	// Static passes or fails without looking at the image.
	// +optional
	Static *StaticAuthority `json:"static,omitempty"`

	// Tlog is require or ignore; the default is require for keyless and ignore for key.
	// +optional
	Tlog TlogPolicy `json:"tlog,omitempty"`

	// SignatureRepository is where signatures live, when not beside the image.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	SignatureRepository string `json:"signatureRepository,omitempty"`

	// Attestations must each be present and signed by this authority. An authority with
	// attestations is satisfied by them alone.
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Attestations []Attestation `json:"attestations,omitempty"`
}

// KeyAuthority is a PEM public key, inline or in a Secret.
// +kubebuilder:validation:XValidation:rule="has(self.data) != has(self.secretRef)",message="exactly one of data or secretRef must be set"
type KeyAuthority struct {
	// Data is a PEM public key (ECDSA, RSA or ed25519).
	// +kubebuilder:validation:MaxLength=16384
	// +optional
	Data string `json:"data,omitempty"`
	// SecretRef names a Secret key holding the PEM public key, in the policy's namespace
	// (the install namespace for a ClusterImagePolicy).
	// +optional
	SecretRef *SecretKeyRef `json:"secretRef,omitempty"`
}

// SecretKeyRef names one key of a Secret.
type SecretKeyRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key within the Secret.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}

// KeylessAuthority trusts certificates issued to one of its identities: by a trust root's
// Fulcio, or by the organization's own certificate authority.
// +kubebuilder:validation:XValidation:rule="has(self.certificateAuthority) || self.identities.all(i, has(i.github) || has(i.issuer) || has(i.issuerRegExp))",message="an identity needs issuer or issuerRegExp; only a certificateAuthority's identities may leave the issuer out"
type KeylessAuthority struct {
	// Identities are the accepted {issuer, subject} pairs; one must match.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Identities []Identity `json:"identities"`
	// TrustRootRef names a TrustRoot; the default is the embedded public-good Sigstore root.
	// With certificateAuthority, only the TrustRoot's timestamp authorities and Rekor logs are
	// used.
	// +optional
	TrustRootRef string `json:"trustRootRef,omitempty"`
	// CertificateAuthority replaces the trust root's Fulcio CAs with the organization's own.
	// +optional
	CertificateAuthority *CertificateAuthority `json:"certificateAuthority,omitempty"`
}

// Identity is a certificate issuer and subject, each exact or an RE2 regular expression, or a
// GitHub Actions workflow.
// +kubebuilder:validation:XValidation:rule="!(has(self.issuer) && has(self.issuerRegExp))",message="at most one of issuer or issuerRegExp may be set"
// +kubebuilder:validation:XValidation:rule="has(self.github) || has(self.subject) != has(self.subjectRegExp)",message="exactly one of subject or subjectRegExp must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.github) || !(has(self.issuer) || has(self.issuerRegExp) || has(self.subject) || has(self.subjectRegExp))",message="github is the whole identity: it sets the issuer and subject itself"
type Identity struct {
	// +optional
	Issuer string `json:"issuer,omitempty"`
	// +optional
	Subject string `json:"subject,omitempty"`
	// +optional
	IssuerRegExp string `json:"issuerRegExp,omitempty"`
	// +optional
	SubjectRegExp string `json:"subjectRegExp,omitempty"`
	// GitHub is a GitHub Actions workflow on github.com, in place of issuer and subject.
	// +optional
	GitHub *GitHubIdentity `json:"github,omitempty"`
}

// StaticAction is what a static authority does.
// +kubebuilder:validation:Enum=pass;fail
type StaticAction string

// The static actions.
const (
	StaticPass StaticAction = "pass"
	StaticFail StaticAction = "fail"
)

// StaticAuthority passes or fails every image it sees.
type StaticAuthority struct {
	// Action is pass or fail.
	Action StaticAction `json:"action"`
	// Message is the reason given when it fails.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`
}

// Attestation is an in-toto attestation an authority must have signed.
type Attestation struct {
	// Name identifies the attestation in reasons.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`
	// PredicateType is a full URI or a cosign short name: slsaprovenance, slsaprovenance02,
	// slsaprovenance1, spdx, spdxjson, cyclonedx, link, vuln, openvex, custom.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	PredicateType string `json:"predicateType"`
	// Rego is an optional Rego v1 module, package portcullis, whose deny rules run over the
	// predicate.
	// +kubebuilder:validation:MaxLength=65536
	// +optional
	Rego string `json:"rego,omitempty"`
}

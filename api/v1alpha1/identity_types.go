package v1alpha1

// GitHubIdentity is a GitHub Actions workflow run on github.com: the GitHub Actions issuer and
// the claims Fulcio copies into the certificate's extensions, each matched exactly. A
// certificate without those extensions does not match.
type GitHubIdentity struct {
	// Repository is owner/name: the Source Repository URI must be https://github.com/<repository>.
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`
	// +kubebuilder:validation:MaxLength=256
	Repository string `json:"repository"`
	// Workflow is the path of the workflow that ran, in the repository (the caller, also when
	// it calls a reusable workflow), from the Build Config URI: .github/workflows/build.yml.
	// +kubebuilder:validation:Pattern=`^\.github/workflows/[^/@]+$`
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Workflow string `json:"workflow,omitempty"`
	// Ref is the Source Repository Ref: refs/heads/main, refs/tags/v1.2.0.
	// +kubebuilder:validation:Pattern=`^refs/[^\s]+$`
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Ref string `json:"ref,omitempty"`
	// SignerWorkflow is the workflow that signed, from the Build Signer URI without its @ref:
	// owner/repo/.github/workflows/sign.yml, a reusable workflow such as slsa-github-generator's.
	// The default is any.
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+/\.github/workflows/[^/@]+$`
	// +kubebuilder:validation:MaxLength=512
	// +optional
	SignerWorkflow string `json:"signerWorkflow,omitempty"`
}

// CertificateAuthority is an organization's own certificate authority for keyless signing.
type CertificateAuthority struct {
	// CertificateChain is PEM certificates, the issuing CA first and the root last. Leaf
	// certificates must chain to that root through these certificates alone.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	CertificateChain string `json:"certificateChain"`
}

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TrustRootSpec gives the Sigstore material of a private or air-gapped Sigstore.
// +kubebuilder:validation:XValidation:rule="has(self.sigstoreTrustedRoot) != has(self.tuf)",message="exactly one of sigstoreTrustedRoot or tuf must be set"
type TrustRootSpec struct {
	// SigstoreTrustedRoot is a Sigstore TrustedRoot JSON document (Fulcio CAs, Rekor logs,
	// CT logs, timestamp authorities).
	// +kubebuilder:validation:MaxLength=1048576
	// +optional
	SigstoreTrustedRoot string `json:"sigstoreTrustedRoot,omitempty"`
	// TUF fetches the trusted root from a TUF repository.
	// +optional
	TUF *TUFSource `json:"tuf,omitempty"`
}

// TUFSource is a TUF repository whose trusted_root.json target is the trust root: a mirror
// to fetch it from, or, for a cluster with no network, the whole repository serialized here.
// Either way it is verified with TUF from the initial root.
// +kubebuilder:validation:XValidation:rule="has(self.mirror) != has(self.repository)",message="exactly one of mirror or repository must be set"
type TUFSource struct {
	// Mirror is the TUF repository URL (https, or http: TUF signs what it serves).
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	// +optional
	Mirror string `json:"mirror,omitempty"`
	// Root is the initial TUF root.json, base64-encoded: the trust anchor the repository's
	// metadata is verified from. It may have expired: newer roots in the repository update it.
	// (A string, not bytes: the API server's CEL rules cannot read every base64 bytes field.)
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=700000
	Root string `json:"root"`
	// Repository is a whole TUF repository, as its mirror serves it, as a base64 gzipped tar:
	// `tar -C DIR -czf repo.tgz .` where DIR holds N.root.json, timestamp.json,
	// N.snapshot.json, N.targets.json and targets/. Apply a new one to refresh an air-gapped
	// cluster. Its metadata is verified in full; once it has expired, the root is still used
	// and the TrustRoot says it is stale.
	// +kubebuilder:validation:MaxLength=1398100
	// +optional
	Repository string `json:"repository,omitempty"`
}

// TrustRootStatus is the observed state of a TrustRoot.
type TrustRootStatus struct {
	PolicyStatus `json:",inline"`
	// TUF says which trusted root the TUF repository gave, when spec.tuf is set.
	// +optional
	TUF *TUFStatus `json:"tuf,omitempty"`
}

// TUFStatus is what a TrustRoot holds from its TUF repository.
type TUFStatus struct {
	// RootVersion is the version of the TUF root metadata that vouched for the trusted root.
	RootVersion int64 `json:"rootVersion"`
	// Expires is when the TUF metadata vouching for the trusted root expires; after it the
	// TrustRoot is Stale and policies keep using the root.
	Expires metav1.Time `json:"expires"`
	// TrustedRootSHA256 is the sha256 of the trusted root in use.
	TrustedRootSHA256 string `json:"trustedRootSHA256"`
}

// TrustRoot is a cluster-scoped Sigstore trust root that keyless authorities select by name.
// The names public-good and github are the built-in roots: a TrustRoot may not take them.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="TUF Root",type=integer,JSONPath=`.status.tuf.rootVersion`
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.tuf.expires`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TrustRoot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TrustRootSpec   `json:"spec"`
	Status TrustRootStatus `json:"status,omitempty"`
}

// TrustRootList is a list of TrustRoot.
// +kubebuilder:object:root=true
type TrustRootList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TrustRoot `json:"items"`
}

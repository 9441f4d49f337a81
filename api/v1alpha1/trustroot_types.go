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

// TUFSource is a TUF repository and its initial root.
type TUFSource struct {
	// Mirror is the TUF repository URL.
	// +kubebuilder:validation:MinLength=1
	Mirror string `json:"mirror"`
	// Root is the base64 initial root.json.
	// +kubebuilder:validation:MinLength=1
	Root string `json:"root"`
}

// TrustRoot is a cluster-scoped Sigstore trust root that keyless authorities select by name.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TrustRoot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TrustRootSpec `json:"spec"`
	Status PolicyStatus  `json:"status,omitempty"`
}

// TrustRootList is a list of TrustRoot.
// +kubebuilder:object:root=true
type TrustRootList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TrustRoot `json:"items"`
}

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Mode says what a failing policy does to admission.
// +kubebuilder:validation:Enum=enforce;warn;audit
type Mode string

// The modes a policy can run in.
const (
	// ModeEnforce denies an image that fails the policy.
	ModeEnforce Mode = "enforce"
	// ModeWarn admits it with an admission warning and a report entry.
	ModeWarn Mode = "warn"
	// ModeAudit admits it silently with a report entry.
	ModeAudit Mode = "audit"
)

// ImagePolicySpec is the spec shared by ClusterImagePolicy and ImagePolicy.
// +kubebuilder:validation:XValidation:rule="!has(self.threshold) || self.threshold <= size(self.authorities)",message="threshold cannot exceed the number of authorities"
type ImagePolicySpec struct {
	// Images are the images this policy covers, as globs anchored on the whole normalized
	// reference (index.docker.io/library/nginx): * matches within one path segment, ** across
	// segments.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +listType=atomic
	Images []ImagePattern `json:"images"`

	// Mode is enforce (deny), warn (admit with a warning) or audit (admit and report).
	// +kubebuilder:default=enforce
	// +optional
	Mode Mode `json:"mode,omitempty"`

	// MutateDigest rewrites tags to tag@digest in the mutating webhook.
	// +kubebuilder:default=true
	// +optional
	MutateDigest *bool `json:"mutateDigest,omitempty"`

	// Authorities are the signers this policy trusts; threshold of them must pass.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Authorities []Authority `json:"authorities"`

	// Threshold is how many authorities must pass (default 1).
	// +kubebuilder:validation:Minimum=1
	// +optional
	Threshold *int32 `json:"threshold,omitempty"`

	// Rego is an optional Rego v1 module, package portcullis, whose deny rules run over
	// everything verified for the image.
	// +kubebuilder:validation:MaxLength=65536
	// +optional
	Rego string `json:"rego,omitempty"`
}

// ImagePattern selects images by glob.
type ImagePattern struct {
	// Glob is matched against the whole normalized reference, without tag or digest.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9.:_/*-]+$`
	Glob string `json:"glob"`
}

// PolicyStatus is the observed state of a policy.
type PolicyStatus struct {
	// Conditions hold Ready: False with the reason when the policy cannot be compiled; and,
	// for a ClusterImagePolicy or ImagePolicy, Warnings: True (reason ConfigurationWarnings)
	// with what in it is probably a mistake, such as an unanchored subjectRegExp, or False
	// (NoWarnings). A warning never makes the policy Ready=False or changes what it enforces.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// ClusterImagePolicy applies to images in every namespace.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=cip
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterImagePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ImagePolicySpec `json:"spec"`
	Status PolicyStatus    `json:"status,omitempty"`
}

// ClusterImagePolicyList is a list of ClusterImagePolicy.
// +kubebuilder:object:root=true
type ClusterImagePolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterImagePolicy `json:"items"`
}

// ImagePolicy applies to images in its own namespace, in addition to every matching
// ClusterImagePolicy: it can add requirements and never relax them. Whether an image is
// covered at all (whether noMatch applies) is decided by ClusterImagePolicies alone; an
// ImagePolicy can only add a failure. So a static pass authority adds nothing to it (an
// ImagePolicy that static pass authorities alone satisfy, without rego, does nothing), and in
// mode audit or warn it reports or warns and never denies.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=ip
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ImagePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ImagePolicySpec `json:"spec"`
	Status PolicyStatus    `json:"status,omitempty"`
}

// ImagePolicyList is a list of ImagePolicy.
// +kubebuilder:object:root=true
type ImagePolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImagePolicy `json:"items"`
}

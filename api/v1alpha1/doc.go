// Package v1alpha1 holds the Go types of the portcullis.dev/v1alpha1 API: ClusterImagePolicy,
// ImagePolicy and TrustRoot. It owns their schema and CRD validation markers and imports nothing
// of Portcullis; deepcopy and the CRD YAML are generated from it by controller-gen.
//
// +kubebuilder:object:generate=true
// +groupName=portcullis.dev
package v1alpha1

package v1alpha2

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PolicyResult is the outcome of one policy for one resource.
// +kubebuilder:validation:Enum=pass;fail;warn;error;skip
type PolicyResult string

// The results a report row can have.
const (
	ResultPass  PolicyResult = "pass"
	ResultFail  PolicyResult = "fail"
	ResultWarn  PolicyResult = "warn"
	ResultError PolicyResult = "error"
	ResultSkip  PolicyResult = "skip"
)

// PolicySeverity ranks a result.
// +kubebuilder:validation:Enum=critical;high;low;medium;info
type PolicySeverity string

// PolicyReportSummary counts the results of each kind.
type PolicyReportSummary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

// PolicyReportResult is one row: a policy's result for some resources.
type PolicyReportResult struct {
	// Source is the tool that produced the result: portcullis.
	Source string `json:"source"`
	// Policy names the policy.
	Policy string `json:"policy"`
	// +optional
	Rule string `json:"rule,omitempty"`
	// +optional
	Category string `json:"category,omitempty"`
	// +optional
	Severity PolicySeverity `json:"severity,omitempty"`
	// +optional
	Timestamp metav1.Timestamp `json:"timestamp,omitempty"`
	// +optional
	Result PolicyResult `json:"result,omitempty"`
	// +optional
	Scored bool `json:"scored,omitempty"`
	// Subjects are the resources the result is about.
	// +optional
	Subjects []corev1.ObjectReference `json:"resources,omitempty"`
	// +optional
	SubjectSelector *metav1.LabelSelector `json:"resourceSelector,omitempty"`
	// Description says why.
	// +optional
	Description string `json:"message,omitempty"`
	// +optional
	Properties map[string]string `json:"properties,omitempty"`
}

// PolicyReport holds the results for the resources of one namespace.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=polr
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.scope.kind`,priority=1
// +kubebuilder:printcolumn:name="Name",type=string,JSONPath=`.scope.name`,priority=1
// +kubebuilder:printcolumn:name="Pass",type=integer,JSONPath=`.summary.pass`
// +kubebuilder:printcolumn:name="Fail",type=integer,JSONPath=`.summary.fail`
// +kubebuilder:printcolumn:name="Warn",type=integer,JSONPath=`.summary.warn`
// +kubebuilder:printcolumn:name="Error",type=integer,JSONPath=`.summary.error`
// +kubebuilder:printcolumn:name="Skip",type=integer,JSONPath=`.summary.skip`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PolicyReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Scope *corev1.ObjectReference `json:"scope,omitempty"`
	// +optional
	ScopeSelector *metav1.LabelSelector `json:"scopeSelector,omitempty"`
	// +optional
	Summary PolicyReportSummary `json:"summary,omitempty"`
	// +optional
	Results []PolicyReportResult `json:"results,omitempty"`
}

// PolicyReportList is a list of PolicyReport.
// +kubebuilder:object:root=true
type PolicyReportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PolicyReport `json:"items"`
}

// ClusterPolicyReport holds cluster-wide results.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=cpolr
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.scope.kind`,priority=1
// +kubebuilder:printcolumn:name="Name",type=string,JSONPath=`.scope.name`,priority=1
// +kubebuilder:printcolumn:name="Pass",type=integer,JSONPath=`.summary.pass`
// +kubebuilder:printcolumn:name="Fail",type=integer,JSONPath=`.summary.fail`
// +kubebuilder:printcolumn:name="Warn",type=integer,JSONPath=`.summary.warn`
// +kubebuilder:printcolumn:name="Error",type=integer,JSONPath=`.summary.error`
// +kubebuilder:printcolumn:name="Skip",type=integer,JSONPath=`.summary.skip`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterPolicyReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Scope *corev1.ObjectReference `json:"scope,omitempty"`
	// +optional
	ScopeSelector *metav1.LabelSelector `json:"scopeSelector,omitempty"`
	// +optional
	Summary PolicyReportSummary `json:"summary,omitempty"`
	// +optional
	Results []PolicyReportResult `json:"results,omitempty"`
}

// ClusterPolicyReportList is a list of ClusterPolicyReport.
// +kubebuilder:object:root=true
type ClusterPolicyReportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterPolicyReport `json:"items"`
}

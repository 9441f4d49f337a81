// Package webhook is the Kubernetes admission adapter. Its handlers turn an AdmissionRequest
// into a policy.Request, ask policy.Engine for the Decision, and turn that into a JSONPatch
// (mutating: pin tags to digests) or a verdict (validating), with warnings. It also keeps the
// Engine's policy set in step with the cluster through informers, reports each policy's Ready
// condition, and, out of cluster, registers itself. Install puts all of it in a manager;
// package app composes the process. It decides nothing.
package webhook

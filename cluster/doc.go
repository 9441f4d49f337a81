// Package cluster reads Portcullis's inputs from a Kubernetes API: the policy sources (through a
// cache or directly), the running pods and their images, and the registry credentials the kubelet
// would use for them. The webhook, the auditor and `portcullis verify --from-cluster` share it.
// It decides nothing.
package cluster

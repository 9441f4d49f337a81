// Package audit is the leader-elected background scan of running pods. It judges every running
// pod's images through the same policy.Engine (and caches) as admission, with its own registry
// budget, and writes the results as standard wgpolicyk8s.io/v1alpha2 PolicyReports, one per
// namespace, and a ClusterPolicyReport with the totals. It decides nothing: the Engine does.
// The first scan waits for the first policy compile; a scan judges a bounded number of images
// at once, each within its own deadline, so a registry that hangs delays only its own rows.
package audit

// Package audit is the leader-elected background scan of running pods. It judges every running
// pod's images through the same policy.Engine (and caches) as admission, with its own registry
// budget, and writes the results as standard wgpolicyk8s.io/v1alpha2 PolicyReports, one per
// namespace, and a ClusterPolicyReport with the totals. It decides nothing: the Engine does.
package audit

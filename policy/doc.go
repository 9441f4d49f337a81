// Package policy is where every admission verdict is made. It compiles ClusterImagePolicy,
// ImagePolicy and TrustRoot resources into an immutable, indexed Set; matches images against
// anchored globs; evaluates each policy's authorities (through package verify) and Rego rules
// (OPA, Rego v1); and its Engine turns (namespace, images, object) into a Decision with a
// reason for every image and policy. The webhook, the auditor and the CLI only translate in and
// out of it.
package policy

// Package e2e runs Portcullis against real third-party parts: the cosign CLI (v3, built from
// the module proxy), the distribution registry, and, from later issues, a real kube-apiserver.
package e2e

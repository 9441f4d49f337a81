// Package sigtest gives tests real registries and real signatures: go-containerregistry's
// in-process registry, with the referrers API on or off, and images signed and attested with the
// cosign library in both the legacy and the Sigstore bundle format. It is imported only by
// tests, the load generator and the demo.
package sigtest

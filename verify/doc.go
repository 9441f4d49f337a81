// Package verify owns the registry and the cryptography, and knows nothing of Kubernetes or of
// policies beyond one authority. It resolves tags to digests, finds cosign signatures and
// in-toto attestations for a digest in both formats (legacy `.sig`/`.att` tags and Sigstore
// bundles found through the OCI referrers API or its tag fallback), verifies them against one
// Authority, and caches what it fetched. It returns a *Failure when the material does not prove
// the image trusted, and any other error when the registry could not be asked.
package verify

// Package trust owns where Sigstore trusted roots come from: the built-in names (public-good
// and github) with their embedded snapshots and TUF repositories, and TrustRoot TUF sources
// (a mirror, or a serialized repository for air-gapped clusters). It verifies each fetch with
// TUF, keeps the newest root it has verified, never goes back to an older one, refreshes in
// the background, and says when a root is stale. It knows nothing of policies or Kubernetes.
package trust

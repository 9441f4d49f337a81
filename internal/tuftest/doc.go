// Package tuftest builds real TUF repositories with go-tuf v2 (ed25519 keys, consistent
// snapshots) and serves them over loopback HTTP, for tests of TUF clients: publishing a new
// target, rotating the root key, expiring the timestamp, rolling the snapshot back, tampering
// with a target, and going down.
package tuftest

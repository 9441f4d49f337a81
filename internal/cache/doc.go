// Package cache is the one bounded, expiring, single-flight cache that Portcullis uses for
// digests, registry material and verdicts. Every entry expires, the number of entries is capped,
// identical work in flight is done once, and errors are never cached.
package cache

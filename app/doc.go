// Package app composes the `portcullis webhook` process: the controller-runtime manager (its
// scheme, caches, metrics server and leader election), its own serving certificate out of
// cluster, the admission webhooks and policy controller that package webhook installs, and the
// auditor from package audit. It is the only package that knows all of them; the adapters it
// wires (webhook, audit) do not import one another.
package app

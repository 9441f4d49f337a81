// Package preflight is the CI adapter of `portcullis verify`: it reads policies and manifests
// (multi-document YAML or JSON, Lists, directories, stdin), asks policy.Engine for the same
// Decision the webhook would make, renders it as text, JSON or SARIF, and pins manifests to
// digests. It decides nothing itself.
package preflight

// Package image builds Portcullis's own OCI image with go-containerregistry, from nothing but
// the Go toolchain and the module proxy: no Docker, no base image. Each platform's image is two
// layers on an empty base: a filesystem layer shared by every platform (CA certificates, a
// non-root user, /tmp) and the static portcullis binary at /usr/bin/portcullis, its entrypoint.
// The platforms' images are gathered in one OCI index, written as an OCI layout or pushed.
package image

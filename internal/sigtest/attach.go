package sigtest

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
)

// AttachSignature adds sig as a layer of d's legacy `.sig` image, beside those already there,
// as cosign does: for hand-made (hostile) layers.
func AttachSignature(t testing.TB, d name.Digest, sig oci.Signature) {
	t.Helper()
	se, err := ociremote.SignedEntity(d)
	must(t, err)
	se, err = mutate.AttachSignatureToEntity(se, sig)
	must(t, err)
	must(t, ociremote.WriteSignatures(d.Repository, se))
}

// AttachAttestation adds att to d's legacy `.att` image or, with referrer, as an OCI 1.1
// referrer of d.
func AttachAttestation(t testing.TB, d name.Digest, att oci.Signature, referrer bool) {
	t.Helper()
	se, err := ociremote.SignedEntity(d)
	must(t, err)
	se, err = mutate.AttachAttestationToEntity(se, att)
	must(t, err)
	if referrer {
		must(t, ociremote.WriteAttestationsReferrer(d, se))
		return
	}
	must(t, ociremote.WriteAttestations(d.Repository, se))
}

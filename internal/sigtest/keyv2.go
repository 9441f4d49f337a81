package sigtest

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// SignBundleV2 attaches a bundle-format signature of d made with k, logged in the Sigstore's
// Rekor v2 log (the entry names k's public key) and, with timestamp, timestamped by its TSA:
// as cosign v3 signs with a key and a Rekor v2 signing config. hint is the key hint the bundle
// carries; empty means k's own.
func (s *Sigstore) SignBundleV2(d name.Digest, k *Key, timestamp bool, hint string) error {
	statement, err := statementJSON(d, types.CosignSignPredicateType, nil)
	if err != nil {
		return err
	}
	_, sig, err := signEnvelope(k.SV, statement)
	if err != nil {
		return err
	}
	pub, err := k.SV.PublicKey()
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	if hint == "" {
		sum := sha256.Sum256(der)
		hint = base64.StdEncoding.EncodeToString(sum[:])
	}
	e, err := s.logEntryV2(keySigner(der), paeDigest(types.IntotoPayloadType, statement), sig, Genuine)
	if err != nil {
		return err
	}
	vm := &protobundle.VerificationMaterial{
		Content:     &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: hint}},
		TlogEntries: []*protorekor.TransparencyLogEntry{e},
	}
	if timestamp {
		ts, err := s.timestamp(sig, time.Now())
		if err != nil {
			return err
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts}}}
	}
	raw, err := protojson.Marshal(&protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: statement, PayloadType: types.IntotoPayloadType, Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	})
	if err != nil {
		return err
	}
	return ociremote.WriteAttestationNewBundleFormat(d, raw, types.CosignSignPredicateType)
}

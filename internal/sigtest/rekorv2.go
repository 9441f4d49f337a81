package sigtest

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortiles "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	rekornote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore/pkg/signature"
	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/encoding/protojson"
)

// RekorV2URL is the base URL the trusted root gives the Sigstore's Rekor v2 log; its host is
// the log's checkpoint origin.
const RekorV2URL = "https://log2025-1.rekor.localhost"

// Forgery is how an attacker makes a Rekor v2 entry for a signature the log never saw.
type Forgery int

const (
	// Genuine is no forgery: the trusted log includes the signature.
	Genuine Forgery = iota
	// UntrustedLog: a Rekor v2 log the trusted root does not name includes it, under the
	// trusted log's origin and log ID.
	UntrustedLog
	// UnknownLog: a Rekor v2 log the trusted root does not name includes it, under its own
	// log ID.
	UnknownLog
	// OtherOrigin: the trusted log's key signed the checkpoint, for another origin.
	OtherOrigin
	// NoInclusionProof: the entry carries no inclusion proof.
	NoInclusionProof
	// OtherSignature: the entry proven is another signature by the same certificate.
	OtherSignature
)

// logEntryV2 records, in the Sigstore's Rekor v2 log, a hashedrekord 0.0.2 entry of sig over
// digest by signer (a certificate or a public key): the log's fifth entry, with an inclusion proof in a tree of seven, a signed
// checkpoint, and no signed entry timestamp or integrated time (Rekor v2 has neither).
func (s *Sigstore) logEntryV2(signer *rekortiles.Verifier, digest, sig []byte, forgery Forgery) (*protorekor.TransparencyLogEntry, error) {
	logged := sig
	if forgery == OtherSignature {
		logged = append([]byte{}, sig...)
		logged[len(logged)-1] ^= 0x01
	}
	body, err := hashedRekordV2(signer, digest, logged)
	if err != nil {
		return nil, err
	}
	const index, size = 4, 7
	tree := testonly.New(rfc6962.DefaultHasher)
	for i := 0; i < size; i++ {
		leaf := body
		if i != index {
			leaf = fmt.Appendf(nil, "another entry %d", i)
		}
		tree.AppendData(leaf)
	}
	hashes, err := tree.InclusionProof(index, size)
	if err != nil {
		return nil, err
	}
	key, origin := s.rekorV2Key, "log2025-1.rekor.localhost"
	switch forgery {
	case UntrustedLog, UnknownLog:
		if _, key, err = ed25519.GenerateKey(rand.Reader); err != nil {
			return nil, err
		}
	case OtherOrigin:
		origin = "log2025-1.rekor.example"
	}
	checkpoint, err := signCheckpoint(key, origin, size, tree.Hash())
	if err != nil {
		return nil, err
	}
	logKey := s.rekorV2Key.Public()
	if forgery == UnknownLog {
		logKey = key.Public()
	}
	id, err := logID(logKey)
	if err != nil {
		return nil, err
	}
	e := &protorekor.TransparencyLogEntry{
		LogIndex: index, LogId: &protocommon.LogId{KeyId: id}, KindVersion: &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.2"},
		InclusionProof: &protorekor.InclusionProof{LogIndex: index, RootHash: tree.Hash(), TreeSize: size, Hashes: hashes,
			Checkpoint: &protorekor.Checkpoint{Envelope: checkpoint}},
		CanonicalizedBody: body,
	}
	if forgery == NoInclusionProof {
		e.InclusionProof = nil
	}
	return e, nil
}

// hashedRekordV2 is the canonical body Rekor v2 logs for sig over digest by signer.
func hashedRekordV2(signer *rekortiles.Verifier, digest, sig []byte) ([]byte, error) {
	entry := &rekortiles.Entry{Kind: "hashedrekord", ApiVersion: "0.0.2", Spec: &rekortiles.Spec{Spec: &rekortiles.Spec_HashedRekordV002{
		HashedRekordV002: &rekortiles.HashedRekordLogEntryV002{
			Data:      &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest},
			Signature: &rekortiles.Signature{Content: sig, Verifier: signer},
		},
	}}}
	raw, err := protojson.Marshal(entry)
	if err != nil {
		return nil, err
	}
	return jsoncanonicalizer.Transform(raw)
}

// certSigner and keySigner name an ECDSA P-256 signer in an entry: by its certificate, or by
// its public key (PKIX DER).
func certSigner(cert *x509.Certificate) *rekortiles.Verifier {
	return &rekortiles.Verifier{KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
		Verifier: &rekortiles.Verifier_X509Certificate{X509Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw}}}
}

func keySigner(der []byte) *rekortiles.Verifier {
	return &rekortiles.Verifier{KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
		Verifier: &rekortiles.Verifier_PublicKey{PublicKey: &rekortiles.PublicKey{RawBytes: der}}}
}

// signCheckpoint signs a C2SP checkpoint of a tree of size entries with root hash, as the log
// of origin does.
func signCheckpoint(key ed25519.PrivateKey, origin string, size uint64, hash []byte) (string, error) {
	sv, err := signature.LoadED25519SignerVerifier(key)
	if err != nil {
		return "", err
	}
	signer, err := rekornote.NewNoteSigner(context.Background(), origin, sv)
	if err != nil {
		return "", err
	}
	text := flog.Checkpoint{Origin: origin, Size: size, Hash: hash}.Marshal()
	signed, err := note.Sign(&note.Note{Text: string(text)}, signer)
	return string(signed), err
}

// paeDigest is the SHA-256 a Rekor v2 hashedrekord records for a DSSE envelope: of its
// pre-authentication encoding, which is what the signature signs.
func paeDigest(payloadType string, payload []byte) []byte {
	sum := sha256.Sum256(dsse.PAE(payloadType, payload))
	return sum[:]
}

func logID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(der)
	return id[:], nil
}

var errLegacyV2 = errors.New("a legacy cosign signature has no Rekor v2 form")

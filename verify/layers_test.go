package verify_test

import (
	"strings"
	"testing"

	"github.com/sigstore/cosign/v2/pkg/oci/static"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

// TestUnreadableLayerHidesNothing: a `.sig` layer whose certificate annotation is not a
// certificate (or is blank, which cosign v2.6.5 panics on) is refused alone; the valid
// signature beside it still verifies, and without it the reason names the bad layer.
func TestUnreadableLayerHidesNothing(t *testing.T) {
	reg := sigtest.NewRegistry(t, true)
	key := sigtest.NewKey(t)
	a := keyAuthority(t, key)
	for _, cert := range []string{"not a certificate", " \n "} {
		d := reg.PushRandom(t, "layers/app:1")
		bad, err := static.NewSignature([]byte(`{}`), "c2ln", static.WithCertChain([]byte(cert), nil))
		if err != nil {
			t.Fatal(err)
		}
		sigtest.AttachSignature(t, d, bad)
		_, err = session(t, newClient(t)).Verify(d, a)
		if !verify.IsFailure(err) || !strings.Contains(err.Error(), "is not a readable signature") {
			t.Fatalf("certificate %q alone: %v; want a failure naming the unreadable layer", cert, err)
		}
		key.SignLegacy(t, d)
		if res, err := session(t, newClient(t)).Verify(d, a); err != nil || len(res.Signatures) != 1 {
			t.Fatalf("certificate %q beside a valid signature: %+v, %v; want the valid one verified", cert, res, err)
		}
	}
}

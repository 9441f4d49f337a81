package verify

import (
	"errors"
	"strings"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

// noTimeMsg starts sigstore-go's refusal of a bundle with no verified time when the log is
// required: no signed entry timestamp of a trusted log and no trusted RFC 3161 timestamp.
const noTimeMsg = "threshold not met for verified signed & log entry integrated timestamps"

// explainBundle says why a bundle had no verified signing time, naming a Rekor v2 entry, which
// can have none of its own.
func explainBundle(err error, b *sgbundle.Bundle) error {
	msg := err.Error()
	i := strings.Index(msg, noTimeMsg)
	if i < 0 {
		return err
	}
	why := "no verified signing time: no signed entry timestamp from a trusted log, and no RFC 3161 timestamp from a trusted timestamp authority verifies"
	if hasRekorV2(b) {
		why = "its Rekor v2 log entry records no time, and no RFC 3161 timestamp from a trusted timestamp authority verifies"
	}
	if _, cause, ok := strings.Cut(msg[i:], "; error: "); ok && cause != "" && !strings.HasPrefix(cause, "%!w(<nil>)") { // sigstore-go joins no errors
		why += ": " + strings.TrimPrefix(cause, "unable to verify signed timestamps: ")
	}
	return errors.New(why)
}

// hasRekorV2 says whether any of b's transparency log entries is a Rekor v2 one.
func hasRekorV2(b *sgbundle.Bundle) bool {
	entries, err := b.TlogEntries()
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsRekorV2() {
			return true
		}
	}
	return false
}

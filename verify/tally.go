package verify

import (
	"fmt"
	"strings"
)

// maxReasons caps how many rejections a reason quotes, so one image with many bad signatures
// cannot flood an admission response.
const maxReasons = 3

// tally counts what was found and why each was rejected, to say so in one line.
type tally struct {
	found   int
	reasons []string
	notes   []string
}

// unreadable counts layers that could not be read as found, and rejected for that.
func (t *tally) unreadable(notes []string) {
	t.found += len(notes)
	t.reasons = append(t.reasons, notes...)
}

func (t *tally) reject(err error) {
	t.reasons = append(t.reasons, explain(oneLine(err.Error())))
}

// explain rewords the cosign errors users meet most into what they mean.
func explain(msg string) string {
	switch {
	case strings.Contains(msg, "signature in bundle does not match signature being verified"),
		strings.Contains(msg, "comparing public key PEMs"),
		strings.Contains(msg, "matching bundle to payload"),
		strings.Contains(msg, "transparency log signature does not match"),
		strings.Contains(msg, "transparency log certificate does not match"):
		return "its transparency log entry records another signature or key: an entry copied from another artifact"
	case strings.Contains(msg, "unable to extract statement from envelope"):
		return "the signed payload is not a readable in-toto statement"
	case strings.Contains(msg, "on envelope. Expected application/vnd.in-toto+json"):
		return "the signed payload is not an in-toto statement (DSSE payload type)"
	case strings.Contains(msg, "unverified checkpoint signature"):
		return "its log checkpoint is not signed by the transparency log the trust root names for that log ID and origin (another log's key, or another origin)"
	case strings.Contains(msg, "verifying inclusion: calculated root"):
		return "its log entry's inclusion proof does not lead from this signature to the signed checkpoint: the log recorded another signature, key or artifact"
	case strings.Contains(msg, "not enough verified log entries from transparency log"):
		return "no transparency log entry verified by a log the trust root names (none, one from another log, or one whose signed entry timestamp does not verify), and the authority requires one (tlog: require)"
	case strings.Contains(msg, "offline verification failed"):
		return "no transparency log entry, and the authority requires one (tlog: require)"
	case strings.HasPrefix(msg, "invalid or missing digest in claim: "):
		return "the signed payload names another image digest (" + strings.TrimPrefix(msg, "invalid or missing digest in claim: ") + "): a signature copied from another image"
	case strings.Contains(msg, "invalid signature when validating ASN.1 encoded signature"),
		strings.Contains(msg, "accepted signatures do not match threshold"),
		strings.Contains(msg, "verification error"):
		return "signed by another key"
	case strings.Contains(msg, "threshold not met for verified signed timestamps"):
		return "no signed timestamp from a trusted timestamp authority, and the authority ignores the transparency log (tlog: ignore)"
	case strings.Contains(msg, "no matching subject digest found"):
		return "the signed statement is about another image digest"
	}
	return msg
}

// reason renders "HEAD (N things found, none matched: why; why)".
func (t *tally) reason(head, thing string) string {
	if t.found == 0 {
		s := fmt.Sprintf("%s (no %ss found)", head, thing)
		if len(t.notes) > 0 {
			s += ": " + strings.Join(first(t.notes), "; ")
		}
		return s
	}
	plural := "s"
	if t.found == 1 {
		plural = ""
	}
	return fmt.Sprintf("%s (%d %s%s found, none matched: %s)", head, t.found, thing, plural,
		strings.Join(first(append(t.reasons, t.notes...)), "; "))
}

func first(xs []string) []string {
	if len(xs) > maxReasons {
		return append(xs[:maxReasons:maxReasons], fmt.Sprintf("and %d more", len(xs)-maxReasons))
	}
	return xs
}

// maxReasonBytes bounds one rejection: enough for a keyless one to name a CI workflow's
// certificate subject (150 bytes or more) and still say why.
const maxReasonBytes = 480

// oneLine flattens a multi-line library error and bounds its length.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxReasonBytes {
		s = s[:maxReasonBytes] + "…"
	}
	return s
}

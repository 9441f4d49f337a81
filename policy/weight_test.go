package policy

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOutcomeWeight: a cached verdict weighs at least its verified predicates, so the verdict
// cache's byte bound holds what attestations bring in.
func TestOutcomeWeight(t *testing.T) {
	small := &outcome{result: Pass}
	pred := json.RawMessage(`{"sbom": "` + strings.Repeat("x", 1<<20) + `"}`)
	big := &outcome{result: Pass, attestations: map[string][]attested{"https://spdx.dev/Document": {{Authority: "a", Predicate: pred}}}}
	if s, b := small.weight(), big.weight(); s <= 0 || b < int64(len(pred)) || b <= s {
		t.Fatalf("weights: %d for an outcome without predicates, %d for one with %d bytes of predicate", s, b, len(pred))
	}
}

package sigtest

// NewSigstoreWithoutLogs makes a Sigstore like GitHub's for private repositories: a Fulcio CA
// and a timestamp authority, and no transparency log and no CT log in its trusted root, so
// its certificates carry no SCT. Sign with it using Identity{NoTlog: true, Timestamp: true}.
func NewSigstoreWithoutLogs() (*Sigstore, error) {
	s, err := NewSigstore()
	if err != nil {
		return nil, err
	}
	s.withoutLogs = true
	return s, s.publish()
}

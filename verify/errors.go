package verify

import "errors"

// Failure is a verification outcome, not an infrastructure error: the registry answered, and
// what it holds does not satisfy the authority. Reason is written for the person who must fix it.
type Failure struct {
	Reason string
	// Hint says what would make the image pass, when there is something to say.
	Hint string
}

func (f *Failure) Error() string {
	if f.Hint == "" {
		return f.Reason
	}
	return f.Reason + "; to fix: " + f.Hint
}

// IsFailure reports whether err is a verification failure rather than an infrastructure error.
func IsFailure(err error) bool {
	var f *Failure
	return errors.As(err, &f)
}

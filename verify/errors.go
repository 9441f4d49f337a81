package verify

import (
	"errors"
	"fmt"
)

// Failure is a verification outcome, not an infrastructure error: the registry answered, and
// what it holds does not satisfy the authority. Reason is written for the person who must fix it.
type Failure struct {
	Reason string
}

func (f *Failure) Error() string { return f.Reason }

func failf(format string, args ...any) error {
	return &Failure{Reason: fmt.Sprintf(format, args...)}
}

// IsFailure reports whether err is a verification failure rather than an infrastructure error.
func IsFailure(err error) bool {
	var f *Failure
	return errors.As(err, &f)
}

package verify

import "fmt"

// panicked is a panic inside a verification library, caught.
type panicked struct{ value any }

func (p *panicked) Error() string {
	return fmt.Sprintf("the signature verifier failed on this signature: %v", p.value)
}

// guard runs a library verification and turns a panic in it into an error, so that hostile
// signature material cannot crash the process: cosign v2.6.5, for one, indexes an empty slice
// when a legacy signature carries an RFC 3161 timestamp that does not verify.
func guard[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicked{value: r}
		}
	}()
	return f()
}

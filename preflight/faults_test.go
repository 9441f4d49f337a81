package preflight_test

import (
	"net/http"
	"sync/atomic"
)

// atomicFault makes a registry hang on every request once armed, until the client gives up.
type atomicFault struct{ on atomic.Bool }

func (f *atomicFault) arm() { f.on.Store(true) }

func (f *atomicFault) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.on.Load() {
			<-r.Context().Done()
			return
		}
		h.ServeHTTP(w, r)
	})
}

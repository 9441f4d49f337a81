package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// errStopped is returned by start once the demo is stopping.
var errStopped = errors.New("the demo is stopping")

// stopper stops what the demo started, in reverse order and once, whether the demo ends, fails
// or is interrupted: envtest runs kube-apiserver and etcd in process groups of their own, so
// Ctrl-C does not reach them, and only the demo can stop them.
type stopper struct {
	mu      sync.Mutex
	stops   []func()
	stopped bool
}

// start runs f, which starts something and returns how to stop it. A signal that comes while f
// runs waits for it, so what f started is stopped too.
func (s *stopper) start(f func() (func(), error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errStopped
	}
	stop, err := f()
	if err != nil {
		return err
	}
	s.stops = append(s.stops, stop)
	return nil
}

// add registers stop, for something already started; once the demo is stopping, it stops it
// at once.
func (s *stopper) add(stop func()) {
	if s.start(func() (func(), error) { return stop, nil }) != nil {
		stop()
	}
}

// stop runs every registered stop, the latest first; later calls do nothing.
func (s *stopper) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
}

// onSignal, on Ctrl-C, SIGTERM or a closed terminal, cancels the script (its commands) and
// stops everything, then exits.
func (s *stopper) onSignal(cancel context.CancelFunc) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-c
		cancel()
		fmt.Fprintf(os.Stderr, "\ndemo: %v: stopping the webhook, the registry and the control plane\n", sig)
		s.stop()
		os.Exit(130)
	}()
}

package envtesting

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Balancer stands in for a Service in front of webhook replicas: kube-proxy cannot run here.
// Like a Service whose endpoints follow readiness, it sends each new connection to a replica
// that accepts it, trying them in turn.
type Balancer struct {
	Addr     string
	mu       sync.Mutex
	backends []string
	next     int
}

// NewBalancer listens on loopback and forwards to backends; it stops when the test ends.
func NewBalancer(t testing.TB, backends ...string) *Balancer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &Balancer{Addr: l.Addr().String(), backends: backends}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go b.forward(c)
		}
	}()
	return b
}

func (b *Balancer) forward(client net.Conn) {
	defer client.Close()
	b.mu.Lock()
	start := b.next
	b.next++
	n := len(b.backends)
	b.mu.Unlock()
	for i := 0; i < n; i++ {
		backend, err := net.Dial("tcp", b.backends[(start+i)%n])
		if err != nil {
			continue // a stopped replica: try the next, as a Service would route around it
		}
		defer backend.Close()
		done := make(chan struct{}, 2)
		go func() { io.Copy(backend, client); done <- struct{}{} }()
		go func() { io.Copy(client, backend); done <- struct{}{} }()
		<-done
		return
	}
}

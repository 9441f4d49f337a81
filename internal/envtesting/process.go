package envtesting

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/webhook"
)

// Process is `portcullis webhook` run out of cluster as a process of its own, as `make demo`
// and the load generator run it.
type Process struct {
	// Args are the arguments after the binary's name.
	Args []string
	// URL is where it serves /mutate and /validate; CA is the CA of its serving certificate, as
	// it registered it in both webhook configurations.
	URL  string
	CA   []byte
	Pid  int
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{} // closed when the process has exited
}

// StartProcess runs bin/portcullis webhook against kubeconfig, with --register-url on a free
// loopback port followed by args, and waits until /readyz answers and the webhook configurations
// carry its CA.
func StartProcess(bin, kubeconfig string, args ...string) (*Process, error) {
	port, err := Port()
	if err != nil {
		return nil, err
	}
	probe, err := Port()
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, err
	}
	p := &Process{URL: fmt.Sprintf("https://127.0.0.1:%d", port), out: &bytes.Buffer{}, done: make(chan struct{})}
	p.Args = append([]string{"webhook", "--kubeconfig", kubeconfig, "--port", fmt.Sprint(port), "--register-url", p.URL,
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probe)}, args...)
	p.cmd = exec.Command(filepath.Join(bin, "portcullis"), p.Args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (make build makes it): %w", p.cmd.Path, err)
	}
	p.Pid = p.cmd.Process.Pid
	go func() { p.cmd.Wait(); close(p.done) }()
	ctx := context.Background()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-p.done:
			return nil, fmt.Errorf("the webhook exited: %s\n%s", p.cmd.ProcessState, p.out)
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", probe))
		if err != nil {
			continue
		}
		resp.Body.Close()
		var mwc admissionregistrationv1.MutatingWebhookConfiguration
		if resp.StatusCode != http.StatusOK || cl.Get(ctx, client.ObjectKey{Name: webhook.Name}, &mwc) != nil || len(mwc.Webhooks) == 0 {
			continue
		}
		p.CA = mwc.Webhooks[0].ClientConfig.CABundle
		return p, nil
	}
	p.Stop()
	return nil, fmt.Errorf("the webhook did not become ready:\n%s", p.out)
}

// Stop stops the process as a pod deletion does, with SIGTERM, so it unregisters itself; it is
// killed if it has not exited after 20 seconds.
func (p *Process) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
	case <-p.done:
	}
}

// Port returns a free loopback port.
func Port() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

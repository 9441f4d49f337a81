package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/verify"
	"github.com/portcullis-dev/portcullis/webhook"
)

// registryServer is a real registry that counts requests and can be slowed down.
type registryServer struct {
	host     string
	requests atomic.Int64
	delay    atomic.Int64 // nanoseconds added to each request
	close    func()
}

func newRegistry() (*registryServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &registryServer{host: l.Addr().String()}
	reg := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		time.Sleep(time.Duration(r.delay.Load()))
		reg.ServeHTTP(w, req)
	})}
	go srv.Serve(l)
	r.close = func() { srv.Close() }
	return r, nil
}

// childRegistry runs the registry in a child process (this program with -serve-registry), so
// the memory measured here is Portcullis's alone.
func childRegistry() (*registryServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(exe, "-serve-registry", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return &registryServer{host: addr, close: func() { cmd.Process.Kill(); cmd.Wait() }}, nil
		}
	}
	cmd.Process.Kill()
	return nil, fmt.Errorf("the child registry did not start")
}

// serveRegistry is the child process's whole job.
func serveRegistry(addr string) error {
	reg := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	return http.ListenAndServe(addr, reg)
}

// pushSigned pushes n images signed by key (unsigned when key is nil) under repo and returns
// their tag references.
func (r *registryServer) pushSigned(key *sigtest.Key, repo string, n int) ([]string, error) {
	var refs []string
	for i := range n {
		img, err := random.Image(2048, 2)
		if err != nil {
			return nil, err
		}
		ref, err := name.ParseReference(fmt.Sprintf("%s/%s/app%d:1.%d", r.host, repo, i, i))
		if err != nil {
			return nil, err
		}
		if err := remote.Write(ref, img); err != nil {
			return nil, err
		}
		h, _ := img.Digest()
		d := ref.Context().Digest(h.String())
		if key == nil {
			refs = append(refs, ref.String())
			continue // unsigned
		}
		if err := key.WriteSignature(d, d); err != nil {
			return nil, err
		}
		refs = append(refs, ref.String())
	}
	return refs, nil
}

// newEngine compiles one ClusterImagePolicy covering host/repo/** with key.
func newEngine(host, repo string, key *sigtest.Key) (*policy.Engine, error) {
	vc, err := verify.New()
	if err != nil {
		return nil, err
	}
	set := policy.Compile(policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{*releasePolicy(host, repo, key)}})
	if err := set.Policies()[0].Err; err != nil {
		return nil, err
	}
	return policy.NewEngine(vc, set, policy.WithNoMatch(policy.NoMatchDeny))
}

// releasePolicy is the one ClusterImagePolicy of every scenario: host/repo/** signed by key.
func releasePolicy(host, repo string, key *sigtest.Key) *v1alpha1.ClusterImagePolicy {
	return &v1alpha1.ClusterImagePolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "release", UID: "uid-1", Generation: 1},
		Spec: v1alpha1.ImagePolicySpec{Images: []v1alpha1.ImagePattern{{Glob: host + "/" + repo + "/**"}},
			Authorities: []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{Data: string(key.PEM)}}}},
	}
}

// webhookServer serves Portcullis's mutating handler over HTTPS on loopback, timing each
// handler call.
type webhookServer struct {
	url    string
	client *http.Client
	timer  *recorder
	close  func()
}

func serveWebhook(e *policy.Engine) (*webhookServer, error) { return serveHandler(e, true) }

// serveHandler serves the mutating handler, or the validating one at /validate.
func serveHandler(e *policy.Engine, mutate bool) (*webhookServer, error) {
	dir, err := os.MkdirTemp("", "portcullis-load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	url := "https://" + l.Addr().String()
	ca, err := webhook.SelfSignedCert(url, dir)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		return nil, err
	}
	h := &webhook.Handler{Engine: e, Mutate: mutate, Deadline: webhook.Deadline(10), Log: logr.Discard()}
	ws := &webhookServer{url: url + map[bool]string{true: "/mutate", false: "/validate"}[mutate], timer: &recorder{}}
	adm := &crwebhook.Admission{Handler: admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		start := time.Now()
		resp := h.Handle(ctx, req)
		ws.timer.add(time.Since(start))
		return resp
	})}
	srv := &http.Server{Handler: adm, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go srv.ServeTLS(l, "", "")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	ws.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 256}}
	ws.close = func() { srv.Close() }
	return ws, nil
}

// post sends one AdmissionReview and checks that it was allowed.
func (ws *webhookServer) post(body []byte) error {
	resp, err := ws.review(body)
	if err != nil {
		return err
	}
	if !resp.Allowed {
		return fmt.Errorf("not allowed: %+v", resp)
	}
	return nil
}

// review sends one AdmissionReview and returns the webhook's response.
func (ws *webhookServer) review(body []byte) (*admissionv1.AdmissionResponse, error) {
	resp, err := ws.client.Post(ws.url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var ar admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&ar); err != nil {
		return nil, err
	}
	if ar.Response == nil {
		return nil, errors.New("no response")
	}
	return ar.Response, nil
}

// podReview is the AdmissionReview the API server sends for a pod with these images.
func podReview(images []string) []byte {
	p := corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "load", Namespace: "default"}}
	for i, img := range images {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: img})
	}
	raw, _ := json.Marshal(p)
	b, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "load", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: "default",
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}},
	})
	return b
}

// recorder keeps durations for percentiles.
type recorder struct {
	mu sync.Mutex
	ds []time.Duration
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.ds = append(r.ds, d)
	r.mu.Unlock()
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.ds = nil
	r.mu.Unlock()
}

// percentiles returns p50, p95 and p99.
func (r *recorder) percentiles() (p50, p95, p99 time.Duration, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ds := append([]time.Duration(nil), r.ds...)
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	if len(ds) == 0 {
		return 0, 0, 0, 0
	}
	at := func(q float64) time.Duration { return ds[int(q*float64(len(ds)-1))] }
	return at(0.50), at(0.95), at(0.99), len(ds)
}

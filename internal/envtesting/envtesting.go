// Package envtesting starts what webhook tests run against: a real kube-apiserver and etcd
// (envtest, with binaries built from the module proxy), Portcullis's CRDs, and the webhook
// process itself, registered out of cluster exactly as `portcullis webhook --register-url` does.
package envtesting

import (
	"context"
	"fmt"
	"github.com/portcullis-dev/portcullis/app"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/portcullis-dev/portcullis/internal/tooltest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/webhook"
)

// Cluster is a running API server with Portcullis registered in it.
type Cluster struct {
	Config *rest.Config
	// Kubeconfig is the path of an administrator's kubeconfig, for CLIs.
	Kubeconfig string
	Client     client.Client
	// URL is where the webhook serves /mutate and /validate; ProbeURL serves /readyz.
	URL, ProbeURL string
	// Warnings are the admission warnings the API server passed on, in order.
	Warnings *Warnings
	stop     func()
}

// Warnings records the Warning headers the API server returns.
type Warnings struct {
	mu   sync.Mutex
	list []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *Warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// Take returns the warnings seen since the last Take.
func (w *Warnings) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

// APIServer starts kube-apiserver and etcd with Portcullis's CRDs and the PolicyReport CRDs
// installed, and stops them when the test ends.
func APIServer(t testing.TB) *rest.Config {
	t.Helper()
	cfg, _ := apiServer(t, nil)
	return cfg
}

func apiServer(t testing.TB, flags map[string]string) (*rest.Config, string) {
	root := tooltest.Root(t)
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "charts/portcullis/crds"), filepath.Join(root, "charts/portcullis/report-crds")},
		ErrorIfCRDPathMissing: true,
	}
	for name, value := range flags {
		env.ControlPlane.GetAPIServer().Configure().Set(name, value)
	}
	return start(t, env)
}

// APIServerKubeconfig is APIServer, and returns the path of an administrator's kubeconfig too,
// for the portcullis command.
func APIServerKubeconfig(t testing.TB) (*rest.Config, string) {
	t.Helper()
	return apiServer(t, nil)
}

// BareAPIServer starts kube-apiserver and etcd with nothing installed, and returns the path of
// a kubeconfig for an administrator, for tools such as helm and kubectl.
func BareAPIServer(t testing.TB) (*rest.Config, string) {
	t.Helper()
	return start(t, &envtest.Environment{})
}

func start(t testing.TB, env *envtest.Environment) (*rest.Config, string) {
	env.BinaryAssetsDirectory = tooltest.Assets(t)
	cfg, kubeconfig, stop, err := controlPlane(env, t.TempDir())
	if err != nil {
		t.Fatalf("starting kube-apiserver and etcd: %v", err)
	}
	t.Cleanup(stop)
	return cfg, kubeconfig
}

// LocalControlPlane starts kube-apiserver and etcd from bin/k8s with the CRDs in crdDirs, for
// programs rather than tests (make demo, the load generator). It writes an administrator's
// kubeconfig into dir and returns its path; stop stops both.
func LocalControlPlane(bin, dir string, crdDirs ...string) (cfg *rest.Config, kubeconfig string, stop func(), err error) {
	return controlPlane(&envtest.Environment{BinaryAssetsDirectory: filepath.Join(bin, "k8s"), CRDDirectoryPaths: crdDirs, ErrorIfCRDPathMissing: len(crdDirs) > 0}, dir)
}

func controlPlane(env *envtest.Environment, dir string) (*rest.Config, string, func(), error) {
	cfg, err := env.Start()
	if err != nil {
		return nil, "", nil, err
	}
	stop := func() { env.Stop() }
	kubeconfig := filepath.Join(dir, "kubeconfig")
	admin, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, cfg)
	if err == nil {
		var kc []byte
		if kc, err = admin.KubeConfig(); err == nil {
			err = os.WriteFile(kubeconfig, kc, 0o600)
		}
	}
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	return cfg, kubeconfig, stop, nil
}

// Start starts the API server and the webhook process with opts (Port, RegisterURL and the
// probe address are chosen here; /metrics is off unless opts.MetricsAddr says where), and the
// auditor when audit is given, and stops them when the test ends.
func Start(t *testing.T, opts webhook.Options, audit ...app.Audit) *Cluster {
	t.Helper()
	opts.Port = freePort(t)
	return StartWithAPIServerFlags(t, opts, nil, audit...)
}

// StartWithAPIServerFlags is Start with kube-apiserver given flags (name to value, over
// envtest's), and the webhook on opts.Port, which the caller chooses (FreePort) so that files
// the flags name can say where the webhook is.
func StartWithAPIServerFlags(t *testing.T, opts webhook.Options, flags map[string]string, audit ...app.Audit) *Cluster {
	t.Helper()
	cfg, kubeconfig := apiServer(t, flags)
	port, probe := opts.Port, freePort(t)
	opts.RegisterURL = fmt.Sprintf("https://127.0.0.1:%d", port)
	opts.ProbeAddr = fmt.Sprintf("127.0.0.1:%d", probe)
	if opts.MetricsAddr == "" {
		opts.MetricsAddr = "0"
	}
	if opts.TimeoutSeconds == 0 {
		opts.TimeoutSeconds = 10
	}
	if opts.NoMatch == "" {
		opts.NoMatch = policy.NoMatchWarn
	}
	if opts.InstallNamespace == "" {
		opts.InstallNamespace = "portcullis-system"
	}
	opts.PodPullSecrets = true // as the binary's flag defaults
	if opts.Trust.PublicGoodMirror == "" {
		opts.Trust.Offline = true // tests never ask Sigstore's own mirror
	}
	if opts.Log.GetSink() == nil {
		opts.Log = testr.NewWithOptions(t, testr.Options{Verbosity: 0})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, process(opts, audit)) }()
	c := &Cluster{Config: cfg, Kubeconfig: kubeconfig, URL: opts.RegisterURL, ProbeURL: "http://" + opts.ProbeAddr, Warnings: &Warnings{}}
	c.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("webhook: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("webhook did not stop")
		}
	}
	t.Cleanup(c.stop)
	wcfg := rest.CopyConfig(cfg)
	wcfg.WarningHandler = c.Warnings
	scheme, err := webhook.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	if c.Client, err = client.New(wcfg, client.Options{Scheme: scheme}); err != nil {
		t.Fatal(err)
	}
	c.waitReady(t, done)
	return c
}

// waitReady waits for /readyz and for the webhook configurations to be registered.
func (c *Cluster) waitReady(t testing.TB, done chan error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("webhook stopped: %v", err)
		default:
		}
		resp, err := http.Get(c.ProbeURL + "/readyz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && c.registered(t) {
			return
		}
	}
	t.Fatal("webhook did not become ready")
}

func (c *Cluster) registered(t testing.TB) bool {
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(admissionGVK)
	if err := c.Client.List(context.Background(), &list); err != nil {
		return false
	}
	return len(list.Items) > 0
}

// Namespace creates a namespace with labels and returns its name.
func (c *Cluster) Namespace(t testing.TB, name string, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := c.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

func freePort(t testing.TB) int {
	t.Helper()
	port, err := Port()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// Replica runs one webhook process against cfg until its stop function is called (or the test
// ends). Port, ProbeAddr and MetricsAddr must be set in opts.
type Replica struct {
	Opts webhook.Options
	stop func()
}

// RunReplica starts a webhook replica with opts, as the chart runs one (no --register-url),
// with the auditor when audit is given.
func RunReplica(t *testing.T, cfg *rest.Config, opts webhook.Options, audit ...app.Audit) *Replica {
	t.Helper()
	if opts.Log.GetSink() == nil {
		opts.Log = testr.NewWithOptions(t, testr.Options{Verbosity: 0})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, process(opts, audit)) }()
	var once sync.Once
	r := &Replica{Opts: opts}
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("replica on port %d: %v", opts.Port, err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("replica on port %d did not stop", opts.Port)
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// Stop stops the replica gracefully, as a pod deletion or a node drain does.
func (r *Replica) Stop() { r.stop() }

// Ready reports whether the replica's /readyz answers 200.
func (r *Replica) Ready() bool {
	resp, err := http.Get("http://" + r.Opts.ProbeAddr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// FreePort returns a free loopback port.
func FreePort(t testing.TB) int { return freePort(t) }

// process is the process's options: opts, and the auditor's if given.
func process(opts webhook.Options, audit []app.Audit) app.Options {
	o := app.Options{Options: opts}
	if len(audit) > 0 {
		o.Audit = audit[0]
	}
	return o
}

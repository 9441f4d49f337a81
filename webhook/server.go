package webhook

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	reports "github.com/portcullis-dev/portcullis/api/reports/v1alpha2"
	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/cluster"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/trust"
	"github.com/portcullis-dev/portcullis/verify"
)

// Scheme returns the scheme the webhook's clients use: Kubernetes' built-in kinds and ours.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, reports.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Deadline is the time an admission may take: shorter than timeoutSeconds, so a slow registry
// gives Portcullis's own reason rather than the API server's timeout.
func Deadline(timeoutSeconds int32) time.Duration {
	t := time.Duration(timeoutSeconds) * time.Second
	d := t * 8 / 10
	if t-d > 2*time.Second {
		d = t - 2*time.Second
	}
	return d
}

func controllerOptions() controller.Options {
	skip := true      // several webhooks may run in one test process
	everyone := false // every replica compiles the policies it judges with
	return controller.Options{SkipNameValidation: &skip, NeedLeaderElection: &everyone, MaxConcurrentReconciles: 1}
}

// everyReplica is a runnable that runs on every replica, leader or not.
type everyReplica func(context.Context) error

func (f everyReplica) Start(ctx context.Context) error { return f(ctx) }

// NeedLeaderElection is false.
func (everyReplica) NeedLeaderElection() bool { return false }

// Installed is what Install put in the manager that the process composes the rest with.
type Installed struct {
	Engine      *policy.Engine
	Credentials *cluster.Credentials
	Policies    *Policies
}

// Install adds to mgr, for o, everything that serves admission on every replica: the Engine and
// its registry client, the policy controller and the trust roots it compiles with, the
// /mutate, /validate and /validate-policy handlers, the readiness checks, the serving
// certificate's sync or rotation and, out of cluster (caBundle), the webhook registration.
func Install(ctx context.Context, mgr manager.Manager, cs corev1client.CoreV1Interface, o *Options, caBundle []byte) (*Installed, error) {
	log := o.Log
	m := processMetrics()
	kc, err := cluster.ProcessKeychain(ctx, cs, o.InstallNamespace, o.SignaturePullSecrets, o.CloudKeychains, log.WithName("keychain"))
	if err != nil {
		return nil, err
	}
	// The registry label is bounded by the policies in use, which the Engine, made after the
	// client, holds.
	var labels atomic.Pointer[policy.Engine]
	observe := func(host string, code int) { m.registryRequest(labels.Load(), host, code) }
	vc, err := verify.New(append([]verify.Option{verify.WithKeychain(kc), verify.WithRequestObserver(observe)}, o.VerifyOptions...)...)
	if err != nil {
		return nil, err
	}
	engine, err := policy.NewEngine(vc, nil, append([]policy.EngineOption{policy.WithNoMatch(o.NoMatch), policy.WithVerificationObserver(m.verified)}, o.EngineOptions...)...)
	if err != nil {
		return nil, err
	}
	labels.Store(engine)
	caches.Store(&cacheSources{engine: engine, client: vc})
	pols := &Policies{Client: mgr.GetClient(), Secrets: mgr.GetAPIReader(), Engine: engine, InstallNamespace: o.InstallNamespace,
		RegoLimits: o.RegoLimits, Events: mgr.GetEventRecorder("portcullis"), Leading: leading(mgr), Log: log.WithName("policies")}
	// Trust roots refresh in the background and never hold up an admission; a new root, or a
	// change in its freshness, recompiles (a new root's digest re-keys the verdicts).
	o.Trust.OnChange, o.Trust.Log = pols.Recompile, log.WithName("trust")
	pols.Trust = trust.NewRegistry(o.Trust)
	if err := pols.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	pols.Trust.Start(ctx) // after SetupWithManager: a refresh may call Recompile at once
	serveTrustMetrics(pols.Trust)
	creds := &cluster.Credentials{Process: kc, Log: log.WithName("credentials")}
	if o.PodPullSecrets {
		creds.PodSecrets = cs
	}
	srvOpts := crwebhook.Options{Port: o.Port, CertDir: o.CertDir}
	if o.ClientCAFile != "" {
		tlsOpt, err := requireClientCert(o.ClientCAFile)
		if err != nil {
			return nil, err
		}
		srvOpts.TLSOpts = append(srvOpts.TLSOpts, tlsOpt)
	}
	srv := crwebhook.NewServer(srvOpts)
	registerHandlers(srv, mgr, engine, creds, m, o, pols.Trust)
	if err := addChecks(mgr, srv, pols); err != nil {
		return nil, err
	}
	if err := serveWhenCertified(mgr, srv, o, log); err != nil {
		return nil, err
	}
	// The replica elected leader writes every policy's status at once, not at the next change.
	if err := mgr.Add(manager.RunnableFunc(func(context.Context) error {
		pols.Recompile()
		return nil
	})); err != nil {
		return nil, err
	}
	if o.RegisterURL != "" {
		opts := *o
		if err := mgr.Add(everyReplica(func(ctx context.Context) error {
			return registerWhileRunning(ctx, mgr, srv, pols, opts, caBundle, log)
		})); err != nil {
			return nil, err
		}
	}
	return &Installed{Engine: engine, Credentials: creds, Policies: pols}, nil
}

// MetricsServer serves /metrics over HTTPS to authenticated, authorized scrapers, with the
// certificate in MetricsCertDir or, when it holds none, one controller-runtime makes itself.
func MetricsServer(o *Options) metricsserver.Options {
	if o.UnsafeMetricsHTTP {
		return metricsserver.Options{BindAddress: o.MetricsAddr}
	}
	return metricsserver.Options{BindAddress: o.MetricsAddr, SecureServing: true, FilterProvider: metricsAccess, CertDir: o.MetricsCertDir}
}

func registerHandlers(srv crwebhook.Server, mgr manager.Manager, engine *policy.Engine, creds *cluster.Credentials, m *Metrics, o *Options, reg *trust.Registry) {
	recoverPanic := true
	for path, mutate := range map[string]bool{"/mutate": true, "/validate": false} {
		h := &Handler{Engine: engine, Mutate: mutate, Credentials: creds, Deadline: Deadline(o.TimeoutSeconds),
			Events: mgr.GetEventRecorder("portcullis"), Metrics: m, Log: o.Log.WithName(path[1:])}
		srv.Register(path, &crwebhook.Admission{Handler: h, RecoverPanic: &recoverPanic})
	}
	srv.Register(PolicyCheckPath, policyCheckWebhook(mgr, o, reg))
}

// addChecks makes /healthz answer while the process runs, and /readyz only once the policies
// are compiled from synced informers and the webhook server answers.
func addChecks(mgr manager.Manager, srv crwebhook.Server, pols *Policies) error {
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("policies", func(*http.Request) error {
		if !pols.Synced() {
			return errors.New("policies not compiled yet")
		}
		return nil
	}); err != nil {
		return err
	}
	return mgr.AddReadyzCheck("webhook", srv.StartedChecker())
}

// leading reports whether this replica is the elected leader (always, without election).
func leading(mgr manager.Manager) func() bool {
	elected := mgr.Elected()
	return func() bool {
		select {
		case <-elected:
			return true
		default:
			return false
		}
	}
}

// registerWhileRunning registers the webhook configurations once the server answers and the
// first policy set is compiled (as the in-cluster readiness gate waits for both: until then
// every image would be judged by noMatch alone), and removes them when ctx ends, so a stopped
// out-of-cluster webhook never blocks the cluster.
func registerWhileRunning(ctx context.Context, mgr manager.Manager, srv crwebhook.Server, pols *Policies, o Options, caBundle []byte, log logr.Logger) error {
	for srv.StartedChecker()(nil) != nil || !pols.Synced() {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	reg := Registration{Name: o.WebhookConfigName, URL: o.RegisterURL, CABundle: caBundle, InstallNamespace: o.InstallNamespace, TimeoutSeconds: o.TimeoutSeconds}
	if err := Register(ctx, mgr.GetClient(), reg); err != nil {
		return err
	}
	log.Info("registered the webhook configurations", "url", o.RegisterURL)
	<-ctx.Done()
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Unregister(cctx, mgr.GetClient(), o.WebhookConfigName); err != nil {
		log.Error(err, "unregistering")
		return err
	}
	log.Info("unregistered the webhook configurations")
	return nil
}

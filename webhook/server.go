package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/verify"
)

// Options configure the webhook process.
type Options struct {
	// Port serves /mutate and /validate over TLS.
	Port int
	// CertDir holds tls.crt and tls.key. With RegisterURL, a generated certificate is used.
	CertDir string
	// MetricsAddr and ProbeAddr serve /metrics and /healthz, /readyz; "0" turns them off.
	MetricsAddr, ProbeAddr string
	NoMatch                policy.NoMatch
	// RegisterURL, when set, is the https URL the API server reaches this process at: the
	// process makes its own certificate and registers the webhook configurations for it.
	RegisterURL      string
	InstallNamespace string
	// TimeoutSeconds is the webhooks' timeoutSeconds; each admission's own deadline is shorter.
	TimeoutSeconds int32
	VerifyOptions  []verify.Option
	EngineOptions  []policy.EngineOption
	Log            logr.Logger
}

// Scheme returns the scheme the webhook's clients use: Kubernetes' built-in kinds and ours.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, v1alpha1.AddToScheme(s)
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
	skip := true // several webhooks may run in one test process
	return controller.Options{SkipNameValidation: &skip, MaxConcurrentReconciles: 1}
}

// Run serves both webhooks until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	log := o.Log
	scheme, err := Scheme()
	if err != nil {
		return err
	}
	var caBundle []byte
	if o.RegisterURL != "" {
		dir, err := os.MkdirTemp("", "portcullis-certs-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if caBundle, err = SelfSignedCert(o.RegisterURL, dir); err != nil {
			return err
		}
		o.CertDir = dir
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Logger:                 log,
		Metrics:                metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress: o.ProbeAddr,
		WebhookServer:          crwebhook.NewServer(crwebhook.Options{Port: o.Port, CertDir: o.CertDir}),
	})
	if err != nil {
		return fmt.Errorf("starting the manager: %w", err)
	}
	vc, err := verify.New(o.VerifyOptions...)
	if err != nil {
		return err
	}
	engine, err := policy.NewEngine(vc, nil, append([]policy.EngineOption{policy.WithNoMatch(o.NoMatch)}, o.EngineOptions...)...)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	pols := &Policies{Client: mgr.GetClient(), Secrets: mgr.GetAPIReader(), Engine: engine, InstallNamespace: o.InstallNamespace, Log: log.WithName("policies")}
	if err := pols.SetupWithManager(mgr); err != nil {
		return err
	}
	srv := mgr.GetWebhookServer()
	recoverPanic := true
	for path, mutate := range map[string]bool{"/mutate": true, "/validate": false} {
		h := &Handler{Engine: engine, Mutate: mutate, Clientset: cs, Deadline: Deadline(o.TimeoutSeconds), Log: log.WithName(path[1:])}
		srv.Register(path, &crwebhook.Admission{Handler: h, RecoverPanic: &recoverPanic})
	}
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
	if err := mgr.AddReadyzCheck("webhook", srv.StartedChecker()); err != nil {
		return err
	}
	// Compile once the informers have synced, even if no policy exists to trigger a watch event.
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return nil
		}
		if _, err := pols.Reconcile(ctx, key); err != nil {
			log.Error(err, "first policy compile")
		}
		if o.RegisterURL == "" {
			return nil
		}
		return registerWhileRunning(ctx, mgr, srv, o, caBundle, log)
	})); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// registerWhileRunning registers the webhook configurations once the server answers, and
// removes them when ctx ends, so a stopped out-of-cluster webhook never blocks the cluster.
func registerWhileRunning(ctx context.Context, mgr manager.Manager, srv crwebhook.Server, o Options, caBundle []byte, log logr.Logger) error {
	for srv.StartedChecker()(nil) != nil {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	reg := Registration{URL: o.RegisterURL, CABundle: caBundle, InstallNamespace: o.InstallNamespace, TimeoutSeconds: o.TimeoutSeconds}
	if err := Register(ctx, mgr.GetClient(), reg); err != nil {
		return err
	}
	log.Info("registered the webhook configurations", "url", o.RegisterURL)
	<-ctx.Done()
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Unregister(cctx, mgr.GetClient()); err != nil {
		log.Error(err, "unregistering")
		return err
	}
	log.Info("unregistered the webhook configurations")
	return nil
}

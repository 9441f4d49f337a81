package app

import (
	"context"
	"os"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/audit"
	"github.com/portcullis-dev/portcullis/webhook"
)

// Options configure the process: the webhook's options, and the auditor's.
type Options struct {
	webhook.Options
	Audit Audit
}

// Audit configures the auditor, which the elected replica runs.
type Audit struct {
	// Interval is the time between scans of every running pod; 0 turns the auditor off. A
	// policy change triggers a scan at once.
	Interval time.Duration
	// Rate is the registry requests per second a scan may make (5 when 0).
	Rate float64
	// MaxResults caps the rows of one PolicyReport.
	MaxResults int
	// Parallelism is how many images a scan judges at once, and ImageTimeout how long each
	// may take; zero takes the audit package's defaults.
	Parallelism  int
	ImageTimeout time.Duration
}

// Run runs the process until ctx ends: both webhooks and the policy controller on every
// replica, and the auditor on the elected one.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	if err := o.Defaults(); err != nil {
		return err
	}
	scheme, err := webhook.Scheme()
	if err != nil {
		return err
	}
	var caBundle []byte
	if o.RegisterURL != "" { // out of cluster: a certificate of its own, for the URL it registers
		dir, err := os.MkdirTemp("", "portcullis-certs-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if caBundle, err = webhook.SelfSignedCert(o.RegisterURL, dir); err != nil {
			return err
		}
		o.CertDir = dir
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Logger:                        o.Log,
		Metrics:                       webhook.MetricsServer(&o.Options),
		HealthProbeBindAddress:        o.ProbeAddr,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              o.WebhookConfigName,
		LeaderElectionNamespace:       o.InstallNamespace,
		LeaderElectionReleaseOnCancel: true,
		// Secrets are watched only where Portcullis keeps its own: the install namespace.
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Namespaces: map[string]cache.Config{o.InstallNamespace: {}}},
		}},
	})
	if err != nil {
		return err
	}
	cs, err := corev1client.NewForConfigAndClient(cfg, mgr.GetHTTPClient())
	if err != nil {
		return err
	}
	w, err := webhook.Install(ctx, mgr, cs, &o.Options, caBundle)
	if err != nil {
		return err
	}
	if o.Audit.Interval > 0 {
		r := o.Audit.Rate
		if r <= 0 {
			r = 5
		}
		a := &audit.Auditor{Client: mgr.GetClient(), Pods: mgr.GetAPIReader(), Engine: w.Engine, Credentials: w.Credentials,
			Interval: o.Audit.Interval, RegistryRate: rate.NewLimiter(rate.Limit(r), 1), MaxResults: o.Audit.MaxResults,
			Parallelism: o.Audit.Parallelism, ImageTimeout: o.Audit.ImageTimeout, Ready: w.Policies.Synced, Log: o.Log.WithName("audit")}
		w.Policies.OnCompile = a.Trigger   // before the manager starts the policy controller
		if err := mgr.Add(a); err != nil { // a leader-only runnable
			return err
		}
	}
	return mgr.Start(ctx)
}

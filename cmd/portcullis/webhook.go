package main

import (
	"fmt"
	"github.com/portcullis-dev/portcullis/app"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/portcullis-dev/portcullis/audit"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/verify"
	"github.com/portcullis-dev/portcullis/webhook"
)

func webhookCommand() *cobra.Command {
	var (
		o            app.Options
		kubeconfig   string
		noMatch      string
		logLevel     string
		registryCA   string
		insecureRegs []string
		limits       = verify.DefaultLimits()
		maxImages    int
		verdictBytes int64
		metricsTLS   bool
		tufFlags     trustFlags
	)
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Serve the mutating and validating admission webhooks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.NoMatch, err = policy.ParseNoMatch(noMatch); err != nil {
				return err
			}
			var level zapcore.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: %w", logLevel, err)
			}
			o.Log = zap.New(zap.JSONEncoder(), zap.Level(level))
			ctrl.SetLogger(o.Log)
			if registryCA != "" {
				pem, err := os.ReadFile(registryCA)
				if err != nil {
					return fmt.Errorf("--registry-ca-file: %w", err)
				}
				o.VerifyOptions = append(o.VerifyOptions, verify.WithRegistryCAs(pem))
			}
			if len(insecureRegs) > 0 {
				o.VerifyOptions = append(o.VerifyOptions, verify.WithInsecureRegistries(insecureRegs...))
			}
			if o.Trust, err = tufFlags.options(); err != nil {
				return err
			}
			o.UnsafeMetricsHTTP = !metricsTLS
			o.VerifyOptions = append(o.VerifyOptions, verify.WithLimits(limits))
			o.EngineOptions = append(o.EngineOptions, policy.WithMaxImages(maxImages), policy.WithVerdictCacheBytes(verdictBytes))
			cfg, err := restConfig(kubeconfig)
			if err != nil {
				return err
			}
			return app.Run(cmd.Context(), cfg, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file; in-cluster configuration when empty")
	f.IntVar(&o.Port, "port", 9443, "port serving /mutate and /validate over TLS")
	f.StringVar(&o.CertDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory holding tls.crt and tls.key")
	f.StringVar(&o.ClientCAFile, "webhook-client-ca-file", "", "PEM file of CAs: /mutate, /validate and /validate-policy then require a client certificate one signed (the API server's AdmissionConfiguration must present one); empty accepts any client")
	f.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", "address serving /metrics; 0 turns it off")
	f.BoolVar(&metricsTLS, "metrics-secure", true, "serve /metrics over HTTPS to scrapers whose bearer token the API server authenticates (TokenReview) and lets get /metrics (SubjectAccessReview); false serves plain HTTP to anyone")
	f.StringVar(&o.MetricsCertDir, "metrics-cert-dir", "", "directory holding tls.crt and tls.key for /metrics; when empty or without them, a self-signed certificate")
	f.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", "address serving /healthz and /readyz")
	f.StringVar(&noMatch, "no-match", "warn", "what to do with images no ClusterImagePolicy covers: deny, warn or allow")
	f.StringVar(&o.RegisterURL, "register-url", "", "out of cluster: https URL the API server reaches this process at; generates a certificate and registers the webhook configurations")
	f.StringVar(&o.InstallNamespace, "install-namespace", envOr("POD_NAMESPACE", "portcullis-system"), "namespace Portcullis runs in: excluded from admission, and home of ClusterImagePolicy key Secrets")
	f.Int32Var(&o.TimeoutSeconds, "timeout-seconds", 10, "the webhooks' timeoutSeconds; each admission gives up before it")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&o.WebhookConfigName, "webhook-config-name", webhook.Name, "name of both webhook configurations, and of the leader election Lease")
	f.StringVar(&o.TLSSecret, "tls-secret", "", "Secret in the install namespace holding the serving certificate; every replica serves it from --cert-dir")
	f.BoolVar(&o.RotateCertificates, "rotate-certificates", false, "make and rotate the --tls-secret certificate and inject its CA into the webhook configurations (on the leader)")
	f.StringVar(&o.ServiceName, "service-name", "", "the Service in front of the webhooks: the certificate is for NAME.NAMESPACE.svc")
	f.BoolVar(&o.LeaderElect, "leader-elect", false, "elect one replica (a Lease) for certificate rotation and status writes; every replica serves admission")
	f.BoolVar(&o.PodPullSecrets, "pod-pull-secrets", true, "read each pod's imagePullSecrets and service account to reach private registries")
	f.StringArrayVar(&o.SignaturePullSecrets, "signature-pull-secret", nil, "docker-config Secret in the install namespace used for every registry request (repeatable)")
	f.BoolVar(&o.CloudKeychains, "cloud-keychains", false, "use the ECR, GCR/Artifact Registry and ACR credential helpers")
	f.DurationVar(&o.Audit.Interval, "audit-interval", 10*time.Minute, "time between audit scans of every running pod (0 turns auditing off); a policy change triggers one at once")
	f.Float64Var(&o.Audit.Rate, "audit-registry-rate", 5, "registry requests per second an audit scan may make")
	f.IntVar(&o.Audit.MaxResults, "audit-max-results", 1000, "rows per PolicyReport; a namespace with more says so in its report")
	f.IntVar(&o.Audit.Parallelism, "audit-parallelism", audit.DefaultParallelism, "images an audit scan judges at once; one registry takes at most half")
	f.DurationVar(&o.Audit.ImageTimeout, "audit-image-timeout", audit.DefaultImageTimeout, "time an audit scan gives one image; past it, its rows say error")
	f.StringVar(&registryCA, "registry-ca-file", "", "PEM file of private registry CAs, trusted besides the system's")
	f.IntVar(&limits.Signatures, "max-signatures", limits.Signatures, "signatures, attestations or Sigstore bundle referrers read per image and lookup")
	f.Int64Var(&limits.ImageBytes, "max-signature-bytes", limits.ImageBytes, "bytes the layers of one image's .sig or .att image may declare; more is refused unread")
	f.Int64Var(&limits.AdmissionBytes, "max-admission-bytes", limits.AdmissionBytes, "bytes one admission may read from registries in all")
	f.IntVar(&maxImages, "max-images", policy.DefaultMaxImages, "distinct images one object may name")
	f.Int64Var(&verdictBytes, "verdict-cache-bytes", policy.DefaultVerdictCacheBytes, "bytes the cached verdicts may hold in all, mostly verified predicates")
	o.RegoLimits = policy.DefaultRegoLimits()
	f.Int64Var(&o.RegoLimits.PerPolicy, "max-rego-policy-bytes", o.RegoLimits.PerPolicy, "bytes of Rego one policy may carry; a policy over it does not compile")
	f.Int64Var(&o.RegoLimits.PerNamespace, "max-rego-namespace-bytes", o.RegoLimits.PerNamespace, "bytes of distinct Rego the ImagePolicies of one namespace may carry together; the newest policies over it do not compile")
	f.Int64Var(&o.RegoLimits.Total, "max-rego-total-bytes", o.RegoLimits.Total, "bytes of distinct Rego all policies may carry together, ClusterImagePolicies first; the newest policies over it do not compile")
	f.IntVar(&limits.InFlight, "registry-requests-in-flight", limits.InFlight, "registry requests in flight across the process")
	f.IntVar(&limits.PerRegistry, "registry-requests-per-registry", limits.PerRegistry, "each registry's share of the requests in flight, so one hanging registry cannot starve the others")
	f.StringArrayVar(&insecureRegs, "insecure-registry", nil, "registry (host or host:port) reached over plain HTTP (repeatable)")
	tufFlags.add(f, true)
	return cmd
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		return ctrl.GetConfig()
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
	}
	return cfg, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

package webhook

import (
	"errors"
	"time"

	"github.com/go-logr/logr"

	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/trust"
	"github.com/portcullis-dev/portcullis/verify"
)

// Options configure the webhooks and the policy controller (package app adds the auditor's).
type Options struct {
	// Port serves /mutate and /validate over TLS.
	Port int
	// CertDir holds tls.crt and tls.key. With RegisterURL, a generated certificate is written
	// there; with TLSSecret, the Secret's certificate is.
	CertDir string
	// ClientCAFile, when set, is a PEM file of CAs: every connection to the webhook server must
	// present a client certificate one of them signed (the API server's, as its
	// AdmissionConfiguration presents it). Empty accepts any client, as the API server's default.
	ClientCAFile string
	// MetricsAddr and ProbeAddr serve /metrics and /healthz, /readyz; "0" turns them off.
	MetricsAddr, ProbeAddr string
	// MetricsCertDir holds the tls.crt and tls.key /metrics is served with; without them, a
	// self-signed certificate is made at start.
	MetricsCertDir string
	// UnsafeMetricsHTTP serves /metrics over plain HTTP to anyone who reaches it, rather than
	// over HTTPS to scrapers whose token the API server authenticates and authorizes.
	UnsafeMetricsHTTP bool
	NoMatch           policy.NoMatch
	// RegisterURL, when set, is the https URL the API server reaches this process at: the
	// process makes its own certificate and registers the webhook configurations for it.
	RegisterURL      string
	InstallNamespace string
	// TimeoutSeconds is the webhooks' timeoutSeconds; each admission's own deadline is shorter.
	TimeoutSeconds int32
	// WebhookConfigName names both webhook configurations, and the leader election Lease.
	WebhookConfigName string

	// TLSSecret names the Secret, in InstallNamespace, holding the serving certificate. Every
	// replica writes it into CertDir and serves it, reloading it when it changes.
	TLSSecret string
	// RotateCertificates makes the leader create and rotate TLSSecret's certificate
	// (cert-controller) and inject its CA into both webhook configurations.
	RotateCertificates bool
	// ServiceName is the Service in front of the webhooks; the certificate is for
	// ServiceName.InstallNamespace.svc unless CertDNSName says otherwise.
	ServiceName, CertDNSName string
	CertRotation             CertRotation
	// LeaderElect elects one replica, through a Lease, for the work done once: certificate
	// rotation and status writes. Every replica serves admission.
	LeaderElect bool

	// PodPullSecrets reads each pod's imagePullSecrets and service account.
	PodPullSecrets bool
	// SignaturePullSecrets are Secrets in InstallNamespace used for every registry request.
	SignaturePullSecrets []string
	// CloudKeychains adds the ECR, GCR/Artifact Registry and ACR credential helpers.
	CloudKeychains bool

	// Trust configures the built-in trust roots' TUF refresh (mirror, offline, cache, interval).
	Trust trust.Options

	VerifyOptions []verify.Option
	EngineOptions []policy.EngineOption
	// RegoLimits bound the Rego the policies carry; zero fields take policy.DefaultRegoLimits.
	RegoLimits policy.RegoLimits
	Log        logr.Logger
}

// CertRotation says how long a generated serving certificate lives, how long before it ends it
// is replaced, and how often that is checked. Zero values take cert-controller's defaults.
type CertRotation struct {
	Validity, Lookahead, CheckEvery time.Duration
}

// Defaults fills in the defaults, and refuses options that do not go together.
func (o *Options) Defaults() error {
	if o.WebhookConfigName == "" {
		o.WebhookConfigName = Name
	}
	if o.TimeoutSeconds == 0 {
		o.TimeoutSeconds = 10
	}
	if o.InstallNamespace == "" {
		return errors.New("the install namespace is not set")
	}
	if o.RegisterURL != "" && o.TLSSecret != "" {
		return errors.New("--register-url makes its own certificate; it cannot be used with --tls-secret")
	}
	if o.RotateCertificates && o.TLSSecret == "" {
		return errors.New("rotating certificates needs --tls-secret")
	}
	if o.CertDNSName == "" && o.ServiceName != "" {
		o.CertDNSName = o.ServiceName + "." + o.InstallNamespace + ".svc"
	}
	if o.RotateCertificates && o.CertDNSName == "" {
		return errors.New("rotating certificates needs --service-name, the Service the certificate is for")
	}
	return nil
}

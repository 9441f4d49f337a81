package webhook

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
)

// rotators numbers cert-controller's controllers: controller names are unique per process, and
// tests run several webhooks in one.
var rotators atomic.Int64

// serveWhenCertified adds the webhook server to mgr once its certificate is in place: at once
// when the files are given or generated, or, with a TLS Secret, once a replica has written the
// Secret's certificate into CertDir. With RotateCertificates the leader fills and rotates that
// Secret and injects its CA into both webhook configurations.
func serveWhenCertified(mgr manager.Manager, srv crwebhook.Server, o *Options, log logr.Logger) error {
	if o.TLSSecret == "" {
		return mgr.Add(srv)
	}
	key := types.NamespacedName{Namespace: o.InstallNamespace, Name: o.TLSSecret}
	if o.RotateCertificates {
		if err := rotator.AddRotator(mgr, &rotator.CertRotator{
			SecretKey:              key,
			CertDir:                o.CertDir,
			CAName:                 "portcullis-ca",
			CAOrganization:         "portcullis",
			DNSName:                o.CertDNSName,
			IsReady:                make(chan struct{}),
			RequireLeaderElection:  o.LeaderElect,
			ServerCertDuration:     o.CertRotation.Validity,
			LookaheadInterval:      o.CertRotation.Lookahead,
			RotationCheckFrequency: o.CertRotation.CheckEvery,
			ControllerName:         fmt.Sprintf("cert-rotator-%d", rotators.Add(1)),
			Webhooks: []rotator.WebhookInfo{
				{Name: o.WebhookConfigName, Type: rotator.Mutating},
				{Name: o.WebhookConfigName, Type: rotator.Validating},
			},
		}); err != nil {
			return fmt.Errorf("setting up certificate rotation: %w", err)
		}
	}
	return mgr.Add(&certSync{reader: mgr.GetCache(), key: key, dir: o.CertDir, serve: func() error { return mgr.Add(srv) }, log: log.WithName("certs")})
}

// certSync writes the TLS Secret's certificate into the serving directory, on every replica,
// whenever it changes; the server's certificate watcher then serves the new one without a
// restart. It does what a mounted Secret volume does, without waiting for the kubelet's sync.
type certSync struct {
	reader client.Reader
	key    types.NamespacedName
	dir    string
	serve  func() error
	log    logr.Logger
}

// NeedLeaderElection is false: every replica serves, so every replica needs the certificate.
func (c *certSync) NeedLeaderElection() bool { return false }

// Start syncs until ctx ends, starting the server after the first certificate is written.
func (c *certSync) Start(ctx context.Context) error {
	serving := false
	for {
		written, err := c.sync(ctx)
		if err != nil {
			c.log.Error(err, "writing the serving certificate")
		}
		if written && !serving {
			if err := c.serve(); err != nil {
				return err
			}
			serving = true
			c.log.Info("serving certificate in place; serving admission", "dir", c.dir)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// sync writes the Secret's key and certificate if they differ from the files, and reports
// whether a certificate is on disk.
func (c *certSync) sync(ctx context.Context) (bool, error) {
	var s corev1.Secret
	if err := c.reader.Get(ctx, c.key, &s); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	crt, key := s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
	if len(crt) == 0 || len(key) == 0 {
		return false, nil // not issued yet
	}
	// The key first: the watcher reloads on each file, and keeps the old pair until both match.
	for _, f := range []struct {
		name string
		data []byte
	}{{corev1.TLSPrivateKeyKey, key}, {corev1.TLSCertKey, crt}} {
		if err := writeIfChanged(filepath.Join(c.dir, f.name), f.data); err != nil {
			return false, err
		}
	}
	return true, nil
}

// writeIfChanged replaces path with data atomically, unless it already holds it.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

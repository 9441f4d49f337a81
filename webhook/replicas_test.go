package webhook_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/webhook"
)

const installNS = "portcullis-system"

// TestReplicas runs two replicas as the chart does, behind one address, against a real API
// server: the leader makes and rotates the serving certificate and injects its CA, both serve
// it, a rotated certificate is served without a restart, stopping the leader loses no admission
// and hands over the Lease, metrics move, and a denial is recorded as an Event.
func TestReplicas(t *testing.T) {
	cfg := envtesting.APIServer(t)
	scheme, _ := webhook.Scheme()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	installFor(t, c)
	replica := func() webhook.Options {
		return webhook.Options{
			Port: envtesting.FreePort(t), CertDir: t.TempDir(), ProbeAddr: fmt.Sprintf("127.0.0.1:%d", envtesting.FreePort(t)),
			MetricsAddr: fmt.Sprintf("127.0.0.1:%d", envtesting.FreePort(t)), NoMatch: policy.NoMatchWarn, InstallNamespace: installNS,
			TLSSecret: "portcullis-tls", RotateCertificates: true, CertDNSName: "localhost", LeaderElect: true, PodPullSecrets: true,
			// Short-lived certificates, so the test sees rotations.
			CertRotation: webhook.CertRotation{Validity: 30 * time.Second, Lookahead: 22 * time.Second, CheckEvery: time.Second},
		}
	}
	optsA, optsB := replica(), replica()
	lb := envtesting.NewBalancer(t, fmt.Sprintf("127.0.0.1:%d", optsA.Port), fmt.Sprintf("127.0.0.1:%d", optsB.Port))
	lbPort := lb.Addr[strings.LastIndex(lb.Addr, ":")+1:]
	// What the chart installs: both configurations, whose CA bundle the leader fills in.
	if err := webhook.Register(ctx, c, webhook.Registration{Name: webhook.Name, URL: "https://localhost:" + lbPort, InstallNamespace: installNS, TimeoutSeconds: 10}); err != nil {
		t.Fatal(err)
	}
	// A starts first and takes the Lease, so the test knows which replica leads.
	a := envtesting.RunReplica(t, cfg, optsA)
	eventually(t, 60*time.Second, "the first replica to lead", func() bool { return holder(t, c) != "" })
	b := envtesting.RunReplica(t, cfg, optsB)
	eventually(t, 90*time.Second, "both replicas ready and the CA injected", func() bool {
		var vwc webhookConfig
		return a.Ready() && b.Ready() && vwc.get(ctx, c) && len(vwc.caBundle) > 0
	})

	reg := sigtest.NewRegistry(t, true)
	key := sigtest.NewKey(t)
	signed := reg.Host + "/ha/app:1"
	key.SignLegacy(t, reg.PushRandom(t, "ha/app:1"))
	unsigned := reg.Host + "/ha/unsigned:1"
	reg.PushRandom(t, "ha/unsigned:1")
	w := &world{Cluster: &envtesting.Cluster{Config: cfg, Client: c, Warnings: &envtesting.Warnings{}}, reg: reg, keyA: key}
	w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "ha"}, Spec: policySpec(reg.Host+"/ha/**", "", keyAuthority("a", key))})
	ns := w.Namespace(t, "ha", nil)
	n := 0
	admit := func() {
		t.Helper()
		n++
		if err := c.Create(ctx, pod(ns, fmt.Sprintf("p%d", n), signed)); err != nil {
			t.Fatalf("admission %d failed: %v", n, err)
		}
	}
	admit()

	// A rotated certificate is served without a restart, and admission goes on.
	first := servedSerial(t, optsA.Port)
	eventually(t, 60*time.Second, "the certificate to rotate", func() bool {
		admit()
		return servedSerial(t, optsA.Port) != first && servedSerial(t, optsB.Port) != first
	})
	admit()

	// Metrics move with admissions, verifications and registry requests.
	code, scrape := envtesting.Scrape(t, optsA.MetricsAddr, envtesting.MetricsToken(t, cfg, "monitoring", "prometheus", true))
	if code != http.StatusOK {
		t.Errorf("/metrics with a metrics reader's token: status %d: %s", code, scrape)
	}
	for _, want := range []string{`portcullis_admission_requests_total{decision="allowed",kind="Pod",operation="CREATE",webhook="mutate"}`,
		`portcullis_verifications_total{policy="ha",result="pass"}`, `portcullis_registry_requests_total{code="200",registry="` + reg.Host + `"}`,
		"portcullis_admission_duration_seconds_bucket", `portcullis_cache_hits_total{cache="verdict"}`} {
		if !strings.Contains(scrape, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}

	// A denial is recorded as an Event that names the policy and the reason.
	denied(t, c.Create(ctx, pod(ns, "bad", unsigned)), "policy ha")
	eventually(t, 20*time.Second, "an Event for the denial", func() bool {
		var evs eventsv1.EventList
		if err := c.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			return false
		}
		for _, e := range evs.Items {
			if e.Reason == "ImageDenied" && e.Regarding.Name == "bad" && strings.Contains(e.Note, "policy ha: no signature verified by key a") {
				return true
			}
		}
		return false
	})

	// Stopping the leader (A) loses no admission; B takes the Lease and rotates.
	leader, other := a, b
	before := holder(t, c)
	stopped := make(chan struct{})
	go func() { leader.Stop(); close(stopped) }()
	for i := 0; i < 20; i++ {
		admit()
	}
	<-stopped
	eventually(t, 60*time.Second, "the other replica to lead and rotate", func() bool {
		admit()
		h := holder(t, c)
		return h != "" && h != before && other.Ready()
	})
	last := servedSerial(t, other.Opts.Port)
	eventually(t, 60*time.Second, "a rotation by the new leader", func() bool {
		admit()
		return servedSerial(t, other.Opts.Port) != last
	})
	t.Logf("%d admissions, none lost", n)
}

type webhookConfig struct{ caBundle []byte }

func (wc *webhookConfig) get(ctx context.Context, c client.Client) bool {
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := c.Get(ctx, client.ObjectKey{Name: webhook.Name}, &vwc); err != nil || len(vwc.Webhooks) == 0 {
		return false
	}
	wc.caBundle = vwc.Webhooks[0].ClientConfig.CABundle
	return true
}

// servedSerial identifies the certificate a replica serves (cert-controller gives every
// certificate the same serial number, so it is a hash of the certificate).
func servedSerial(t *testing.T, port int) string {
	t.Helper()
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{InsecureSkipVerify: true}) // only the certificate is read
	if err != nil {
		return ""
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:8])
}

// holder returns the identity holding the leader election Lease.
// installFor creates what the chart installs before the replicas start: the install namespace
// and the empty TLS Secret the leader fills.
func installFor(t *testing.T, c client.Client) {
	t.Helper()
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: installNS}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "portcullis-tls", Namespace: installNS}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: nil, corev1.TLSPrivateKeyKey: nil}},
	} {
		if err := c.Create(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}
}

func holder(t *testing.T, c client.Client) string {
	t.Helper()
	var l coordinationv1.Lease
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: installNS, Name: webhook.Name}, &l); err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func eventually(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

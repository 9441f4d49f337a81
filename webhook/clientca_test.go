package webhook_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/webhook"
)

// TestClientCertificate runs the webhook with --webhook-client-ca-file behind a kube-apiserver
// whose AdmissionConfiguration presents a client certificate from that CA: admission through
// the API server works, and a review posted straight to the webhook without that certificate is
// refused before Portcullis judges it.
func TestClientCertificate(t *testing.T) {
	trusted, other := newCA(t, "api-server-client-ca"), newCA(t, "another-ca")
	apiServerCert := trusted.issue(t, "kube-apiserver")
	port := envtesting.FreePort(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	writeFile(t, caFile, trusted.certPEM)
	flags := map[string]string{"admission-control-config-file": admissionConfig(t, dir, fmt.Sprintf("127.0.0.1:%d", port), apiServerCert)}
	w := &world{Cluster: envtesting.StartWithAPIServerFlags(t, webhook.Options{Port: port, ClientCAFile: caFile, NoMatch: policy.NoMatchDeny}, flags),
		reg: sigtest.NewRegistry(t, true), keyA: sigtest.NewKey(t)}
	ctx := context.Background()
	ns := w.Namespace(t, "client-cert", nil)
	signed, _ := w.image(t, "client-cert/signed:1", w.keyA)
	unsigned, _ := w.image(t, "client-cert/unsigned:1")

	t.Run("through the API server", func(t *testing.T) {
		// /validate-policy answers with warnings; it fails open, so only they show it was reached.
		footgun := policySpec("ghcr.io/acme**", "", keyAuthority("a", w.keyA))
		want := named("ClusterImagePolicy footgun", policy.Lint(policy.KindCluster, &footgun))
		if len(want) == 0 {
			t.Fatal("Lint found nothing to warn about in ghcr.io/acme**")
		}
		w.Warnings.Take()
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "footgun"}, Spec: footgun})
		if diff := cmp.Diff(want, w.Warnings.Take()); diff != "" {
			t.Errorf("policy check warnings through the API server (-want +got):\n%s", diff)
		}
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "client-cert"},
			Spec: policySpec(w.reg.Host+"/client-cert/**", "", keyAuthority("a", w.keyA))})
		if err := w.Client.Create(ctx, pod(ns, "signed", signed)); err != nil {
			t.Fatalf("a signed image was not admitted through the API server: %v", err)
		}
		denied(t, w.Client.Create(ctx, pod(ns, "unsigned", unsigned)), "image "+unsigned, "policy client-cert", "no signature verified by key a")
		denied(t, w.Client.Create(ctx, pod(ns, "uncovered", "example.invalid/app:1")), "no ClusterImagePolicy covers this image (noMatch: deny)")
	})

	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := w.Client.Get(ctx, client.ObjectKey{Name: webhook.Name}, &vwc); err != nil {
		t.Fatal(err)
	}
	servingCA := x509.NewCertPool()
	servingCA.AppendCertsFromPEM(vwc.Webhooks[0].ClientConfig.CABundle)
	body := podReview(t, ns, unsigned)
	for _, tt := range []struct {
		name    string
		certs   []tls.Certificate
		refused bool
	}{
		{"no client certificate", nil, true},
		{"certificate from another CA", []tls.Certificate{other.issue(t, "kube-apiserver")}, true},
		{"certificate from the client CA", []tls.Certificate{trusted.issue(t, "kube-apiserver")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/validate", "/mutate", webhook.PolicyCheckPath} {
				before := admissionsCounted(t)
				code, err := post(w.URL+path, body, servingCA, tt.certs)
				judged := admissionsCounted(t) - before
				switch {
				case tt.refused && err == nil && code < 400:
					t.Errorf("POST %s: HTTP %d; want the TLS handshake refused", path, code)
				case tt.refused && judged != 0:
					t.Errorf("POST %s: Portcullis judged %v reviews; want none", path, judged)
				case !tt.refused && (err != nil || code != http.StatusOK):
					t.Errorf("POST %s: HTTP %d, %v; want 200", path, code, err)
				case !tt.refused && path != webhook.PolicyCheckPath && judged != 1:
					t.Errorf("POST %s: Portcullis judged %v reviews; want 1", path, judged)
				}
			}
		})
	}
}

// post sends body over HTTPS, trusting servingCA and presenting certs, and returns the status.
func post(url string, body []byte, servingCA *x509.CertPool, certs []tls.Certificate) (int, error) {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: servingCA, Certificates: certs}}}
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// admissionConfig writes the AdmissionConfiguration, and the kubeconfig it names, with which
// kube-apiserver presents cert to the webhooks at hostPort, and returns its path.
func admissionConfig(t *testing.T, dir, hostPort string, cert tls.Certificate) string {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "webhook-kubeconfig")
	writeFile(t, kubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
users:
- name: %q
  user:
    client-certificate-data: %s
    client-key-data: %s
`, hostPort, base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})),
		base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}))))
	config := filepath.Join(dir, "admission-config.yaml")
	plugin := func(name string) map[string]any {
		return map[string]any{"name": name, "configuration": map[string]any{
			"apiVersion": "apiserver.config.k8s.io/v1", "kind": "WebhookAdmissionConfiguration", "kubeConfigFile": kubeconfig}}
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
		"plugins": []any{plugin("ValidatingAdmissionWebhook"), plugin("MutatingAdmissionWebhook")}})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, config, b)
	return config
}

// testCA is a CA that issues client certificates.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a client certificate for name, signed by the CA.
func (ca *testCA) issue(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

package webhook_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"

	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/webhook"
)

// TestWebhookFailsClosed runs a webhook with noMatch deny and a 3 s timeoutSeconds against
// registries that hang or want credentials, and posts it AdmissionReviews the API server would
// never send.
func TestWebhookFailsClosed(t *testing.T) {
	w := &world{Cluster: envtesting.Start(t, webhook.Options{NoMatch: policy.NoMatchDeny, TimeoutSeconds: 3, SignaturePullSecrets: []string{"registry-creds"}}),
		reg: sigtest.NewRegistry(t, true), keyA: sigtest.NewKey(t)}
	ctx := context.Background()

	// The signature pull secret exists before the first registry request, as at install.
	var vendorOpen atomic.Bool
	vendorOpen.Store(true)
	vendor := sigtest.NewRegistry(t, true, basicAuth("portcullis", "s3cret", &vendorOpen))
	w.keyA.SignLegacy(t, vendor.PushRandom(t, "vendor/app:1"))
	vendorOpen.Store(false)
	w.Namespace(t, "portcullis-system", nil)
	if err := w.Client.Create(ctx, dockerConfig("portcullis-system", "registry-creds", vendor.Host, "portcullis", "s3cret")); err != nil {
		t.Fatal(err)
	}

	t.Run("noMatch deny", func(t *testing.T) {
		img, _ := w.image(t, "nobody/app:1", w.keyA)
		denied(t, w.Client.Create(ctx, pod(w.Namespace(t, "nomatch", nil), "web", img)),
			"no ClusterImagePolicy covers this image (noMatch: deny)")
	})

	t.Run("a hanging registry is denied at our deadline, not the API server's", func(t *testing.T) {
		var hang atomic.Bool
		slow := sigtest.NewRegistry(t, true, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				if hang.Load() {
					<-r.Context().Done()
					return
				}
				h.ServeHTTP(rw, r)
			})
		})
		slow.PushRandom(t, "slow/app:1")
		hang.Store(true)
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "slow"}, Spec: policySpec(slow.Host+"/slow/**", "", keyAuthority("a", w.keyA))})
		err := w.Client.Create(ctx, pod(w.Namespace(t, "slow", nil), "web", slow.Host+"/slow/app:1"))
		denied(t, err, "policy slow", "the registry did not answer before the deadline")
	})

	t.Run("credentials come from imagePullSecrets and the service account", func(t *testing.T) {
		var open atomic.Bool
		open.Store(true)
		private := sigtest.NewRegistry(t, true, basicAuth("puller", "s3cret", &open))
		d := private.PushRandom(t, "private/app:1")
		w.keyA.SignLegacy(t, d)
		open.Store(false)
		img := private.Host + "/private/app:1"
		ns := w.Namespace(t, "private", nil)
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "private"}, Spec: policySpec(private.Host+"/private/**", "", keyAuthority("a", w.keyA))})
		secret := dockerConfig(ns, "regcred", private.Host, "puller", "s3cret")
		if err := w.Client.Create(ctx, secret); err != nil {
			t.Fatal(err)
		}
		denied(t, w.Client.Create(ctx, pod(ns, "anonymous", img)), "policy private", "401")
		p := pod(ns, "with-secret", img)
		p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
		if err := w.Client.Create(ctx, p); err != nil {
			t.Fatalf("pod with imagePullSecrets: %v", err)
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: ns}, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}}
		if err := w.Client.Create(ctx, sa); err != nil {
			t.Fatal(err)
		}
		p = pod(ns, "with-sa", img)
		p.Spec.ServiceAccountName = "builder"
		if err := w.Client.Create(ctx, p); err != nil {
			t.Fatalf("pod with a service account holding the pull secret: %v", err)
		}
	})

	t.Run("signature pull secrets serve every registry request", func(t *testing.T) {
		private := vendor
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "vendor"}, Spec: policySpec(private.Host+"/vendor/**", "", keyAuthority("a", w.keyA))})
		// The pod names no pull secret: Portcullis's own reaches the registry.
		if err := w.Client.Create(ctx, pod(w.Namespace(t, "vendor", nil), "app", private.Host+"/vendor/app:1")); err != nil {
			t.Fatalf("with a signature pull secret: %v", err)
		}
	})

	t.Run("validate denies an image a later mutation unpinned", func(t *testing.T) {
		img, _ := w.image(t, "swapped/app:1", w.keyA)
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "swapped"}, Spec: policySpec(w.reg.Host+"/swapped/**", "", keyAuthority("a", w.keyA))})
		resp := review(t, w.URL+"/validate", podReview(t, "swapped", img))
		if resp.Allowed || !strings.Contains(resp.Result.Message, "not pinned to a digest, which policy swapped requires") {
			t.Fatalf("validate answered %+v", resp)
		}
		resp = review(t, w.URL+"/mutate", podReview(t, "swapped", img))
		if !resp.Allowed || resp.PatchType == nil || !strings.Contains(string(resp.Patch), "@sha256:") {
			t.Fatalf("mutate answered %+v", resp)
		}
	})

	t.Run("malformed AdmissionReviews are refused, never allowed", func(t *testing.T) {
		good := podReview(t, "x", w.reg.Host+"/swapped/app:1")
		var ar admissionv1.AdmissionReview
		json.Unmarshal(good, &ar)
		ar.Request.Object.Raw = []byte(`{"kind": "Pod", "spec": {"containers": "not a list"}}`)
		notAList, _ := json.Marshal(ar)
		ar.Request.Object.Raw = []byte(`{"kind": "Deployment", "spec": {}}`)
		wrongKind, _ := json.Marshal(ar)
		ar.Request.Object.Raw = nil
		noObject, _ := json.Marshal(ar)
		for name, body := range map[string][]byte{
			"not JSON":          []byte("{nope"),
			"no request":        []byte(`{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}`),
			"pod spec not read": notAList,
			"kind mismatch":     wrongKind,
			"no object":         noObject,
			"wrong API version": []byte(`{"apiVersion": "admission.k8s.io/v0", "kind": "AdmissionReview", "request": {"uid": "1"}}`),
		} {
			for _, path := range []string{"/mutate", "/validate"} {
				resp := review(t, w.URL+path, body)
				if resp.Allowed {
					t.Errorf("%s %s: allowed", name, path)
				}
				if resp.Result == nil || resp.Result.Message == "" {
					t.Errorf("%s %s: refused without a reason: %+v", name, path, resp)
				}
			}
		}
	})
}

// basicAuth guards a registry with a password, except while open (to push fixtures).
func basicAuth(user, pass string, open *atomic.Bool) func(http.Handler) http.Handler {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if !open.Load() && r.Header.Get("Authorization") != want {
				rw.Header().Set("WWW-Authenticate", `Basic realm="portcullis-test"`)
				rw.WriteHeader(http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(rw, r)
		})
	}
}

func dockerConfig(ns, name, host, user, pass string) *corev1.Secret {
	auth := authn.AuthConfig{Username: user, Password: pass}
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{host: auth}})
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: cfg}}
}

func podReview(t *testing.T, ns, img string) []byte {
	t.Helper()
	raw, _ := json.Marshal(pod(ns, "direct", img))
	b, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: ns, Operation: admissionv1.Create,
			Object: runtime.RawExtension{Raw: raw}},
	})
	return b
}

// review posts an AdmissionReview over HTTPS, as the API server does, and returns the response.
func review(t *testing.T, url string, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the test trusts its own webhook
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(b, &ar); err != nil || ar.Response == nil {
		t.Fatalf("POST %s: HTTP %d, %s (%v)", url, resp.StatusCode, b, err)
	}
	return ar.Response
}

package webhook_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/webhook"
)

// TestAttacks tries, on a real API server with the chart's default noMatch (warn), the ways in
// that docs/security.md lists: each must be denied.
func TestAttacks(t *testing.T) {
	w := &world{Cluster: envtesting.Start(t, webhook.Options{}), reg: sigtest.NewRegistry(t, true), keyA: sigtest.NewKey(t), keyB: sigtest.NewKey(t)}
	ctx := context.Background()
	_, port, _ := strings.Cut(w.reg.Host, ":")

	t.Run("another spelling of a registry is judged by its policies", func(t *testing.T) {
		ns := w.Namespace(t, "spelling", nil)
		w.reg.PushRandom(t, "spell/app:1")
		good := w.reg.PushRandom(t, "spell/good:1")
		w.keyA.SignLegacy(t, good)
		for name, glob := range map[string]string{"spell": "localhost:" + port + "/spell/**", "hub-acme": "docker.io/acme/**",
			"hub-nginx": "registry-1.docker.io/library/nginx", "ghcr-acme": "ghcr.io/acme/**"} {
			w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: policySpec(glob, "", keyAuthority("a", w.keyA))})
		}
		for i, tt := range []struct{ image, policy string }{
			{"LOCALHOST:" + port + "/spell/app:1", "spell"},
			{"Localhost.:" + port + "/spell/app:1", "spell"},
			{"localhost:0" + port + "/spell/app:1", "spell"},
			{"LocalHost.:00" + port + "/spell/app:1", "spell"},
			{"registry-1.docker.io/acme/app:1", "hub-acme"},
			{"registry.hub.docker.com/acme/app:1", "hub-acme"},
			{"index.docker.io/acme/app:1", "hub-acme"},
			{"Docker.IO/acme/app:1", "hub-acme"},
			{"docker.io:443/acme/app:1", "hub-acme"},
			{"nginx:1.27", "hub-nginx"},
			{"docker.io/nginx:1.27", "hub-nginx"},
			{"registry.hub.docker.com/library/nginx:1.27", "hub-nginx"},
			{"GHCR.IO/acme/app:1", "ghcr-acme"},
			{"ghcr.io:443/acme/app:1", "ghcr-acme"},
			{"ghcr.io.:0443/acme/app:1", "ghcr-acme"},
			{"ghcr.io:80/acme/app:1", "ghcr-acme"},
		} {
			err := w.Client.Create(ctx, pod(ns, fmt.Sprintf("spelled-%d", i), tt.image))
			denied(t, err, "image "+tt.image, "policy "+tt.policy+":")
			if tt.policy == "spell" {
				denied(t, err, "image "+tt.image+" (canonical localhost:"+port+"/spell/app:1, sha256:")
			}
		}
		// A signed image is admitted however its registry is written, and pinned as written.
		img := "LOCALHOST.:" + port + "/spell/good:1"
		p := pod(ns, "signed-spelled", img)
		if err := w.Client.Create(ctx, p); err != nil {
			t.Fatalf("a signed image written %s: %v", img, err)
		}
		if got := p.Spec.Containers[0].Image; got != img+"@"+good.DigestStr() {
			t.Fatalf("stored image %q, want %q", got, img+"@"+good.DigestStr())
		}
	})

	t.Run("references a registry or the kubelet would read otherwise are refused", func(t *testing.T) {
		ns := w.Namespace(t, "absurd", nil)
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "absurd"}, Spec: policySpec(w.reg.Host+"/absurd/**", "", keyAuthority("a", w.keyA))})
		for i, tt := range []struct{ image, reason string }{
			{"régistry.example.com/app:1", "is not ASCII"},
			{"xn--rgistry-bya.example.com./../app:1", "invalid image reference"},
			{w.reg.Host + "/free/../absurd/app:1", `path component ".."`},
			{w.reg.Host + "/absurd/./app:1", `path component "."`},
			{"ghcr.io..:443/acme/app:1", "empty label"},
		} {
			denied(t, w.Client.Create(ctx, pod(ns, fmt.Sprintf("absurd-%d", i), tt.image)), tt.reason)
		}
	})

	t.Run("a dry run leaves no Event and counts no decision", func(t *testing.T) {
		ns := w.Namespace(t, "dry", nil)
		img, _ := w.image(t, "dry/app:1")
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "dry"}, Spec: policySpec(w.reg.Host+"/dry/**", "", keyAuthority("a", w.keyA))})
		before := admissionsCounted(t)
		denied(t, w.Client.Create(ctx, pod(ns, "dry-denied", img), client.DryRunAll), "policy dry")
		// Warned: an image no policy covers, under noMatch warn.
		uncovered, _ := w.image(t, "elsewhere/app:1")
		if err := w.Client.Create(ctx, pod(ns, "dry-warned", uncovered), client.DryRunAll); err != nil {
			t.Fatalf("a dry run of an uncovered image: %v", err)
		}
		if got := w.Warnings.Take(); len(got) == 0 {
			t.Fatal("the dry run was not warned")
		}
		if after := admissionsCounted(t); after != before {
			t.Fatalf("portcullis_admission_requests_total went from %v to %v over dry runs", before, after)
		}
		// The same requests for real leave their Events; once those are there, the dry runs'
		// would have been too.
		denied(t, w.Client.Create(ctx, pod(ns, "real-denied", img)), "policy dry")
		if err := w.Client.Create(ctx, pod(ns, "real-warned", uncovered)); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "Events for the real requests", func() bool {
			return hasEvent(t, w.Client, ns, "real-denied") && hasEvent(t, w.Client, ns, "real-warned")
		})
		for _, dry := range []string{"dry-denied", "dry-warned"} {
			if hasEvent(t, w.Client, ns, dry) {
				t.Errorf("a dry run (%s) left an Event", dry)
			}
		}
		if after := admissionsCounted(t); after <= before {
			t.Fatalf("real requests were not counted either (%v, %v): the check above proves nothing", before, after)
		}
	})

	// A registry that answers anonymous callers otherwise than authenticated ones, a namespace
	// with its pull secret and one without.
	reg := sigtest.NewRegistry(t, true, hidingRegistry("puller", "s3cret"))
	w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "private"}, Spec: policySpec(reg.Host+"/**", "", keyAuthority("a", w.keyA))})
	withCreds, without := w.Namespace(t, "with-creds", nil), w.Namespace(t, "without-creds", nil)
	if err := w.Client.Create(ctx, dockerConfig(withCreds, "regcred", reg.Host, "puller", "s3cret")); err != nil {
		t.Fatal(err)
	}
	withSecret := func(p *corev1.Pod) *corev1.Pod {
		p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
		return p
	}

	t.Run("what one namespace's credentials resolved is not another's to read", func(t *testing.T) {
		private := reg.PushRandom(t, "private/app:1")
		w.keyA.SignLegacy(t, private)
		img := reg.Host + "/private/app:1"
		p := withSecret(pod(withCreds, "owner", img))
		if err := w.Client.Create(ctx, p); err != nil {
			t.Fatalf("the credential holder's pod: %v", err)
		}
		if p.Spec.Containers[0].Image != img+"@"+private.DigestStr() {
			t.Fatalf("not pinned: %s", p.Spec.Containers[0].Image)
		}
		denied(t, w.Client.Create(ctx, pod(without, "by-tag", img)), "policy private:", "401")
		denied(t, w.Client.Create(ctx, pod(without, "by-digest", img+"@"+private.DigestStr())), "policy private:", "401")

	})

	t.Run("a failure seen without credentials does not deny the namespace that has them", func(t *testing.T) {
		hidden := reg.PushRandom(t, "hidden/app:1")
		w.keyA.SignLegacy(t, hidden)
		img := reg.Host + "/hidden/app:1"
		denied(t, w.Client.Create(ctx, pod(without, "anonymous", img)), "policy private:", "no signatures found")
		if err := w.Client.Create(ctx, withSecret(pod(withCreds, "authenticated", img))); err != nil {
			t.Fatalf("an anonymous lookup's failure denied the namespace whose credentials pass: %v", err)
		}
	})
}

// TestNamespacesOnlyTighten: with noMatch deny, a tenant's ImagePolicy cannot make an image
// that no ClusterImagePolicy covers admissible in its namespace.
func TestNamespacesOnlyTighten(t *testing.T) {
	w := &world{Cluster: envtesting.Start(t, webhook.Options{NoMatch: policy.NoMatchDeny}), reg: sigtest.NewRegistry(t, true), keyA: sigtest.NewKey(t)}
	ctx := context.Background()
	ns := w.Namespace(t, "tenant", nil)
	unsigned, _ := w.image(t, "tenant/app:1")
	signed, _ := w.image(t, "tenant/signed:1", w.keyA)
	static := v1alpha1.Authority{Name: "yes", Static: &v1alpha1.StaticAuthority{Action: v1alpha1.StaticPass}}
	for i, tt := range []struct {
		name  string
		spec  v1alpha1.ImagePolicySpec
		image string
	}{
		{"static-pass", policySpec("**", "", static), unsigned},
		{"audit-all", policySpec("**", v1alpha1.ModeAudit, keyAuthority("a", w.keyA)), unsigned},
		{"warn-all", policySpec("**", v1alpha1.ModeWarn, keyAuthority("a", w.keyA)), unsigned},
		{"enforce-own-key", policySpec(w.reg.Host+"/**", "", keyAuthority("a", w.keyA)), signed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ip := &v1alpha1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: tt.name, Namespace: ns}, Spec: tt.spec}
			w.apply(t, ip)
			denied(t, w.Client.Create(ctx, pod(ns, fmt.Sprintf("widened-%d", i), tt.image)), "no ClusterImagePolicy covers this image (noMatch: deny)")
			if err := w.Client.Delete(ctx, ip); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// admissionsCounted sums portcullis_admission_requests_total over every label.
func admissionsCounted(t *testing.T) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() == "portcullis_admission_requests_total" {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func hasEvent(t *testing.T, c client.Client, ns, regarding string) bool {
	t.Helper()
	var evs eventsv1.EventList
	if err := c.List(context.Background(), &evs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.Items {
		if e.Regarding.Name == regarding {
			return true
		}
	}
	return false
}

// hidingRegistry makes Portcullis's requests (user agent "portcullis") need user:password: the
// private/ repositories answer 401 to anonymous reads, and the hidden/ ones answer 404 for their
// signatures, as a registry that hides what a caller may not read does. The test's own pushes
// pass.
func hidingRegistry(user, password string) func(http.Handler) http.Handler {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.UserAgent(), "portcullis") || r.Header.Get("Authorization") == want {
				next.ServeHTTP(rw, r)
				return
			}
			switch p := r.URL.Path; {
			case p == "/v2/", strings.HasPrefix(p, "/v2/private/"):
				rw.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(rw, "authentication required", http.StatusUnauthorized)
			case strings.HasPrefix(p, "/v2/hidden/") && (strings.Contains(p, "/manifests/sha256-") || strings.Contains(p, "/referrers/")):
				http.Error(rw, "not found", http.StatusNotFound)
			default:
				next.ServeHTTP(rw, r)
			}
		})
	}
}

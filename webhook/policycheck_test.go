package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/webhook"
)

// named prefixes each warning with the policy it is about, as the policy check does.
func named(prefix string, warnings []string) []string {
	var out []string
	for _, w := range warnings {
		out = append(out, prefix+": "+w)
	}
	return out
}

func keyless(name, trustRoot string, id v1alpha1.Identity) v1alpha1.Authority {
	return v1alpha1.Authority{Name: name, Keyless: &v1alpha1.KeylessAuthority{TrustRootRef: trustRoot, Identities: []v1alpha1.Identity{id}}}
}

// TestPolicyCheck calls the policy-check handler as the API server would, with a fake client
// for the TrustRoots and Secrets it reads (the tier that checks what it answers for each kind
// and fault; TestPolicyWarnings runs it behind a real API server).
func TestPolicyCheck(t *testing.T) {
	scheme, err := webhook.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	key := sigtest.NewKey(t)
	keySecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "release-key", Namespace: installNS}, Data: map[string][]byte{"cosign.pub": key.PEM}}
	cluster := fake.NewClientBuilder().WithScheme(scheme).WithObjects(keySecret).Build()
	failingList := fake.NewClientBuilder().WithScheme(scheme).WithObjects(keySecret).WithInterceptorFuncs(interceptor.Funcs{
		List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
			return errors.New("the cache is gone")
		},
	}).Build()

	unanchored := v1alpha1.Identity{Issuer: "https://token.actions.githubusercontent.com", SubjectRegExp: `^https://github\.com/my-org/my-repo/`}
	footguns := policySpec("ghcr.io/acme**", "", keyless("ci", "", unanchored))
	footguns.MutateDigest = ptr.To(false)
	fromSecret := policySpec("ghcr.io/acme/**", "", v1alpha1.Authority{Name: "release", Key: &v1alpha1.KeyAuthority{SecretRef: &v1alpha1.SecretKeyRef{Name: "release-key", Key: "cosign.pub"}}})
	secretLater := policySpec("ghcr.io/acme/**", "", v1alpha1.Authority{Name: "release", Key: &v1alpha1.KeyAuthority{SecretRef: &v1alpha1.SecretKeyRef{Name: "not-yet", Key: "cosign.pub"}}})
	rootLater := policySpec("ghcr.io/acme/**", v1alpha1.ModeAudit, keyless("ci", "corp-sigstore", unanchored))
	noOp := policySpec("ghcr.io/acme/**", "", v1alpha1.Authority{Name: "yes", Static: &v1alpha1.StaticAuthority{Action: v1alpha1.StaticPass}})
	lint := func(kind string, s v1alpha1.ImagePolicySpec) []string { return policy.Lint(kind, &s) }
	if len(lint(policy.KindCluster, footguns)) != 3 || len(lint(policy.KindCluster, rootLater)) != 1 || len(lint(policy.KindNamespaced, noOp)) != 1 {
		t.Fatal("Lint does not find the footguns these cases are built on")
	}

	review := func(op admissionv1.Operation, kind, ns, name string, obj any) admission.Request {
		raw, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{UID: "1", Operation: op, Name: name, Namespace: ns,
			Kind: metav1.GroupVersionKind{Group: v1alpha1.GroupVersion.Group, Version: v1alpha1.GroupVersion.Version, Kind: kind}, Object: runtime.RawExtension{Raw: raw}}}
	}
	cip := func(name string, s v1alpha1.ImagePolicySpec) *v1alpha1.ClusterImagePolicy {
		return &v1alpha1.ClusterImagePolicy{TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: policy.KindCluster}, ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: s}
	}

	tests := []struct {
		name   string
		reader client.Client
		req    admission.Request
		want   []string
		// says are what the first warning, a compile error, must say; want then holds the rest.
		says []string
	}{
		{"footguns", cluster, review(admissionv1.Create, policy.KindCluster, "", "footguns", cip("footguns", footguns)),
			named("ClusterImagePolicy footguns", lint(policy.KindCluster, footguns)), nil},
		{"an UPDATE is checked too", cluster, review(admissionv1.Update, policy.KindCluster, "", "footguns", cip("footguns", footguns)),
			named("ClusterImagePolicy footguns", lint(policy.KindCluster, footguns)), nil},
		{"a key read from a Secret in the install namespace", cluster, review(admissionv1.Create, policy.KindCluster, "", "from-secret", cip("from-secret", fromSecret)),
			nil, nil},
		{"a Secret that comes later", cluster, review(admissionv1.Create, policy.KindCluster, "", "secret-later", cip("secret-later", secretLater)),
			nil, []string{"ClusterImagePolicy secret-later: this policy does not compile: ", `authority "release": reading Secret portcullis-system/not-yet`, "; it will deny the images it covers"}},
		{"a TrustRoot that comes later", cluster, review(admissionv1.Create, policy.KindCluster, "", "root-later", cip("root-later", rootLater)),
			named("ClusterImagePolicy root-later", lint(policy.KindCluster, rootLater)),
			[]string{"ClusterImagePolicy root-later: this policy does not compile: ", `trustRootRef "corp-sigstore": no such TrustRoot`, "; it will report every image it covers as failing"}},
		{"an ImagePolicy that does nothing", cluster, review(admissionv1.Create, policy.KindNamespaced, "team", "let-in",
			&v1alpha1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "let-in", Namespace: "team"}, Spec: noOp}),
			named("ImagePolicy team/let-in", lint(policy.KindNamespaced, noOp)), nil},
		{"the same spec in a ClusterImagePolicy decides coverage", cluster, review(admissionv1.Create, policy.KindCluster, "", "let-in", cip("let-in", noOp)),
			nil, nil},
		{"without the TrustRoots, only what the spec shows", failingList, review(admissionv1.Create, policy.KindCluster, "", "root-later", cip("root-later", rootLater)),
			named("ClusterImagePolicy root-later", lint(policy.KindCluster, rootLater)), nil},
		{"a DELETE", cluster, review(admissionv1.Delete, policy.KindCluster, "", "footguns", nil), nil, nil},
		{"an object that does not decode", cluster, review(admissionv1.Create, policy.KindCluster, "", "odd", map[string]any{"spec": map[string]any{"images": "not a list"}}),
			nil, []string{"Portcullis cannot read this ClusterImagePolicy to check it: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &webhook.PolicyCheck{TrustRoots: tt.reader, Secrets: tt.reader, InstallNamespace: installNS, Log: testr.New(t)}
			resp := h.Handle(context.Background(), tt.req)
			if !resp.Allowed {
				t.Fatalf("refused: %+v", resp.Result)
			}
			got := resp.Warnings
			if len(tt.says) > 0 {
				if len(got) == 0 {
					t.Fatalf("no warnings; want one saying %q", tt.says)
				}
				for _, s := range tt.says {
					if !strings.Contains(got[0], s) {
						t.Errorf("warning %q does not say %q", got[0], s)
					}
				}
				got = got[1:]
			}
			if len(got) == 0 {
				got = nil
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPolicyWarnings runs the policy check behind a real API server: creating a policy returns
// its warnings to the client, as to kubectl apply; the status gets a Warnings condition while
// Ready stays True; fixing the policy clears both; a policy that does not compile is admitted
// with why; and with the policy check unreachable, a policy is still created (failurePolicy
// Ignore), which the image webhooks, failing closed, would not allow.
func TestPolicyWarnings(t *testing.T) {
	w := &world{Cluster: envtesting.Start(t, webhook.Options{})}
	ctx := context.Background()

	t.Run("registration", func(t *testing.T) {
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		if err := w.Client.Get(ctx, client.ObjectKey{Name: webhook.Name}, &vwc); err != nil {
			t.Fatal(err)
		}
		if len(vwc.Webhooks) != 2 {
			t.Fatalf("%d validating webhooks, want the image webhook and the policy check", len(vwc.Webhooks))
		}
		pc := vwc.Webhooks[1]
		if pc.Name != webhook.PolicyCheckName || *pc.ClientConfig.URL != w.URL+webhook.PolicyCheckPath || *pc.FailurePolicy != admissionregistrationv1.Ignore ||
			*pc.SideEffects != admissionregistrationv1.SideEffectClassNone || pc.NamespaceSelector != nil && len(pc.NamespaceSelector.MatchExpressions) != 0 {
			t.Errorf("policy check webhook: %s at %s, failurePolicy %s, sideEffects %s, namespaceSelector %v", pc.Name, *pc.ClientConfig.URL, *pc.FailurePolicy, *pc.SideEffects, pc.NamespaceSelector)
		}
		if diff := cmp.Diff(webhook.PolicyRules(), pc.Rules); diff != "" {
			t.Errorf("policy check rules (-want +got):\n%s", diff)
		}
	})

	t.Run("warnings on create, a Warnings condition, and both gone once fixed", func(t *testing.T) {
		spec := policySpec("ghcr.io/acme**", "", keyless("ci", "", v1alpha1.Identity{Issuer: "https://token.actions.githubusercontent.com", SubjectRegExp: `https://github\.com/my-org/`}))
		spec.MutateDigest = ptr.To(false)
		want := policy.Lint(policy.KindCluster, &spec)
		if len(want) != 3 {
			t.Fatalf("Lint found %q; want a glob, a mutateDigest and a subjectRegExp warning", want)
		}
		obj := &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "footguns"}, Spec: spec}
		w.Warnings.Take()
		ready := w.apply(t, obj)
		if diff := cmp.Diff(named("ClusterImagePolicy footguns", want), w.Warnings.Take()); diff != "" {
			t.Errorf("warnings returned to the client (-want +got):\n%s", diff)
		}
		if ready.Status != metav1.ConditionTrue {
			t.Errorf("Ready %s: %s; warnings must not change it", ready.Status, ready.Message)
		}
		cond := w.condition(t, obj, "Warnings")
		if cond.Status != metav1.ConditionTrue || cond.Reason != "ConfigurationWarnings" || cond.Message != strings.Join(want, "; ") {
			t.Errorf("Warnings condition %s %s %q", cond.Status, cond.Reason, cond.Message)
		}

		obj.Spec = policySpec("ghcr.io/acme/**", "", keyless("ci", "", v1alpha1.Identity{Issuer: "https://token.actions.githubusercontent.com", SubjectRegExp: `^https://github\.com/my-org/.+$`}))
		if err := w.Client.Update(ctx, obj); err != nil {
			t.Fatal(err)
		}
		if got := w.Warnings.Take(); len(got) != 0 {
			t.Errorf("a fixed policy warned: %q", got)
		}
		eventually(t, 30*time.Second, "the Warnings condition cleared", func() bool {
			c := w.condition(t, obj, "Warnings")
			return c.Status == metav1.ConditionFalse && c.Reason == "NoWarnings" && c.ObservedGeneration == obj.Generation
		})
		if c := w.condition(t, obj, "Ready"); c.Status != metav1.ConditionTrue {
			t.Errorf("Ready %s: %s", c.Status, c.Message)
		}
	})

	t.Run("a policy that does not compile is admitted, with why", func(t *testing.T) {
		obj := &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "root-later"}, Spec: policySpec("ghcr.io/acme/**", "",
			keyless("ci", "corp-sigstore", v1alpha1.Identity{Issuer: "https://issuer.example.com", Subject: "ci@example.com"}))}
		w.Warnings.Take()
		ready := w.apply(t, obj)
		got := w.Warnings.Take()
		if len(got) != 1 || !strings.Contains(got[0], `ClusterImagePolicy root-later: this policy does not compile: authority "ci": trustRootRef "corp-sigstore": no such TrustRoot; it will deny the images it covers`) {
			t.Errorf("warnings %q", got)
		}
		if ready.Status != metav1.ConditionFalse {
			t.Errorf("Ready %s", ready.Status)
		}
		if c := w.condition(t, obj, "Warnings"); c.Status != metav1.ConditionFalse {
			t.Errorf("a compile error is in Ready, not Warnings: %s %q", c.Status, c.Message)
		}
	})

	t.Run("an ImagePolicy that does nothing", func(t *testing.T) {
		ns := w.Namespace(t, "noop", nil)
		spec := policySpec("**", "", v1alpha1.Authority{Name: "yes", Static: &v1alpha1.StaticAuthority{Action: v1alpha1.StaticPass}})
		obj := &v1alpha1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "let-in", Namespace: ns}, Spec: spec}
		w.Warnings.Take()
		w.apply(t, obj)
		if diff := cmp.Diff(named("ImagePolicy noop/let-in", policy.Lint(policy.KindNamespaced, &spec)), w.Warnings.Take()); diff != "" {
			t.Errorf("warnings (-want +got):\n%s", diff)
		}
		if c := w.condition(t, obj, "Warnings"); c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "can never fail") {
			t.Errorf("Warnings condition %s %q", c.Status, c.Message)
		}
	})

	t.Run("an unreachable policy check never blocks a policy", func(t *testing.T) {
		// A second registration, to a port nothing listens on: every webhook is called there too.
		dead := fmt.Sprintf("https://127.0.0.1:%d", envtesting.FreePort(t))
		ca, err := webhook.SelfSignedCert(dead, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := webhook.Register(ctx, w.Client, webhook.Registration{Name: "portcullis-unreachable", URL: dead, CABundle: ca, InstallNamespace: installNS, TimeoutSeconds: 5}); err != nil {
			t.Fatal(err)
		}
		ns := w.Namespace(t, "unreachable", nil)
		eventually(t, 30*time.Second, "the unreachable image webhooks to deny a pod (failurePolicy Fail)", func() bool {
			err := w.Client.Create(ctx, pod(ns, "web", "registry.invalid/app:1"))
			return err != nil && strings.Contains(err.Error(), "failed calling webhook")
		})
		obj := &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "while-unreachable"}, Spec: policySpec("ghcr.io/acme**", "", keyAuthority("a", sigtest.NewKey(t)))}
		if err := w.Client.Create(ctx, obj); err != nil {
			t.Fatalf("a policy was refused with the policy check unreachable: %v", err)
		}
		t.Cleanup(func() { w.Client.Delete(context.Background(), obj) })

		if err := webhook.Unregister(ctx, w.Client, "portcullis-unreachable"); err != nil {
			t.Fatal(err)
		}
		for _, o := range []client.Object{&admissionregistrationv1.MutatingWebhookConfiguration{}, &admissionregistrationv1.ValidatingWebhookConfiguration{}} {
			if err := w.Client.Get(ctx, client.ObjectKey{Name: "portcullis-unreachable"}, o); !apierrors.IsNotFound(err) {
				t.Errorf("after Unregister, %T: %v", o, err)
			}
		}
	})
}

// condition returns obj's condition of type typ, once Portcullis has reported its generation.
func (w *world) condition(t *testing.T, obj client.Object, typ string) metav1.Condition {
	t.Helper()
	var c *metav1.Condition
	eventually(t, 30*time.Second, obj.GetName()+"'s "+typ+" condition", func() bool {
		if err := w.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
		st := statusOf(obj)
		c = meta.FindStatusCondition(st.Conditions, typ)
		return c != nil && st.ObservedGeneration == obj.GetGeneration()
	})
	return *c
}

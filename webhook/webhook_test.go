package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/webhook"
)

// TestWebhook runs the webhook, registered out of cluster, against a real kube-apiserver.
func TestWebhook(t *testing.T) {
	w := &world{Cluster: envtesting.Start(t, webhook.Options{}), reg: sigtest.NewRegistry(t, true), keyA: sigtest.NewKey(t), keyB: sigtest.NewKey(t)}
	ctx := context.Background()

	t.Run("registration", func(t *testing.T) {
		var mwc admissionregistrationv1.MutatingWebhookConfiguration
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		if err := w.Client.Get(ctx, client.ObjectKey{Name: "portcullis"}, &mwc); err != nil {
			t.Fatal(err)
		}
		if err := w.Client.Get(ctx, client.ObjectKey{Name: "portcullis"}, &vwc); err != nil {
			t.Fatal(err)
		}
		m, v := mwc.Webhooks[0], vwc.Webhooks[0]
		for _, c := range []struct {
			name      string
			url       *string
			side      *admissionregistrationv1.SideEffectClass
			fail      *admissionregistrationv1.FailurePolicyType
			timeout   *int32
			sel       *metav1.LabelSelector
			resources []string
		}{
			{"mutate", m.ClientConfig.URL, m.SideEffects, m.FailurePolicy, m.TimeoutSeconds, m.NamespaceSelector, resources(m.Rules)},
			{"validate", v.ClientConfig.URL, v.SideEffects, v.FailurePolicy, v.TimeoutSeconds, v.NamespaceSelector, resources(v.Rules)},
		} {
			if *c.url != w.URL+"/"+c.name || *c.side != admissionregistrationv1.SideEffectClassNone || *c.fail != admissionregistrationv1.Fail || *c.timeout != 10 {
				t.Errorf("%s webhook: url %s, sideEffects %s, failurePolicy %s, timeoutSeconds %d", c.name, *c.url, *c.side, *c.fail, *c.timeout)
			}
			if got := strings.Join(c.resources, ","); got != "pods,pods/ephemeralcontainers,replicationcontrollers,deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs" {
				t.Errorf("%s webhook resources %s", c.name, got)
			}
			if sel := fmt.Sprint(c.sel.MatchExpressions); !strings.Contains(sel, "[kube-system portcullis-system]") || !strings.Contains(sel, webhook.IgnoreLabel+" NotIn [true]") {
				t.Errorf("%s webhook namespaceSelector %s", c.name, sel)
			}
		}
	})

	t.Run("signed Deployment is admitted and pinned", func(t *testing.T) {
		ns := w.Namespace(t, "pinned", nil)
		img, digest := w.image(t, "pinned/app:1.0", w.keyA)
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "pinned"}, Spec: policySpec(w.reg.Host+"/pinned/**", "", keyAuthority("a", w.keyA))})
		dep := deployment(ns, "web", img)
		if err := w.Client.Create(ctx, dep); err != nil {
			t.Fatalf("creating a signed Deployment: %v", err)
		}
		if got := dep.Spec.Template.Spec.Containers[0].Image; got != img+"@"+digest {
			t.Fatalf("stored image %q, want %q", got, img+"@"+digest)
		}
		// An image already pinned is never rewritten.
		p := pod(ns, "pinned", img+"@"+digest)
		if err := w.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		if p.Spec.Containers[0].Image != img+"@"+digest {
			t.Fatalf("a pinned image was rewritten to %q", p.Spec.Containers[0].Image)
		}
	})

	t.Run("a second admission of the same image makes no registry request", func(t *testing.T) {
		var requests atomic.Int64
		counted := sigtest.NewRegistry(t, true, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				h.ServeHTTP(rw, r)
			})
		})
		d := counted.PushRandom(t, "cached/app:1")
		w.keyA.SignLegacy(t, d)
		img := counted.Host + "/cached/app:1"
		ns := w.Namespace(t, "cached", nil)
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "cached"}, Spec: policySpec(counted.Host+"/cached/**", "", keyAuthority("a", w.keyA))})
		requests.Store(0)
		first := pod(ns, "first", img)
		if err := w.Client.Create(ctx, first); err != nil {
			t.Fatal(err)
		}
		cold := requests.Load()
		if err := w.Client.Create(ctx, pod(ns, "second", img)); err != nil {
			t.Fatal(err)
		}
		if warm := requests.Load() - cold; cold == 0 || warm != 0 {
			t.Fatalf("registry requests: %d for the first admission, %d for the second; want some, then none", cold, warm)
		}
		if first.Spec.Containers[0].Image != img+"@"+d.DigestStr() {
			t.Fatalf("a signed Pod was not pinned: %s", first.Spec.Containers[0].Image)
		}
	})

	t.Run("unsigned pod is denied with its reason", func(t *testing.T) {
		ns := w.Namespace(t, "unsigned", nil)
		img, digest := w.image(t, "unsigned/tools:latest")
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "unsigned-team"}, Spec: policySpec(w.reg.Host+"/unsigned/**", "", keyAuthority("release-key", w.keyA))})
		err := w.Client.Create(ctx, pod(ns, "tools", img))
		denied(t, err, `container "app"`, "image "+img, digest[:19], "policy unsigned-team", "no signature verified by key release-key (no signatures found)", "to fix: sign the image digest")
	})

	t.Run("every kind and every place an image can hide", func(t *testing.T) {
		ns := w.Namespace(t, "kinds", nil)
		bad, _ := w.image(t, "kinds/bad:1")
		good, _ := w.image(t, "kinds/good:1", w.keyA)
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "kinds"}, Spec: policySpec(w.reg.Host+"/kinds/**", "", keyAuthority("a", w.keyA))})
		spec := func(init, main, vol string) corev1.PodSpec {
			s := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: main}}}
			if init != "" {
				s.InitContainers = []corev1.Container{{Name: "setup", Image: init}}
			}
			if vol != "" {
				s.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: vol}}}}
			}
			return s
		}
		tmpl := func(s corev1.PodSpec) corev1.PodTemplateSpec {
			return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}, Spec: s}
		}
		sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
		objs := func(s corev1.PodSpec) []client.Object {
			js := s.DeepCopy()
			js.RestartPolicy = corev1.RestartPolicyNever
			return []client.Object{
				&corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "p-", Namespace: ns}, Spec: s},
				&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{GenerateName: "d-", Namespace: ns}, Spec: appsv1.DeploymentSpec{Selector: sel, Template: tmpl(s)}},
				&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{GenerateName: "rs-", Namespace: ns}, Spec: appsv1.ReplicaSetSpec{Selector: sel, Template: tmpl(s)}},
				&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{GenerateName: "ss-", Namespace: ns}, Spec: appsv1.StatefulSetSpec{Selector: sel, Template: tmpl(s)}},
				&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{GenerateName: "ds-", Namespace: ns}, Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tmpl(s)}},
				&batchv1.Job{ObjectMeta: metav1.ObjectMeta{GenerateName: "j-", Namespace: ns}, Spec: batchv1.JobSpec{Template: tmpl(*js)}},
				&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{GenerateName: "cj-", Namespace: ns}, Spec: batchv1.CronJobSpec{Schedule: "@daily",
					JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl(*js)}}}},
				&corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{GenerateName: "rc-", Namespace: ns}, Spec: corev1.ReplicationControllerSpec{Selector: map[string]string{"app": "x"}, Template: ptr.To(tmpl(s))}},
			}
		}
		for _, c := range []struct {
			where string
			spec  corev1.PodSpec
		}{
			{`container "app"`, spec("", bad, "")},
			{`initContainer "setup"`, spec(bad, good, "")},
			{`volume "data"`, spec("", good, bad)},
		} {
			for _, obj := range objs(c.spec) {
				err := w.Client.Create(ctx, obj)
				denied(t, err, c.where, "image "+bad)
			}
		}
		for _, obj := range objs(spec(good, good, good)) {
			if err := w.Client.Create(ctx, obj); err != nil {
				t.Fatalf("a signed %T was denied: %v", obj, err)
			}
		}
	})

	t.Run("ephemeral containers are judged through their subresource", func(t *testing.T) {
		ns := w.Namespace(t, "ephemeral", nil)
		good, _ := w.image(t, "ephemeral/good:1", w.keyA)
		bad, _ := w.image(t, "ephemeral/debug:1")
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "ephemeral"}, Spec: policySpec(w.reg.Host+"/ephemeral/**", "", keyAuthority("a", w.keyA))})
		p := pod(ns, "target", good)
		if err := w.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: bad}}}
		err := w.Client.SubResource("ephemeralcontainers").Update(ctx, p)
		denied(t, err, `ephemeralContainer "debugger"`, "image "+bad)
	})

	t.Run("updates are judged when they change an image, and only then", func(t *testing.T) {
		ns := w.Namespace(t, "updates", nil)
		good, _ := w.image(t, "updates/good:1", w.keyA)
		bad, _ := w.image(t, "updates/bad:1")
		cip := &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "updates"}, Spec: policySpec(w.reg.Host+"/updates/**", "", keyAuthority("a", w.keyA))}
		w.apply(t, cip)
		p := pod(ns, "web", good)
		if err := w.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		p.Spec.Containers[0].Image = bad
		denied(t, w.Client.Update(ctx, p), "image "+bad)
		// Tighten the policy: the running pod's labels can still change, its image cannot.
		if err := w.Client.Get(ctx, client.ObjectKeyFromObject(cip), cip); err != nil {
			t.Fatal(err)
		}
		cip.Spec.Authorities = []v1alpha1.Authority{keyAuthority("b", w.keyB)}
		if err := w.Client.Update(ctx, cip); err != nil {
			t.Fatal(err)
		}
		waitGeneration(t, w, cip)
		if err := w.Client.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			t.Fatal(err)
		}
		p.Labels = map[string]string{"touched": "yes"}
		if err := w.Client.Update(ctx, p); err != nil {
			t.Fatalf("an update that changes no image was judged: %v", err)
		}
		if err := w.Client.Delete(ctx, p); err != nil {
			t.Fatalf("DELETE was judged: %v", err)
		}
	})

	t.Run("a forged ownerReference is no reason to skip", func(t *testing.T) {
		ns := w.Namespace(t, "owners", nil)
		bad, _ := w.image(t, "owners/bad:1")
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "owners"}, Spec: policySpec(w.reg.Host+"/owners/**", "", keyAuthority("a", w.keyA))})
		p := pod(ns, "owned", bad)
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "trusted-rs", UID: "0000", Controller: ptr.To(true)}}
		denied(t, w.Client.Create(ctx, p), "image "+bad)
	})

	t.Run("a namespace policy tightens its namespace only", func(t *testing.T) {
		strict := w.Namespace(t, "strict", nil)
		relaxed := w.Namespace(t, "relaxed", nil)
		img, _ := w.image(t, "tighten/app:1", w.keyA)
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "tighten"}, Spec: policySpec(w.reg.Host+"/tighten/**", "", keyAuthority("a", w.keyA))})
		w.apply(t, &v1alpha1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "also-b", Namespace: strict}, Spec: policySpec(w.reg.Host+"/tighten/**", "", keyAuthority("b", w.keyB))})
		// A namespace policy that tries to relax the cluster's changes nothing.
		unsigned, _ := w.image(t, "tighten/unsigned:1")
		w.apply(t, &v1alpha1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "let-in", Namespace: relaxed}, Spec: policySpec("**", "",
			v1alpha1.Authority{Name: "yes", Static: &v1alpha1.StaticAuthority{Action: v1alpha1.StaticPass}})})
		if err := w.Client.Create(ctx, pod(relaxed, "web", img)); err != nil {
			t.Fatalf("denied where only the cluster policy applies: %v", err)
		}
		denied(t, w.Client.Create(ctx, pod(strict, "web", img)), "policy strict/also-b", "no signature verified by key b")
		denied(t, w.Client.Create(ctx, pod(relaxed, "unsigned", unsigned)), "policy tighten")
	})

	t.Run("warn and audit modes admit; warn says why", func(t *testing.T) {
		ns := w.Namespace(t, "modes", nil)
		warned, _ := w.image(t, "warned/app:1")
		audited, _ := w.image(t, "audited/app:1")
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "warned"}, Spec: policySpec(w.reg.Host+"/warned/**", v1alpha1.ModeWarn, keyAuthority("a", w.keyA))})
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "audited"}, Spec: policySpec(w.reg.Host+"/audited/**", v1alpha1.ModeAudit, keyAuthority("a", w.keyA))})
		w.Warnings.Take()
		if err := w.Client.Create(ctx, pod(ns, "warned", warned)); err != nil {
			t.Fatalf("warn mode denied: %v", err)
		}
		if got := strings.Join(w.Warnings.Take(), "\n"); !strings.Contains(got, "policy warned (warn): no signature verified by key a") {
			t.Fatalf("warnings %q do not say why", got)
		}
		if err := w.Client.Create(ctx, pod(ns, "audited", audited)); err != nil {
			t.Fatalf("audit mode denied: %v", err)
		}
		if got := w.Warnings.Take(); len(got) != 0 {
			t.Fatalf("audit mode warned: %q", got)
		}
	})

	t.Run("an image no policy covers is warned about (noMatch warn)", func(t *testing.T) {
		ns := w.Namespace(t, "nomatch", nil)
		img, _ := w.image(t, "uncovered/app:1")
		w.Warnings.Take()
		if err := w.Client.Create(ctx, pod(ns, "web", img)); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(w.Warnings.Take(), "\n"); !strings.Contains(got, "no ClusterImagePolicy covers this image (noMatch: warn)") {
			t.Fatalf("warnings %q", got)
		}
	})

	t.Run("ignored namespaces are never judged", func(t *testing.T) {
		img, _ := w.image(t, "ignored/app:1")
		w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "ignored"}, Spec: policySpec(w.reg.Host+"/ignored/**", "", keyAuthority("a", w.keyA))})
		for _, ns := range []string{
			w.Namespace(t, "labelled", map[string]string{webhook.IgnoreLabel: "true"}),
			w.Namespace(t, "portcullis-system", nil),
			"kube-system",
		} {
			if err := w.Client.Create(ctx, pod(ns, "web", img)); err != nil {
				t.Fatalf("namespace %s was judged: %v", ns, err)
			}
		}
		denied(t, w.Client.Create(ctx, pod(w.Namespace(t, "not-ignored", map[string]string{webhook.IgnoreLabel: "false"}), "web", img)), "image "+img)
	})

	t.Run("keyless: the real public-good signature, and trust roots", func(t *testing.T) {
		ns := w.Namespace(t, "keyless", nil)
		d := sigtest.PushFixture(t, w.reg, "dir-img-cosign-fulcio-rekor-valid")
		img := d.Context().String() + ":latest"
		id := func(subject string) v1alpha1.Authority {
			return v1alpha1.Authority{Name: "redhat", Keyless: &v1alpha1.KeylessAuthority{Identities: []v1alpha1.Identity{{Issuer: "https://github.com/login/oauth", Subject: subject}}}}
		}
		cond := w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "keyless"}, Spec: policySpec(d.Context().String(), "", id("mitr@redhat.com"))})
		if cond.Status != metav1.ConditionTrue {
			t.Fatalf("Ready %+v", cond)
		}
		p := pod(ns, "signed", img)
		if err := w.Client.Create(ctx, p); err != nil {
			t.Fatalf("the real keyless signature was denied: %v", err)
		}
		if p.Spec.Containers[0].Image != img+"@"+d.DigestStr() {
			t.Fatalf("stored image %s", p.Spec.Containers[0].Image)
		}
		strict := w.Namespace(t, "keyless-strict", nil)
		w.apply(t, &v1alpha1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "someone-else", Namespace: strict}, Spec: policySpec(d.Context().String(), "", id("someone@redhat.com"))})
		denied(t, w.Client.Create(ctx, pod(strict, "signed", img)), "policy keyless-strict/someone-else",
			`certificate subject mitr@redhat.com, issuer https://github.com/login/oauth; wanted subject "someone@redhat.com"`)

		// A TrustRoot that does not parse is Ready=False, and so is a policy that uses it.
		cond = w.apply(t, &v1alpha1.TrustRoot{ObjectMeta: metav1.ObjectMeta{Name: "broken"}, Spec: v1alpha1.TrustRootSpec{SigstoreTrustedRoot: "{not json"}})
		if cond.Status != metav1.ConditionFalse || !strings.Contains(cond.Message, "parsing Sigstore trusted root") {
			t.Fatalf("TrustRoot Ready %+v", cond)
		}
		a := id("mitr@redhat.com")
		a.Keyless.TrustRootRef = "broken"
		cond = w.apply(t, &v1alpha1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "broken-root", Namespace: ns}, Spec: policySpec(d.Context().String(), "", a)})
		if cond.Status != metav1.ConditionFalse || !strings.Contains(cond.Message, `trustRootRef "broken"`) {
			t.Fatalf("policy Ready %+v", cond)
		}
		denied(t, w.Client.Create(ctx, pod(ns, "broken-root", img)), "policy keyless/broken-root: policy does not compile")
	})

	t.Run("the CLI and the webhook agree", func(t *testing.T) { testParity(t, w) })

	t.Run("Rekor v2 entries with and without a trusted timestamp", func(t *testing.T) { testRekorV2(t, w) })

	t.Run("a broken policy reports Ready=False and denies what it covers", func(t *testing.T) {
		ns := w.Namespace(t, "broken", nil)
		img, _ := w.image(t, "broken/app:1", w.keyA)
		cond := w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "broken"}, Spec: v1alpha1.ImagePolicySpec{
			Images: []v1alpha1.ImagePattern{{Glob: w.reg.Host + "/broken/**"}}, Authorities: []v1alpha1.Authority{keyAuthority("a", w.keyA)},
			Rego: "package portcullis\ndeny contains msg if {"}})
		if cond.Status != metav1.ConditionFalse || !strings.Contains(cond.Message, "parsing Rego") {
			t.Fatalf("Ready condition %+v", cond)
		}
		denied(t, w.Client.Create(ctx, pod(ns, "web", img)), "policy broken: policy does not compile", "parsing Rego")
	})
}

func resources(rules []admissionregistrationv1.RuleWithOperations) []string {
	var out []string
	for _, r := range rules {
		out = append(out, r.Resources...)
	}
	return out
}

func deployment(ns, name, img string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: img}}}}},
	}
}

func waitGeneration(t *testing.T, w *world, cip *v1alpha1.ClusterImagePolicy) {
	t.Helper()
	w.waitCompiled(t, cip)
}

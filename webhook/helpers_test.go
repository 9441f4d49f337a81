package webhook_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
)

// world is a cluster with Portcullis, a registry, and two signing keys.
type world struct {
	*envtesting.Cluster
	reg        *sigtest.Registry
	keyA, keyB *sigtest.Key
}

// image pushes repo:tag signed (legacy format) by keys and returns host/repo:tag and its digest.
func (w *world) image(t *testing.T, repoTag string, keys ...*sigtest.Key) (string, string) {
	t.Helper()
	d := w.reg.PushRandom(t, repoTag)
	for _, k := range keys {
		k.SignLegacy(t, d)
	}
	return w.reg.Host + "/" + repoTag, d.DigestStr()
}

func keyAuthority(name string, k *sigtest.Key) v1alpha1.Authority {
	return v1alpha1.Authority{Name: name, Key: &v1alpha1.KeyAuthority{Data: string(k.PEM)}}
}

func policySpec(glob string, mode v1alpha1.Mode, auths ...v1alpha1.Authority) v1alpha1.ImagePolicySpec {
	return v1alpha1.ImagePolicySpec{Images: []v1alpha1.ImagePattern{{Glob: glob}}, Mode: mode, Authorities: auths}
}

// apply creates a policy and waits until Portcullis reports it compiled (Ready True or False).
func (w *world) apply(t *testing.T, obj client.Object) *metav1.Condition {
	t.Helper()
	ctx := context.Background()
	if err := w.Client.Create(ctx, obj); err != nil {
		t.Fatalf("creating %s: %v", obj.GetName(), err)
	}
	t.Cleanup(func() { w.Client.Delete(context.Background(), obj) })
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := w.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
		st := statusOf(obj)
		if c := meta.FindStatusCondition(st.Conditions, "Ready"); c != nil && st.ObservedGeneration == obj.GetGeneration() {
			return c
		}
	}
	t.Fatalf("%s never reported Ready", obj.GetName())
	return nil
}

// statusOf returns the status of a ClusterImagePolicy, ImagePolicy or TrustRoot.
func statusOf(obj client.Object) v1alpha1.PolicyStatus {
	switch o := obj.(type) {
	case *v1alpha1.ClusterImagePolicy:
		return o.Status
	case *v1alpha1.ImagePolicy:
		return o.Status
	case *v1alpha1.TrustRoot:
		return o.Status.PolicyStatus
	}
	return v1alpha1.PolicyStatus{}
}

func pod(ns, name string, images ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	for i, img := range images {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: []string{"app", "sidecar", "third"}[i], Image: img})
	}
	return p
}

// denied asserts that err is an admission denial saying every one of wants.
func denied(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("admitted; want a denial saying %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("denial %q does not say %q", err, w)
		}
	}
}

// waitCompiled waits until Portcullis has compiled obj's current generation.
func (w *world) waitCompiled(t *testing.T, obj *v1alpha1.ClusterImagePolicy) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := w.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
		if obj.Status.ObservedGeneration == obj.Generation {
			return
		}
	}
	t.Fatalf("%s generation %d never compiled", obj.Name, obj.Generation)
}

func podContainer(name, img string) corev1.Container { return corev1.Container{Name: name, Image: img} }

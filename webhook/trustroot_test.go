package webhook_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/internal/tuftest"
	"github.com/portcullis-dev/portcullis/trust"
	"github.com/portcullis-dev/portcullis/webhook"
)

// waitTrustRoot waits until the TrustRoot's Ready condition has reason and its status passes
// ok, and returns it.
func waitTrustRoot(t *testing.T, c client.Client, name, reason string, ok func(*v1alpha1.TrustRoot) bool) *v1alpha1.TrustRoot {
	t.Helper()
	var tr v1alpha1.TrustRoot
	var cond *metav1.Condition
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, &tr); err != nil {
			t.Fatal(err)
		}
		if cond = meta.FindStatusCondition(tr.Status.Conditions, "Ready"); cond != nil && cond.Reason == reason && ok(&tr) {
			return &tr
		}
	}
	t.Fatalf("TrustRoot %s: Ready %+v, TUF status %+v; want reason %s", name, cond, tr.Status.TUF, reason)
	return nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestTUFTrustRoots runs the webhook against a real API server and a TUF mirror on loopback:
// a TrustRoot's status follows its repository through a key rotation, a mirror that goes away
// and one that is down at start; verdicts follow the root; a serialized repository whose
// metadata has expired is Stale, with an Event, and still used; built-in names are reserved.
func TestTUFTrustRoots(t *testing.T) {
	w := &world{Cluster: envtesting.Start(t, webhook.Options{Trust: trust.Options{Offline: true, Interval: 100 * time.Millisecond}}), reg: sigtest.NewRegistry(t, true)}
	ctx := context.Background()
	ours, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	ns := w.Namespace(t, "tuf", nil)
	d := w.reg.PushRandom(t, "tuf/app:1")
	id := sigtest.Identity{Subject: "https://github.com/org/repo/.github/workflows/ci.yml@refs/heads/main", Issuer: "https://token.actions.githubusercontent.com"}
	if err := ours.SignBundle(d, id); err != nil {
		t.Fatal(err)
	}
	img := w.reg.Host + "/tuf/app:1"
	repo := tuftest.New(t, ours.TrustedRootJSON)
	srv := httptest.NewServer(repo)
	defer srv.Close()

	w.apply(t, &v1alpha1.TrustRoot{ObjectMeta: metav1.ObjectMeta{Name: "corp"}, Spec: v1alpha1.TrustRootSpec{TUF: &v1alpha1.TUFSource{Mirror: srv.URL, Root: tuftest.Base64(repo.InitialRoot())}}})
	waitTrustRoot(t, w.Client, "corp", webhook.ReasonVerified, func(tr *v1alpha1.TrustRoot) bool {
		return tr.Status.TUF != nil && tr.Status.TUF.RootVersion == 1 && tr.Status.TUF.TrustedRootSHA256 == sha(ours.TrustedRootJSON)
	})
	auth := v1alpha1.Authority{Name: "ci", Keyless: &v1alpha1.KeylessAuthority{TrustRootRef: "corp", Identities: []v1alpha1.Identity{{Issuer: id.Issuer, Subject: id.Subject}}}}
	if cond := w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "tuf"}, Spec: policySpec(w.reg.Host+"/tuf/**", "", auth)}); cond.Status != metav1.ConditionTrue {
		t.Fatalf("policy Ready %+v", cond)
	}
	if err := w.Client.Create(ctx, pod(ns, "before-rotation", img)); err != nil {
		t.Fatalf("signed with the TUF repository's root, denied: %v", err)
	}

	t.Run("key rotation: the new root is held and re-judges the cached verdict", func(t *testing.T) {
		repo.RotateRoot()
		repo.SetTarget(theirs.TrustedRootJSON)
		waitTrustRoot(t, w.Client, "corp", webhook.ReasonVerified, func(tr *v1alpha1.TrustRoot) bool {
			return tr.Status.TUF != nil && tr.Status.TUF.RootVersion == 2 && tr.Status.TUF.TrustedRootSHA256 == sha(theirs.TrustedRootJSON)
		})
		denied(t, w.Client.Create(ctx, pod(ns, "after-rotation", img)), "no signature verified by keyless authority ci")
	})

	t.Run("mirror down: the last good root is kept and the refresh failure reported", func(t *testing.T) {
		repo.SetDown(true)
		defer repo.SetDown(false)
		tr := waitTrustRoot(t, w.Client, "corp", webhook.ReasonRefreshFailing, func(*v1alpha1.TrustRoot) bool { return true })
		if c := meta.FindStatusCondition(tr.Status.Conditions, "Ready"); c.Status != metav1.ConditionTrue || tr.Status.TUF.TrustedRootSHA256 != sha(theirs.TrustedRootJSON) {
			t.Fatalf("Ready %+v, TUF %+v; want the last good root, still Ready", c, tr.Status.TUF)
		}
		denied(t, w.Client.Create(ctx, pod(ns, "mirror-down", img)), "no signature verified by keyless authority ci")
	})

	t.Run("mirror down at start, then up", func(t *testing.T) {
		late := tuftest.New(t, ours.TrustedRootJSON)
		late.SetDown(true)
		lsrv := httptest.NewServer(late)
		defer lsrv.Close()
		cond := w.apply(t, &v1alpha1.TrustRoot{ObjectMeta: metav1.ObjectMeta{Name: "late"}, Spec: v1alpha1.TrustRootSpec{TUF: &v1alpha1.TUFSource{Mirror: lsrv.URL, Root: tuftest.Base64(late.InitialRoot())}}})
		if cond.Status != metav1.ConditionFalse {
			t.Fatalf("Ready %+v; want False while nothing is verified", cond)
		}
		waitTrustRoot(t, w.Client, "late", "CompileError", func(tr *v1alpha1.TrustRoot) bool {
			c := meta.FindStatusCondition(tr.Status.Conditions, "Ready")
			return strings.Contains(c.Message, "no verified trusted root yet") && strings.Contains(c.Message, lsrv.URL)
		})
		late.SetDown(false)
		waitTrustRoot(t, w.Client, "late", webhook.ReasonVerified, func(tr *v1alpha1.TrustRoot) bool { return tr.Status.TUF != nil })
	})

	t.Run("an expired serialized repository is Stale, with an Event, and still used", func(t *testing.T) {
		air := tuftest.New(t, ours.TrustedRootJSON)
		air.ExpireTimestamp()
		w.apply(t, &v1alpha1.TrustRoot{ObjectMeta: metav1.ObjectMeta{Name: "airgap"}, Spec: v1alpha1.TrustRootSpec{TUF: &v1alpha1.TUFSource{Root: tuftest.Base64(air.InitialRoot()), Repository: tuftest.Base64(air.Archive())}}})
		tr := waitTrustRoot(t, w.Client, "airgap", webhook.ReasonStale, func(tr *v1alpha1.TrustRoot) bool { return tr.Status.TUF != nil })
		if c := meta.FindStatusCondition(tr.Status.Conditions, "Ready"); c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "newer spec.tuf.repository") {
			t.Fatalf("Ready %+v", c)
		}
		a := auth
		a.Keyless = &v1alpha1.KeylessAuthority{TrustRootRef: "airgap", Identities: auth.Keyless.Identities}
		w.apply(t, &v1alpha1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "airgap", Namespace: ns}, Spec: policySpec(w.reg.Host+"/tuf/**", "", a)})
		// The cluster policy (corp, now their root) still denies; the namespace policy's own
		// verdict must not: its reason is absent.
		err := w.Client.Create(ctx, pod(ns, "airgap", img))
		if err == nil || strings.Contains(err.Error(), "policy tuf/airgap") {
			t.Fatalf("the stale root was not used: %v", err)
		}
		for deadline := time.Now().Add(30 * time.Second); !hasEvent(t, w.Client, "default", "airgap"); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no Event on the Stale TrustRoot")
			}
		}
	})

	t.Run("built-in names are reserved", func(t *testing.T) {
		for _, name := range []string{trust.PublicGood, trust.GitHub} {
			cond := w.apply(t, &v1alpha1.TrustRoot{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.TrustRootSpec{SigstoreTrustedRoot: string(ours.TrustedRootJSON)}})
			if cond.Status != metav1.ConditionFalse || cond.Reason != webhook.ReasonReservedName || !strings.Contains(cond.Message, "reserved") {
				t.Fatalf("%s: Ready %+v", name, cond)
			}
		}
	})
}

package webhook

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/trust"
)

// Reasons of a TrustRoot's Ready condition besides Compiled and CompileError.
const (
	// ReasonStale: the TUF metadata vouching for the root has expired; policies keep using it.
	ReasonStale = "Stale"
	// ReasonRefreshFailing: the last refresh failed; the root held is still within its expiry.
	ReasonRefreshFailing = "RefreshFailing"
	// ReasonVerified: the root came from the TUF repository, and the metadata is current.
	ReasonVerified = "Verified"
	// ReasonReservedName: the TrustRoot took a built-in root's name.
	ReasonReservedName = "ReservedName"
)

// reportTrustRoot writes a TrustRoot's Ready condition and what its TUF repository gave, and
// records an Event when it turns Stale.
func (p *Policies) reportTrustRoot(ctx context.Context, o *v1alpha1.TrustRoot, set *policy.Set) error {
	cond := trustRootReady(o, set, time.Now())
	old := meta.FindStatusCondition(o.Status.Conditions, "Ready")
	tuf := o.Status.TUF
	o.Status.TUF = nil
	if st, ok := set.TrustRootStatus(o.Name); ok && st.Root != nil {
		o.Status.TUF = &v1alpha1.TUFStatus{RootVersion: st.TUFVersion, Expires: metav1.NewTime(st.Expires), TrustedRootSHA256: st.Root.SHA256}
	}
	changed := (tuf == nil) != (o.Status.TUF == nil) || tuf != nil && (*tuf != *o.Status.TUF)
	if err := p.setStatus(ctx, o, &o.Status.PolicyStatus, []metav1.Condition{cond}, changed); err != nil {
		return err
	}
	if cond.Reason == ReasonStale && (old == nil || old.Reason != ReasonStale) && p.Events != nil {
		p.Events.Eventf(o, nil, corev1.EventTypeWarning, ReasonStale, "Refresh", "%s", cond.Message)
	}
	return nil
}

// trustRootReady is a TrustRoot's Ready condition: whether policies can use it, and for a TUF
// one, which root it holds and how fresh it is.
func trustRootReady(o *v1alpha1.TrustRoot, set *policy.Set, now time.Time) metav1.Condition {
	cond := readyCondition(o, set.TrustRootErr(o.Name))
	st, ok := set.TrustRootStatus(o.Name)
	if trust.Reserved(o.Name) {
		cond.Reason = ReasonReservedName
	}
	if !ok || st.Root == nil {
		return cond
	}
	held := fmt.Sprintf("trusted root sha256:%s (TUF root v%d, metadata valid until %s)", st.Root.SHA256, st.TUFVersion, st.Expires.UTC().Format(time.RFC3339))
	switch {
	case st.Expired(now):
		cond.Reason, cond.Message = ReasonStale, fmt.Sprintf("the TUF metadata has expired; policies keep using the last verified %s. Refresh it: %s", held, refreshHint(o, st))
	case st.Err != nil:
		cond.Reason, cond.Message = ReasonRefreshFailing, fmt.Sprintf("keeping %s: the last refresh failed: %v", held, st.Err)
	default:
		cond.Reason, cond.Message = ReasonVerified, "verified and in use: "+held
	}
	return cond
}

func refreshHint(o *v1alpha1.TrustRoot, st trust.Status) string {
	if o.Spec.TUF != nil && o.Spec.TUF.Mirror == "" {
		return "apply this TrustRoot with a newer spec.tuf.repository"
	}
	if st.Err != nil {
		return fmt.Sprintf("make the mirror reachable (%v)", st.Err)
	}
	return "make the mirror publish new metadata"
}

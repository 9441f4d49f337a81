package webhook

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/cluster"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/trust"
)

// resync recompiles the policies this often even without a change, to pick up a rotated key
// in a Secret that a policy refers to.
const resync = 10 * time.Minute

// Policies keeps the Engine's policy set in step with the cluster's ClusterImagePolicies,
// ImagePolicies and TrustRoots (read through informers), and reports each one's Ready condition
// and each policy's Warnings condition.
type Policies struct {
	Client client.Client
	// Secrets reads the Secrets that key.secretRef names, uncached: Portcullis does not watch
	// every Secret in the cluster.
	Secrets          client.Reader
	Engine           *policy.Engine
	InstallNamespace string
	// RegoLimits bound the Rego the policies carry.
	RegoLimits policy.RegoLimits
	// Trust keeps the built-in roots and TrustRoots' TUF repositories between compiles.
	Trust *trust.Registry
	// Events records a TrustRoot turning Stale.
	Events events.EventRecorder
	// Leading reports whether this replica writes statuses; nil means always.
	Leading func() bool
	// OnCompile, when set, is called after each compile (the auditor rescans).
	OnCompile func()
	Log       logr.Logger

	synced atomic.Bool
	// recompile feeds the controller's queue from outside the watches: at start, when no
	// object exists to trigger a watch, and when this replica is elected and owes statuses.
	recompile chan event.GenericEvent
}

// key is the one work item: any change recompiles the whole set, which stays immutable.
var key = reconcile.Request{NamespacedName: types.NamespacedName{Name: "policies"}}

// SetupWithManager watches the three kinds and compiles once the caches have synced. Every
// compile runs in the controller's one worker, so two never race to write a status, and a
// failed status write is retried with backoff.
func (p *Policies) SetupWithManager(mgr ctrl.Manager) error {
	all := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{key}
	})
	p.recompile = make(chan event.GenericEvent, 1)
	p.Recompile() // the first compile, even if no policy exists yet
	return ctrl.NewControllerManagedBy(mgr).Named("policies").
		Watches(&v1alpha1.ClusterImagePolicy{}, all).
		Watches(&v1alpha1.ImagePolicy{}, all).
		Watches(&v1alpha1.TrustRoot{}, all).
		WatchesRawSource(source.Channel(p.recompile, all)).
		WithOptions(controllerOptions()).
		Complete(p)
}

// Recompile asks for a compile, as a change to a watched object does.
func (p *Policies) Recompile() {
	select {
	case p.recompile <- event.GenericEvent{Object: &v1alpha1.ClusterImagePolicy{}}:
	default: // one is already queued
	}
}

// Synced reports whether the first policy set has been compiled from synced informers; until
// then the webhook is not ready.
func (p *Policies) Synced() bool { return p.synced.Load() }

// Reconcile recompiles every policy and publishes the new set.
func (p *Policies) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	res, err := cluster.ReadResources(ctx, p.Client)
	if err != nil {
		return reconcile.Result{}, err
	}
	src := res.Sources(ctx, p.Secrets, p.InstallNamespace, p.RegoLimits)
	src.Trust = p.Trust
	if p.Trust != nil {
		p.Trust.Track()
		defer p.Trust.Retain() // stops the TUF sources of TrustRoots deleted or changed
	}
	set := policy.Compile(src)
	p.Engine.SetPolicies(set)
	p.synced.Store(true)
	p.Log.Info("policies compiled", "clusterImagePolicies", len(res.ClusterPolicies.Items), "imagePolicies", len(res.Policies.Items), "trustRoots", len(res.TrustRoots.Items))
	if p.OnCompile != nil {
		p.OnCompile()
	}
	if p.Leading != nil && !p.Leading() {
		return reconcile.Result{RequeueAfter: resync}, nil // the leader reports statuses
	}
	return reconcile.Result{RequeueAfter: resync}, p.report(ctx, set, &res.ClusterPolicies, &res.Policies, &res.TrustRoots)
}

// report writes each object's Ready condition, and each policy's Warnings condition, where they
// changed.
func (p *Policies) report(ctx context.Context, set *policy.Set, cips *v1alpha1.ClusterImagePolicyList, ips *v1alpha1.ImagePolicyList, trs *v1alpha1.TrustRootList) error {
	compiled := map[string]*policy.Policy{}
	for _, c := range set.Policies() {
		compiled[c.Kind+"/"+c.ID()] = c
	}
	var firstErr error
	update := func(obj client.Object, status *v1alpha1.PolicyStatus, conds ...metav1.Condition) {
		if e := p.setStatus(ctx, obj, status, conds, false); e != nil && firstErr == nil {
			firstErr = e
		}
	}
	policyConds := func(obj client.Object, c *policy.Policy) []metav1.Condition {
		if c == nil { // deleted or created since the list: the next compile reports it
			return nil
		}
		return []metav1.Condition{readyCondition(obj, c.Err), warningsCondition(obj, c.Warnings)}
	}
	for i := range cips.Items {
		o := &cips.Items[i]
		update(o, &o.Status, policyConds(o, compiled[policy.KindCluster+"/"+o.Name])...)
	}
	for i := range ips.Items {
		o := &ips.Items[i]
		update(o, &o.Status, policyConds(o, compiled[policy.KindNamespaced+"/"+o.Namespace+"/"+o.Name])...)
	}
	for i := range trs.Items {
		if e := p.reportTrustRoot(ctx, &trs.Items[i], set); e != nil && firstErr == nil {
			firstErr = e
		}
	}
	return firstErr
}

func readyCondition(obj client.Object, err error) metav1.Condition {
	cond := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Compiled", Message: "compiled and in use", ObservedGeneration: obj.GetGeneration()}
	if err != nil {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "CompileError", err.Error()+"; images it covers are denied"
	}
	return cond
}

// warningsCondition reports what in a policy is probably a mistake. It is apart from Ready: a
// warning never changes what the policy enforces.
func warningsCondition(obj client.Object, warnings []string) metav1.Condition {
	cond := metav1.Condition{Type: "Warnings", Status: metav1.ConditionFalse, Reason: "NoWarnings", Message: "nothing looks like a mistake", ObservedGeneration: obj.GetGeneration()}
	if len(warnings) > 0 {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "ConfigurationWarnings", strings.Join(warnings, "; ")
		if len(cond.Message) > maxConditionMessage {
			cond.Message = strings.ToValidUTF8(cond.Message[:maxConditionMessage-3], "") + "..."
		}
	}
	return cond
}

// maxConditionMessage is the longest message a condition takes.
const maxConditionMessage = 32768

// setStatus writes conds into obj's status, unless each is already there as it is and nothing
// else in the status changed.
func (p *Policies) setStatus(ctx context.Context, obj client.Object, status *v1alpha1.PolicyStatus, conds []metav1.Condition, changed bool) error {
	if len(conds) == 0 {
		return nil
	}
	before := status.DeepCopy()
	status.ObservedGeneration = obj.GetGeneration()
	same := before.ObservedGeneration == status.ObservedGeneration && !changed
	for _, cond := range conds {
		meta.SetStatusCondition(&status.Conditions, cond)
		old := meta.FindStatusCondition(before.Conditions, cond.Type)
		same = same && old != nil && old.Status == cond.Status && old.Reason == cond.Reason && old.Message == cond.Message
	}
	if same {
		return nil
	}
	if err := p.Client.Status().Update(ctx, obj); err != nil {
		return fmt.Errorf("updating status of %s: %w", obj.GetName(), err)
	}
	return nil
}

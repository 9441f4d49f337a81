package policy

import (
	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/time/rate"

	"github.com/portcullis-dev/portcullis/workload"
)

// The operations Rego sees as input.operation: the admission's own in the webhook, CREATE in
// portcullis verify (a manifest about to be applied), and AUDIT for pods already running
// (audit scans and portcullis verify --running).
const (
	OperationCreate = "CREATE"
	OperationUpdate = "UPDATE"
	OperationAudit  = "AUDIT"
)

// Request is what the Engine judges: the images of one object, and the context Rego sees.
// NewRequest builds it from the object; Images alone (with no Object) judges bare images.
type Request struct {
	Namespace string
	// Images are the object's images, where each is used and written.
	Images []workload.Image
	// Unreadable is why the object's pod spec cannot be read; Decide denies such an object.
	Unreadable error
	// Unchanged marks an UPDATE that names the same images as the stored object: Decide admits
	// it without judging them again.
	Unchanged bool
	// Object is the admitted object, as Rego's input.object.
	Object    map[string]any
	Operation string
	UserInfo  UserInfo
	// Keychain holds the registry credentials of the object (its pull secrets); nil means the
	// verify.Client's default.
	Keychain authn.Keychain
	// ResolveAll resolves the digest of images no ClusterImagePolicy covers too, for pinning.
	ResolveAll bool
	// RegistryRate, when set, paces the registry requests made for this request (the
	// auditor's budget, so audits never flood a registry).
	RegistryRate *rate.Limiter
	// RequirePinned denies an image written without a digest when an enforcing policy pins
	// images (mutateDigest): the validating webhook's check that no later mutation swapped an
	// image in after the mutating webhook pinned it.
	RequirePinned bool
	// DryRun marks a request that changes nothing (kubectl --dry-run=server): the
	// verification observer is not told of it.
	DryRun bool
}

// UserInfo is who asked, as Rego's input.userInfo.
type UserInfo struct {
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

// NewRequest builds the request to judge obj, an object as decoded JSON with its kind, on
// operation op in namespace. It finds the object's images itself; a pod spec it cannot read is
// kept as Unreadable, for Decide to deny. For an UPDATE, old is the object as stored (nil
// otherwise): when it names the same images, the request is Unchanged.
func NewRequest(op, namespace string, obj, old map[string]any, user UserInfo) *Request {
	r := &Request{Namespace: namespace, Object: obj, Operation: op, UserInfo: user}
	r.Images, r.Unreadable = workload.Images(obj)
	if old != nil && r.Unreadable == nil {
		was, err := workload.Images(old)
		r.Unchanged = err == nil && workload.SameImages(was, r.Images)
	}
	return r
}

// unjudged answers a request whose images are not judged one by one: a pod spec that cannot
// be read (denied, outcome error), and an object with no image or, on UPDATE, no changed image
// (allowed, outcome skip). It returns nil for every other request.
func unjudged(req *Request) *Decision {
	switch {
	case req.Unreadable != nil:
		return &Decision{Outcome: Error, Reasons: []string{"the images cannot be read from the pod spec: " + req.Unreadable.Error()}}
	case req.Unchanged:
		return &Decision{Allowed: true, Outcome: Skip, Reasons: []string{"no image changed"}}
	case len(req.Images) == 0:
		return &Decision{Allowed: true, Outcome: Skip, Reasons: []string{"no images"}}
	}
	return nil
}

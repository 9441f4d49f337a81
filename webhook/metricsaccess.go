package webhook

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// metricsAccess is the metrics server's FilterProvider: a scrape is served only with a bearer
// token the API server authenticates (a TokenReview) for a user it lets get the path (a
// SubjectAccessReview on a non-resource URL). It does what controller-runtime's
// filters.WithAuthenticationAndAuthorization does, through client-go's two typed clients alone: that package's
// k8s.io/apiserver dependencies add 11 MB to the binary.
func metricsAccess(cfg *rest.Config, hc *http.Client) (metricsserver.Filter, error) {
	authn, err := authenticationv1client.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("making the metrics access client: %w", err)
	}
	authz, err := authorizationv1client.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("making the metrics access client: %w", err)
	}
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return &metricsGate{tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews(), next: next, log: log, allowed: map[[32]byte]time.Time{}}, nil
	}, nil
}

// allowedFor is how long an allowed token, verb and path are let through without new reviews,
// as controller-runtime's filter caches a token; maxAllowed bounds that cache.
const (
	allowedFor = time.Minute
	maxAllowed = 256
)

type metricsGate struct {
	tokens authenticationv1client.TokenReviewInterface
	access authorizationv1client.SubjectAccessReviewInterface
	next   http.Handler
	log    logr.Logger

	mu      sync.Mutex
	allowed map[[32]byte]time.Time
}

func (g *metricsGate) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		http.Error(w, "Unauthorized: a bearer token is needed", http.StatusUnauthorized)
		return
	}
	verb := strings.ToLower(req.Method)
	key := sha256.Sum256([]byte(verb + " " + req.URL.Path + " " + token))
	if g.recentlyAllowed(key) {
		g.next.ServeHTTP(w, req)
		return
	}
	ctx := req.Context()
	tr, err := g.tokens.Create(ctx,
		&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		g.log.Error(err, "reviewing a metrics scraper's token")
		http.Error(w, "Authentication failed", http.StatusInternalServerError)
		return
	}
	if !tr.Status.Authenticated {
		g.log.V(1).Info("metrics scrape with a token the API server does not authenticate", "error", tr.Status.Error)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	user := tr.Status.User
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := g.access.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user.Username, Groups: user.Groups, UID: user.UID, Extra: extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: req.URL.Path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		g.log.Error(err, "reviewing a metrics scraper's access", "user", user.Username)
		http.Error(w, "Authorization for user "+user.Username+" failed", http.StatusInternalServerError)
		return
	}
	if !sar.Status.Allowed || sar.Status.Denied {
		g.log.V(1).Info("metrics scrape denied", "user", user.Username, "verb", verb, "path", req.URL.Path, "reason", sar.Status.Reason)
		http.Error(w, fmt.Sprintf("Forbidden: user %s may not %s %s", user.Username, verb, req.URL.Path), http.StatusForbidden)
		return
	}
	g.remember(key)
	g.next.ServeHTTP(w, req)
}

func (g *metricsGate) recentlyAllowed(key [32]byte) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.allowed[key]
	if ok && time.Now().After(until) {
		delete(g.allowed, key)
		return false
	}
	return ok
}

func (g *metricsGate) remember(key [32]byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.allowed) >= maxAllowed { // a handful of scrapers fit; more start again
		clear(g.allowed)
	}
	g.allowed[key] = time.Now().Add(allowedFor)
}

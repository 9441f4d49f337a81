package webhook

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestMetricsGateReviews: what the gate asks the API server, what it caches, and how it
// answers when the API server fails. A fake clientset, because the real API server cannot be
// made to fail a TokenReview or a SubjectAccessReview on demand, nor count them;
// TestMetricsAccess runs the gate against the real one.
func TestMetricsGateReviews(t *testing.T) {
	user := authenticationv1.UserInfo{Username: "system:serviceaccount:monitoring:prometheus", UID: "u1",
		Groups: []string{"system:serviceaccounts"}, Extra: map[string]authenticationv1.ExtraValue{"k": {"v"}}}
	for _, tc := range []struct {
		name                string
		authnErr, authzErr  error
		authenticated, deny bool
		wantCodes           []int
		wantTokenReviews    int
		wantAccessReviews   int
	}{
		{name: "allowed twice: reviewed once", authenticated: true, wantCodes: []int{200, 200}, wantTokenReviews: 1, wantAccessReviews: 1},
		{name: "unauthenticated: never cached", wantCodes: []int{401, 401}, wantTokenReviews: 2},
		{name: "forbidden: never cached", authenticated: true, deny: true, wantCodes: []int{403, 403}, wantTokenReviews: 2, wantAccessReviews: 2},
		{name: "TokenReview fails", authnErr: errors.New("etcd is down"), wantCodes: []int{500}, wantTokenReviews: 1},
		{name: "SubjectAccessReview fails", authenticated: true, authzErr: errors.New("etcd is down"), wantCodes: []int{500}, wantTokenReviews: 1, wantAccessReviews: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset()
			var tokenReviews, accessReviews int
			var asked authorizationv1.SubjectAccessReviewSpec
			cs.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
				tokenReviews++
				tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview)
				if tr.Spec.Token != "t0ken" {
					t.Errorf("reviewed token %q", tr.Spec.Token)
				}
				tr.Status = authenticationv1.TokenReviewStatus{Authenticated: tc.authenticated}
				if tc.authenticated {
					tr.Status.User = user
				}
				return true, tr, tc.authnErr
			})
			cs.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
				accessReviews++
				sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
				asked = sar.Spec
				sar.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: !tc.deny}
				return true, sar, tc.authzErr
			})
			served := 0
			g := &metricsGate{tokens: cs.AuthenticationV1().TokenReviews(), access: cs.AuthorizationV1().SubjectAccessReviews(), log: logr.Discard(), allowed: map[[32]byte]time.Time{},
				next: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { served++ })}
			var codes []int
			for range tc.wantCodes {
				req := httptest.NewRequest(http.MethodGet, "https://portcullis:8080/metrics", nil)
				req.Header.Set("Authorization", "Bearer t0ken")
				rec := httptest.NewRecorder()
				g.ServeHTTP(rec, req)
				codes = append(codes, rec.Code)
			}
			if diff := cmp.Diff(tc.wantCodes, codes); diff != "" {
				t.Errorf("status codes (-want +got):\n%s", diff)
			}
			if tokenReviews != tc.wantTokenReviews || accessReviews != tc.wantAccessReviews {
				t.Errorf("%d TokenReviews and %d SubjectAccessReviews, want %d and %d", tokenReviews, accessReviews, tc.wantTokenReviews, tc.wantAccessReviews)
			}
			if want := countOK(tc.wantCodes); served != want {
				t.Errorf("served %d scrapes, want %d", served, want)
			}
			if accessReviews > 0 {
				want := authorizationv1.SubjectAccessReviewSpec{User: user.Username, UID: user.UID, Groups: user.Groups,
					Extra:                 map[string]authorizationv1.ExtraValue{"k": {"v"}},
					NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}}
				if diff := cmp.Diff(want, asked); diff != "" {
					t.Errorf("SubjectAccessReview asked (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func countOK(codes []int) (n int) {
	for _, c := range codes {
		if c == http.StatusOK {
			n++
		}
	}
	return n
}

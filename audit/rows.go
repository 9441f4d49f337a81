package audit

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	reports "github.com/portcullis-dev/portcullis/api/reports/v1alpha2"
	"github.com/portcullis-dev/portcullis/cluster"
	"github.com/portcullis-dev/portcullis/policy"
)

// Source names Portcullis in every report row.
const Source = "portcullis"

// NoMatchPolicy is the policy name of rows about images no ClusterImagePolicy covers.
const NoMatchPolicy = "no-matching-policy"

// rows turns one pod's Decision into report rows: one per image and policy, and one for an
// image that no ClusterImagePolicy covers or that cannot be judged at all. Each row's result is
// the outcome the engine gave (policy.PolicyResult.Outcome, ImageDecision.Outcome).
func rows(pod cluster.Pod, dec *policy.Decision, at metav1.Timestamp) []reports.PolicyReportResult {
	subject := []corev1.ObjectReference{{APIVersion: "v1", Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: types.UID(pod.UID)}}
	row := func(pol string, result reports.PolicyResult, msg string, props map[string]string) reports.PolicyReportResult {
		return reports.PolicyReportResult{Source: Source, Policy: pol, Result: result, Description: msg, Timestamp: at,
			Subjects: subject, Properties: props, Category: "Image trust", Scored: true}
	}
	if dec.Outcome == policy.Error { // its pod spec cannot be read: one row says why
		return []reports.PolicyReportResult{row(NoMatchPolicy, reports.PolicyResult(dec.Outcome), strings.Join(dec.Reasons, "; "), nil)}
	}
	var out []reports.PolicyReportResult
	for _, im := range dec.Images {
		props := map[string]string{"image": im.Image, "source": im.Source}
		if im.Canonical != "" {
			props["canonical"] = im.Canonical
		}
		if im.Digest != "" {
			props["digest"] = im.Digest
		}
		switch {
		case im.NoMatch:
			out = append(out, row(NoMatchPolicy, reports.PolicyResult(im.Outcome), noMatchMessage(im), props))
		case len(im.Policies) == 0:
			out = append(out, row(NoMatchPolicy, reports.PolicyResult(im.Outcome), strings.Join(im.Reasons, "; "), props))
		}
		for _, p := range im.Policies {
			pp := map[string]string{"mode": string(p.Mode)}
			for k, v := range props {
				pp[k] = v
			}
			if s := signers(p.Signers); s != "" {
				pp["signers"] = s
			}
			msg := strings.Join(p.Reasons, "; ")
			if p.Result == policy.Pass {
				msg = "verified"
			}
			out = append(out, row(p.ID(), reports.PolicyResult(p.Outcome), msg, pp))
		}
	}
	return out
}

// noMatchMessage says that no ClusterImagePolicy covers the image, and what noMatch made of it.
func noMatchMessage(im policy.ImageDecision) string {
	action := map[policy.Result]string{policy.Skip: "allow", policy.Warn: "warn", policy.Fail: "deny"}[im.Outcome]
	return "no ClusterImagePolicy covers this image (noMatch: " + action + ")"
}

func signers(ss []policy.SignerInfo) string {
	var parts []string
	for _, s := range ss {
		who := s.KeyID
		if s.Subject != "" {
			who = fmt.Sprintf("%s (%s)", s.Subject, s.Issuer)
		}
		parts = append(parts, s.Authority+": "+who)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// summarize counts the rows of each result.
func summarize(rs []reports.PolicyReportResult) reports.PolicyReportSummary {
	var s reports.PolicyReportSummary
	for _, r := range rs {
		switch r.Result {
		case reports.ResultPass:
			s.Pass++
		case reports.ResultFail:
			s.Fail++
		case reports.ResultWarn:
			s.Warn++
		case reports.ResultError:
			s.Error++
		case reports.ResultSkip:
			s.Skip++
		}
	}
	return s
}

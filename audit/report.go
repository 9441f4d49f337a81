package audit

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	reports "github.com/portcullis-dev/portcullis/api/reports/v1alpha2"
)

// ReportName names Portcullis's PolicyReport in each namespace and its ClusterPolicyReport.
const ReportName = "portcullis"

// TruncatedAnnotation says, on a report, how many rows it leaves out.
const TruncatedAnnotation = "portcullis.dev/truncated"

var managed = map[string]string{"app.kubernetes.io/managed-by": "portcullis", "app.kubernetes.io/part-of": "portcullis"}

// order puts what needs attention first: failures, errors, warnings, then passes and skips.
var order = map[reports.PolicyResult]int{reports.ResultFail: 0, reports.ResultError: 1, reports.ResultWarn: 2, reports.ResultPass: 3, reports.ResultSkip: 4}

// writeReports replaces each namespace's PolicyReport and the ClusterPolicyReport with the rows
// of a scan, and deletes the reports of namespaces that have no rows left.
func (a *Auditor) writeReports(ctx context.Context, byNS map[string][]reports.PolicyReportResult) error {
	var total reports.PolicyReportSummary
	for ns, rs := range byNS {
		sum, err := a.writeNamespace(ctx, ns, rs)
		if err != nil {
			return err
		}
		total.Pass, total.Fail, total.Warn, total.Error, total.Skip = total.Pass+sum.Pass, total.Fail+sum.Fail, total.Warn+sum.Warn, total.Error+sum.Error, total.Skip+sum.Skip
	}
	var existing reports.PolicyReportList
	if err := a.Client.List(ctx, &existing, client.MatchingLabels(managed)); err != nil {
		return fmt.Errorf("listing PolicyReports: %w", err)
	}
	for i := range existing.Items {
		r := &existing.Items[i]
		if _, ok := byNS[r.Namespace]; !ok && r.Name == ReportName {
			if err := a.Client.Delete(ctx, r); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting the PolicyReport of %s: %w", r.Namespace, err)
			}
		}
	}
	cpr := &reports.ClusterPolicyReport{}
	cpr.Name = ReportName
	_, err := controllerutil.CreateOrUpdate(ctx, a.Client, cpr, func() error {
		cpr.Labels = managed
		cpr.Summary = total
		cpr.Results = nil
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing the ClusterPolicyReport: %w", err)
	}
	return nil
}

// writeNamespace writes one namespace's report, with at most MaxResults rows (the summary
// counts them all, and an annotation says how many are left out).
func (a *Auditor) writeNamespace(ctx context.Context, ns string, rs []reports.PolicyReportResult) (reports.PolicyReportSummary, error) {
	sum := summarize(rs)
	sort.SliceStable(rs, func(i, j int) bool {
		if order[rs[i].Result] != order[rs[j].Result] {
			return order[rs[i].Result] < order[rs[j].Result]
		}
		return rs[i].Subjects[0].Name < rs[j].Subjects[0].Name
	})
	truncated := ""
	if a.MaxResults > 0 && len(rs) > a.MaxResults {
		truncated = fmt.Sprintf("%d of %d results shown, failures first; the summary counts them all", a.MaxResults, len(rs))
		rs = rs[:a.MaxResults]
	}
	pr := &reports.PolicyReport{}
	pr.Name, pr.Namespace = ReportName, ns
	_, err := controllerutil.CreateOrUpdate(ctx, a.Client, pr, func() error {
		pr.Labels = managed
		if truncated != "" {
			pr.Annotations = map[string]string{TruncatedAnnotation: truncated}
		} else {
			delete(pr.Annotations, TruncatedAnnotation)
		}
		pr.Summary, pr.Results = sum, rs
		return nil
	})
	if apierrors.IsNotFound(err) {
		return sum, nil // the namespace went away during the scan
	}
	if err != nil {
		return sum, fmt.Errorf("writing the PolicyReport of %s: %w", ns, err)
	}
	return sum, nil
}

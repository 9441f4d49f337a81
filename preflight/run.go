package preflight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/trust"
	"github.com/portcullis-dev/portcullis/verify"
	"github.com/portcullis-dev/portcullis/workload"
)

// Exit codes of `portcullis verify`.
const (
	ExitAllowed  = 0
	ExitDenied   = 1
	ExitBadInput = 2
)

// Options are the flags of `portcullis verify`.
type Options struct {
	Policies  []string
	Manifests []string
	Images    []string
	Namespace string
	Output    string
	Pin       bool
	TrustRoot string
	NoMatch   string
	Timeout   time.Duration
	Version   string
	// Kubeconfig, FromCluster and Running read the cluster: its policies (overlaid with
	// --policy files), and, for an impact preview, its running pods instead of manifests.
	Kubeconfig       string
	FromCluster      bool
	Running          bool
	InstallNamespace string
	// Trust configures the built-in trust roots: --offline keeps them to the embedded
	// snapshots; otherwise a built-in root a keyless authority uses is refreshed once, with a
	// short timeout per request, before verifying.
	Trust trust.Options
	// VerifyOptions configure the registry client (tests use them to reach their registries).
	VerifyOptions []verify.Option

	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// badInput is an error in the flags or the input: exit 2, one line.
type badInput struct{ error }

func badf(format string, args ...any) error { return badInput{fmt.Errorf(format, args...)} }

// Run runs `portcullis verify` and returns its exit code. Errors are printed to Stderr as one
// line; nothing it is given can make it panic.
func Run(ctx context.Context, o Options) int {
	code, err := run(ctx, o)
	if err != nil {
		fmt.Fprintf(o.Stderr, "portcullis verify: %s\n", oneLine(err))
		var bi badInput
		if errors.As(err, &bi) || code == 0 {
			return ExitBadInput
		}
	}
	return code
}

func run(ctx context.Context, o Options) (int, error) {
	err := o.validate()
	if err != nil {
		return ExitBadInput, err
	}
	var k8s *clusterAccess
	if o.FromCluster || o.Running {
		if k8s, err = o.connect(); err != nil {
			return ExitBadInput, err
		}
	}
	roots := trust.NewRegistry(o.Trust)
	engine, err := o.engine(ctx, k8s, roots)
	if err != nil {
		return ExitBadInput, err
	}
	for _, p := range engine.Policies().Policies() {
		if p.Err != nil {
			fmt.Fprintf(o.Stderr, "portcullis verify: warning: %s %s does not compile, so it denies what it covers: %s\n", p.Kind, p.ID(), oneLine(p.Err))
		}
	}
	for _, st := range roots.Statuses() {
		if st.Root != nil && st.Err != nil {
			fmt.Fprintf(o.Stderr, "portcullis verify: warning: trust root %s could not be refreshed, so the %s root sha256:%s is used: %s\n", st.Name, st.Root.Origin, st.Root.SHA256, oneLine(st.Err))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	report := &Report{Allowed: true, Images: []ImageReport{}}
	var warnings []string
	var pins map[*File][]edit
	switch {
	case o.Running:
		warnings, err = o.checkRunning(ctx, engine, k8s, report)
	case len(o.Images) > 0:
		warnings, err = o.checkImages(ctx, engine, report)
	default:
		pins, warnings, err = o.checkManifests(ctx, engine, report)
	}
	if err != nil {
		return ExitBadInput, err
	}
	if err := o.render(report, warnings); err != nil {
		return ExitBadInput, fmt.Errorf("writing output: %w", err)
	}
	if err := o.writePins(pins); err != nil {
		return ExitBadInput, err
	}
	if !report.Allowed {
		return ExitDenied, nil
	}
	return ExitAllowed, nil
}

func (o *Options) validate() error {
	inputs := 0
	for _, given := range []bool{len(o.Manifests) > 0, len(o.Images) > 0, o.Running} {
		if given {
			inputs++
		}
	}
	switch {
	case inputs > 1:
		return badf("give one of manifests (-f), images (--image) or the cluster's running pods (--running)")
	case inputs == 0:
		return badf("nothing to verify: give manifests with -f FILE|DIR|-, images with --image REF, or --running")
	case len(o.Policies) == 0 && !o.FromCluster && !o.Pin:
		return badf("no policies: give --policy FILE|DIR or --from-cluster (or only --pin to pin manifests)")
	case o.Pin && len(o.Manifests) == 0:
		return badf("--pin rewrites manifests; it needs -f")
	}
	switch o.Output {
	case "", "text", "json", "sarif":
	default:
		return badf("output %q is not text, json or sarif", o.Output)
	}
	if o.InstallNamespace == "" {
		o.InstallNamespace = "portcullis-system"
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	return nil
}

func (o *Options) engine(ctx context.Context, k8s *clusterAccess, roots *trust.Registry) (*policy.Engine, error) {
	src, err := readPolicies(o.Policies, o.defaultNamespace())
	if err != nil {
		return nil, badInput{err}
	}
	if o.FromCluster {
		if src, err = k8s.overlay(ctx, src, o.InstallNamespace); err != nil {
			return nil, err
		}
	}
	if o.TrustRoot != "" {
		doc, err := os.ReadFile(o.TrustRoot)
		if err != nil {
			return nil, badf("reading --trust-root: %w", unwrapPath(err))
		}
		if src.DefaultTrustRoot, err = verify.ParseTrustedRoot(doc); err != nil {
			return nil, badf("--trust-root %s: %w", o.TrustRoot, err)
		}
	}
	src.Trust = roots
	noMatch := policy.NoMatchWarn
	if o.NoMatch != "" {
		if noMatch, err = policy.ParseNoMatch(o.NoMatch); err != nil {
			return nil, badInput{err}
		}
	}
	client, err := verify.New(o.VerifyOptions...)
	if err != nil {
		return nil, err
	}
	return policy.NewEngine(client, policy.Compile(src), policy.WithNoMatch(noMatch))
}

// checkImages judges each --image as a pod with one container would be.
func (o *Options) checkImages(ctx context.Context, e *policy.Engine, r *Report) ([]string, error) {
	req := &policy.Request{Namespace: o.defaultNamespace(), Operation: policy.OperationCreate}
	for _, img := range o.Images {
		if _, err := policy.ParseImage(img); err != nil {
			return nil, badf("--image: %w", err)
		}
		req.Images = append(req.Images, workload.Image{Source: "--image", Image: img})
	}
	dec := e.Decide(ctx, req)
	r.add(dec, nil, nil)
	return dec.Warnings(), nil
}

// checkManifests judges every object of every manifest that carries a pod spec, and with --pin
// returns the edits that pin each file.
func (o *Options) checkManifests(ctx context.Context, e *policy.Engine, r *Report) (map[*File][]edit, []string, error) {
	files, err := readFiles(o.Manifests, o.Stdin)
	if err != nil {
		return nil, nil, badInput{err}
	}
	var warnings []string
	pins := map[*File][]edit{}
	skipped := map[string]bool{}
	checked := 0
	for _, f := range files {
		for _, obj := range f.Objects {
			if !workload.HasPodSpec(obj.Kind()) {
				skipped[obj.Kind()] = true
				continue
			}
			checked++
			dec, imgs, lines := o.decide(ctx, e, obj)
			r.add(dec, obj, lines)
			if o.Pin && len(dec.Images) > 0 {
				var err error
				if pins[f], err = appendPins(pins[f], obj, imgs, dec); err != nil {
					return nil, nil, err
				}
			}
			warnings = append(warnings, prefixed(obj.Name(), dec.Warnings())...)
		}
	}
	if checked == 0 {
		return nil, nil, badf("no object in the input carries a pod spec (kinds seen: %s); Portcullis checks %s",
			strings.Join(keys(skipped), ", "), strings.Join(workload.Kinds(), ", "))
	}
	return pins, warnings, nil
}

// decide judges one object, as the webhook would on CREATE, and returns its images and the
// line of each, for locations.
func (o *Options) decide(ctx context.Context, e *policy.Engine, obj *Object) (*policy.Decision, []workload.Image, []int) {
	req := policy.NewRequest(policy.OperationCreate, obj.Namespace(o.defaultNamespace()), obj.Object, nil, policy.UserInfo{})
	req.ResolveAll = o.Pin
	lines := make([]int, len(req.Images))
	for i, im := range req.Images {
		lines[i] = obj.Line
		if n := obj.nodeAt(im.Path); n != nil {
			lines[i] = n.Line
		}
	}
	return e.Decide(ctx, req), req.Images, lines
}

func (o *Options) render(r *Report, warnings []string) error {
	w := o.Stdout
	if o.Pin && contains(o.Manifests, "-") {
		w = o.Stderr // stdout carries the pinned manifests
	}
	switch o.Output {
	case "json":
		return writeJSON(w, r)
	case "sarif":
		return writeSARIF(w, r, o.Version)
	}
	return writeText(w, r, warnings)
}

// defaultNamespace is the namespace of objects that set none: -n, or default.
func (o *Options) defaultNamespace() string {
	if o.Namespace == "" {
		return "default"
	}
	return o.Namespace
}

func prefixed(p string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = p + ": " + l
	}
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-dev/portcullis/preflight"
)

func verifyCommand(exit *int) *cobra.Command {
	var (
		o        preflight.Options
		tufFlags trustFlags
	)
	cmd := &cobra.Command{
		Use:   "verify (--policy FILE|DIR ... | --from-cluster) (-f MANIFEST|DIR|- ... | --image REF ... | --running)",
		Short: "Tell, before deploying, what the cluster's image policies will say",
		Long: `verify runs the admission engine on manifests or images. It exits 0 when everything
would be admitted, 1 when anything would be denied, and 2 for bad input or usage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Trust, err = tufFlags.options(); err != nil {
				return err
			}
			o.Stdin, o.Stdout, o.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			o.Version = version
			*exit = preflight.Run(cmd.Context(), o)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Policies, "policy", nil, "ClusterImagePolicy, ImagePolicy or TrustRoot YAML file or directory (repeatable)")
	f.StringArrayVarP(&o.Manifests, "filename", "f", nil, "manifest file or directory, or - for stdin (repeatable)")
	f.StringArrayVar(&o.Images, "image", nil, "image reference to verify (repeatable)")
	f.StringVarP(&o.Namespace, "namespace", "n", "", "namespace of objects that set none (default \"default\"); with --running, the only namespace scanned")
	f.StringVarP(&o.Output, "output", "o", "text", "output format: text, json or sarif")
	f.BoolVar(&o.Pin, "pin", false, "rewrite the manifests with every image pinned to its digest")
	f.StringVar(&o.TrustRoot, "trust-root", "", "Sigstore trusted_root.json to use instead of the built-in public-good root")
	tufFlags.add(f, false)
	f.StringVar(&o.NoMatch, "no-match", "warn", "what to do with images no ClusterImagePolicy covers: deny, warn or allow")
	f.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "deadline for all registry work")
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster for --from-cluster and --running (default: KUBECONFIG or ~/.kube/config)")
	f.BoolVar(&o.FromCluster, "from-cluster", false, "use the cluster's policies and trust roots, with --policy files laid over them")
	f.BoolVar(&o.Running, "running", false, "judge the cluster's running pods (an impact preview) instead of manifests")
	f.StringVar(&o.InstallNamespace, "install-namespace", "portcullis-system", "where the cluster's ClusterImagePolicy key Secrets live")
	return cmd
}

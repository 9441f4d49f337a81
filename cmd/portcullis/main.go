// Command portcullis is the Portcullis admission webhook and its CI pre-flight check. This
// package holds flags and wiring only.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/portcullis-dev/portcullis/trust"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes the command line and returns the process exit code: usage errors are one line
// on stderr and exit 2.
func run(ctx context.Context, args []string) int {
	exit := 0
	root := &cobra.Command{
		Use:           "portcullis",
		Short:         "Admit only pods whose images are signed and attested as your policies require",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(verifyCommand(&exit), webhookCommand(), versionCommand())
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "portcullis: %v\n", err)
		return 2
	}
	return exit
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), version)
			for _, e := range trust.Embedded() {
				fmt.Fprintf(cmd.OutOrStdout(), "trust root %s: embedded trusted_root.json sha256:%s, TUF repository %s\n", e.Name, e.SHA256, e.Mirror)
			}
		},
	}
}

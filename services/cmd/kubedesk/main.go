// Command kubedesk runs the kubedesk help desk. `kubedesk serve` runs every
// component in one process (--target=all); in a cluster each Deployment
// runs one target (--target=ticket, --target=gateway, ...).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubedesk/kubedesk/services/platform/buildinfo"
)

const usage = `kubedesk: a Kubernetes-native, omnichannel help desk.

Usage:
  kubedesk serve [flags]   run the selected components (kubedesk serve -h for flags)
  kubedesk apikey create   make an API key and print it (kubedesk apikey create -h)
  kubedesk version         print the version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubedesk:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "apikey":
		return apikey(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		_, err := fmt.Fprintln(stdout, buildinfo.Version)
		return err
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	}
	_, _ = io.WriteString(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

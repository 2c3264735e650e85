// Command kubectl-rktsched is kubectl rktsched: explain where a pod can run under rktsched's
// runtime policy, validate a policy document, preview a policy edit. Put it on PATH to use it
// as a kubectl plugin.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/rktsched/rktsched/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, &cli.Options{Streams: genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}}, os.Args[1:])
	stop()
	os.Exit(code)
}

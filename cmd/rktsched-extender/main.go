// Command rktsched-extender is the kube-scheduler HTTP extender that keeps pods off nodes
// whose container runtime cannot run them (filter, prioritize and preempt verbs).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/extender"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// run returns the exit code: 0 on SIGTERM/SIGINT, 1 on failure, 2 on bad flags.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(extender.Component, flag.ContinueOnError)
	fs.SetOutput(stderr)
	klog.InitFlags(fs)
	var opts extender.Options
	opts.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %q\n", fs.Args())
		return 2
	}
	if err := opts.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer klog.Flush()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := extender.Run(ctx, &opts); err != nil {
		klog.ErrorS(err, extender.Component+" failed")
		return 1
	}
	return 0
}

// Command rktsched-labeler labels every Node with its container runtime profile and the
// capabilities it has or lacks (rktsched.io/*, capability.rktsched.io/*).
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

	"github.com/rktsched/rktsched/labeler"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run returns the exit code: 0 on SIGTERM/SIGINT, 1 on failure (including a lost leader
// lease), 2 on bad flags.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rktsched-labeler", flag.ContinueOnError)
	fs.SetOutput(stderr)
	klog.InitFlags(fs)
	var opts labeler.Options
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
	if err := labeler.Run(ctx, &opts, stdout); err != nil {
		klog.ErrorS(err, "rktsched-labeler failed")
		return 1
	}
	return 0
}

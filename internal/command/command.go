// Package command is what rktsched's binaries share in main: flags, their validation,
// signals and exit codes.
package command

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
)

// Options are a binary's command-line settings.
type Options interface {
	AddFlags(fs *flag.FlagSet)
	Validate() error
}

// Run parses args (klog's flags included) into opts, then calls run with a context that
// ends on SIGTERM or SIGINT. It returns the exit code: 0 after a signal or --help, 1 when run
// fails, 2 on bad flags (told on stderr).
func Run(name string, args []string, stderr io.Writer, opts Options, run func(context.Context) error) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	klog.InitFlags(fs)
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
	if err := run(ctx); err != nil {
		klog.ErrorS(err, name+" failed")
		return 1
	}
	return 0
}

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

	"github.com/rktsched/rktsched/version"
)

// Options are a binary's command-line settings.
type Options interface {
	AddFlags(fs *flag.FlagSet)
	Validate() error
}

// Run parses args (klog's flags included) into opts, then calls run with a context that
// ends on SIGTERM or SIGINT. It returns the exit code: 0 after a signal or --help, 1 when run
// fails, 2 on bad flags (told on stderr). --version prints "name version" on stdout and
// returns 0 without validating or running anything.
func Run(name string, args []string, stderr io.Writer, opts Options, run func(context.Context) error) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	klog.InitFlags(fs)
	opts.AddFlags(fs)
	printVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *printVersion {
		fmt.Fprintln(os.Stdout, name, version.Version)
		return 0
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

// Command rktsched-extender is the kube-scheduler HTTP extender that keeps pods off nodes
// whose container runtime cannot run them (filter, prioritize and preempt verbs).
package main

import (
	"context"
	"io"
	"os"

	"github.com/rktsched/rktsched/extender"
	"github.com/rktsched/rktsched/internal/command"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// run returns the exit code: 0 on SIGTERM/SIGINT, 1 on failure, 2 on bad flags.
func run(args []string, stderr io.Writer) int {
	var opts extender.Options
	return command.Run(extender.Component, args, stderr, &opts, func(ctx context.Context) error {
		return extender.Run(ctx, &opts)
	})
}

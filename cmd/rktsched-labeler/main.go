// Command rktsched-labeler labels every Node with its container runtime profile and the
// capabilities it has or lacks (rktsched.io/*, capability.rktsched.io/*).
package main

import (
	"context"
	"io"
	"os"

	"github.com/rktsched/rktsched/internal/command"
	"github.com/rktsched/rktsched/labeler"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run returns the exit code: 0 on SIGTERM/SIGINT, 1 on failure (including a lost leader
// lease), 2 on bad flags.
func run(args []string, stdout, stderr io.Writer) int {
	var opts labeler.Options
	return command.Run(labeler.Component, args, stderr, &opts, func(ctx context.Context) error {
		return labeler.Run(ctx, &opts, stdout)
	})
}

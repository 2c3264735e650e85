// Command bench measures rktsched on the local control plane (make bench-e2e):
//
//   - kube-scheduler's throughput on 1000 fake nodes (half Docker, half rkt across the stage1
//     flavours) and 1000 pods (most needing nothing, one in twenty each needing init
//     containers, attach, hostPID or a GPU), created before kube-scheduler starts; runs
//     interleaved without the extender, with an extender that decides nothing (names mode:
//     what calling any extender costs), with ours in names mode and in full-Node mode;
//   - the labeler's API writes while every node sends status heartbeats for a minute;
//   - the memory of an extender started with 5000 nodes in the cluster.
//
// It prints one RATIO line per extender mode: pods/s with the extender over pods/s without.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/rktsched/rktsched/test/cluster"
)

type options struct {
	nodes, pods, rounds, rssNodes int
	heartbeats                    time.Duration
	// profileDir, if set, receives a CPU profile of kube-scheduler's first seconds in each run.
	profileDir string
	// modes are the scheduling runs of each round, in order.
	modes []mode
}

func main() {
	var o options
	flag.IntVar(&o.nodes, "nodes", 1000, "nodes of the scheduling runs")
	flag.IntVar(&o.pods, "pods", 1000, "pods per scheduling run")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of the three interleaved scheduling runs")
	flag.DurationVar(&o.heartbeats, "heartbeats", time.Minute, "how long every node sends heartbeats while the labeler's writes are counted")
	flag.IntVar(&o.rssNodes, "rss-nodes", 5000, "nodes in the cluster when the extender's memory is read")
	flag.StringVar(&o.profileDir, "profile-dir", "", "write a 3-second CPU profile of kube-scheduler in each run here (go tool pprof)")
	modeList := flag.String("modes", "none,noop,names,nodes,plugin", "scheduling runs of each round: none (no extender), noop (names mode, an extender that decides nothing), names, nodes, plugin (rktsched-scheduler, no extender)")
	flag.Parse()
	var err error
	if o.modes, err = parseModes(*modeList); err != nil {
		fmt.Fprintf(os.Stderr, "bench-e2e: -modes: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "bench-e2e failed: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (err error) {
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Printf("[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	binDir, err := cluster.ControlPlaneBinaries(ctx, root, os.Stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "rktsched-bench-")
	if err != nil {
		return err
	}
	ours, err := cluster.ProjectBinaries(ctx, root, os.Getenv("RKTSCHED_BIN"), filepath.Join(dir, "bin"), os.Stderr)
	if err != nil {
		return err
	}
	c, err := cluster.Start(ctx, cluster.Config{BinDir: binDir, Dir: dir})
	if err != nil {
		return err
	}
	defer func() {
		c.Stop()
		if err != nil {
			fmt.Fprintf(os.Stderr, "logs: %s\n", filepath.Join(dir, "logs"))
			return
		}
		_ = os.RemoveAll(dir)
	}()
	b, err := newBench(ctx, c, root, ours, logf)
	if err != nil {
		return err
	}
	return b.run(ctx, o)
}

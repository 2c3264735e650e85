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
//
// Given several sizes (-nodes 1000,2500,5000: make bench-scale), it runs every mode at each
// size, growing the cluster between sizes, sends the heartbeats and profiles at the largest,
// prints how kube-scheduler's and the extender's CPU per pod grow, and puts the size in each
// RATIO line: "RATIO 1000 noop/names 1.01".
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rktsched/rktsched/test/cluster"
)

type options struct {
	// sizes are the node counts of the scheduling runs, ascending.
	sizes []int
	// pods per run; 0: as many as nodes.
	pods, rounds, rssNodes int
	heartbeats             time.Duration
	// profileDir, if set, receives CPU profiles of kube-scheduler and the extender from the
	// first binding of each run at the largest size, profileTime long.
	profileDir  string
	profileTime time.Duration
	// modes are the scheduling runs of each round, in order.
	modes []mode
}

func main() {
	var o options
	sizeList := flag.String("nodes", "1000", "nodes of the scheduling runs; several (1000,2500,5000) run every mode at each size, growing the cluster")
	flag.IntVar(&o.pods, "pods", 0, "pods per scheduling run (0: as many as nodes)")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of the interleaved scheduling runs (even rounds run the modes after none in reverse order)")
	flag.DurationVar(&o.heartbeats, "heartbeats", time.Minute, "how long every node sends heartbeats while the labeler's writes are counted")
	flag.IntVar(&o.rssNodes, "rss-nodes", 5000, "nodes in the cluster when the extender's memory is read (at least the largest -nodes)")
	flag.StringVar(&o.profileDir, "profile-dir", "", "write CPU profiles of kube-scheduler and the extender in each run at the largest size here (go tool pprof)")
	flag.DurationVar(&o.profileTime, "profile-time", 3*time.Second, "length of each CPU profile, from the run's first binding")
	modeList := flag.String("modes", "none,noop,names,nodes,plugin", "scheduling runs of each round: none (no extender), noop (names mode, an extender that decides nothing), answers (names mode, an extender sending rktsched's answers from tables made before the run), names, nodes, plugin (rktsched-scheduler, no extender)")
	flag.Parse()
	var err error
	if o.modes, err = parseModes(*modeList); err != nil {
		fmt.Fprintf(os.Stderr, "bench-e2e: -modes: %v\n", err)
		os.Exit(2)
	}
	if o.sizes, err = parseSizes(*sizeList); err != nil {
		fmt.Fprintf(os.Stderr, "bench-e2e: -nodes: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "bench-e2e failed: %v\n", err)
		os.Exit(1)
	}
}

// parseSizes reads a comma-separated list of node counts, ascending: the cluster only grows.
func parseSizes(list string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a node count", f)
		}
		out = append(out, n)
	}
	if !slices.IsSorted(out) || len(slices.Compact(slices.Clone(out))) != len(out) {
		return nil, fmt.Errorf("%q: the sizes must ascend, the cluster only grows", list)
	}
	return out, nil
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

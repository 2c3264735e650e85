package main

import (
	"fmt"
	"os"
	"slices"
	"text/tabwriter"
	"time"
)

// cpuProcesses are the processes whose CPU time the report shows.
var cpuProcesses = []string{"kube-scheduler", "kube-apiserver", "etcd", "rktsched-extender", "rktsched-labeler"}

// Targets from the performance issues: the plugin costs no more than kube-scheduler's own
// NodeAffinity refusing the same nodes, the extender in names mode no more than an extender
// that decides nothing (the ceiling of any extender: issue 28).
const (
	targetAffinityRatio = 0.97
	targetNoopRatio     = 0.97
	targetRSS           = 64 << 20
)

// report prints every run, the medians, the other figures, and the RATIO lines last.
func report(o options, runs []runResult, hb heartbeatResult, mem memoryResult) {
	fmt.Printf("\nkube-scheduler on %d nodes, %d pending pods per run (%d rounds, interleaved):\n", o.nodes, o.pods, o.rounds)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tmode\twall\tfirst→last bind\tpods/s\tmisplaced\tattempts\tAPI requests\textender busy\t")
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%s\t%v\t%v\t%.0f\t%d\t%.0f\t%.0f\t%v\t\n", r.round, r.mode, r.wall.Round(time.Millisecond),
			r.steady.Round(time.Millisecond), r.podsPerSecond(), r.misplaced, r.attempts, r.apiRequests, r.extenderTime.Round(time.Millisecond))
	}
	_ = tw.Flush()

	fmt.Printf("\nCPU time per pod bound (ms), by process:\n")
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "round\tmode\t")
	for _, p := range cpuProcesses {
		fmt.Fprintf(tw, "%s\t", p)
	}
	fmt.Fprintln(tw)
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%s\t", r.round, r.mode)
		for _, p := range cpuProcesses {
			fmt.Fprintf(tw, "%.2f\t", float64(r.cpu[p].Microseconds())/1000/float64(r.pods))
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()

	// Each round's ratio pairs runs made minutes apart at most; the median of those is
	// steadier than a ratio of medians.
	ratios := map[mode][]float64{}
	rates := map[mode][]float64{}
	for _, r := range runs {
		rates[r.mode] = append(rates[r.mode], r.podsPerSecond())
	}
	for i, r := range runs {
		if r.mode == withoutExtender {
			continue
		}
		for _, base := range runs[:i] {
			if base.mode == withoutExtender && base.round == r.round {
				ratios[r.mode] = append(ratios[r.mode], r.podsPerSecond()/base.podsPerSecond())
			}
		}
	}
	fmt.Printf("\nmedian pods/s: without extender %.0f, names mode %.0f, full-Node mode %.0f\n",
		median(rates[withoutExtender]), median(rates[namesMode]), median(rates[nodesMode]))
	if len(rates[noopMode]) > 0 {
		// Its CPU is the bench's own, not in the table.
		fmt.Printf("names mode with an extender that decides nothing: %.0f pods/s, %.2f of the pods/s without extender: the most any names-mode extender can reach here\n",
			median(rates[noopMode]), median(ratios[noopMode]))
	}
	fmt.Printf("pods on nodes that cannot run them without the extender: %d of %d per run (median); with it: 0\n",
		int(median(misplacedOf(runs, withoutExtender))), o.pods)
	fmt.Printf("labeler during %v of heartbeats (%d node status updates): %.0f syncs, %.0f API writes (target 0)\n",
		o.heartbeats, hb.updates, hb.syncs, hb.writes)
	fmt.Printf("extender started with %d nodes: RSS %s, peak %s (target ≤ %s%s), Go heap in use %s\n",
		mem.nodes, mib(mem.fresh.RSS), mib(mem.fresh.PeakRSS), mib(targetRSS), missed(mem.fresh.PeakRSS <= targetRSS), mib(int64(mem.freshHeap)))
	fmt.Printf("extender that served the runs, with %d nodes: RSS %s, peak %s; labeler RSS %s, peak %s\n",
		mem.nodes, mib(mem.running.RSS), mib(mem.running.PeakRSS), mib(mem.labeler.RSS), mib(mem.labeler.PeakRSS))
	names, nodes := median(ratios[namesMode]), median(ratios[nodesMode])
	if len(rates[pluginMode]) > 0 {
		plugin := median(ratios[pluginMode])
		fmt.Printf("rktsched-scheduler (the plugin, no extender): %.0f pods/s, %.2f of the pods/s without extender, %d misplaced (median)\n",
			median(rates[pluginMode]), plugin, int(median(misplacedOf(runs, pluginMode))))
	}
	fmt.Println()
	fmt.Printf("RATIO sched/names %.2f\n", names)
	fmt.Printf("RATIO sched/nodes %.2f\n", nodes)
	if len(rates[pluginMode]) > 0 {
		fmt.Printf("RATIO sched/plugin %.2f\n", median(ratios[pluginMode]))
	}
	if len(rates[noopMode]) > 0 {
		fmt.Printf("RATIO sched/noop %.2f\n", median(ratios[noopMode]))
		if len(rates[namesMode]) > 0 {
			// The extender in names mode against one that decides nothing: what deciding costs.
			fmt.Printf("RATIO noop/names %.2f (target ≥ %.2f%s)\n", median(pairRatios(runs, namesMode, noopMode)),
				targetNoopRatio, missed(median(pairRatios(runs, namesMode, noopMode)) >= targetNoopRatio))
		}
	}
	if len(rates[affinityMode]) > 0 {
		fmt.Printf("RATIO sched/affinity %.2f\n", median(ratios[affinityMode]))
		if len(rates[pluginMode]) > 0 {
			fmt.Printf("RATIO affinity/plugin %.2f (target ≥ %.2f%s)\n", median(pairRatios(runs, pluginMode, affinityMode)),
				targetAffinityRatio, missed(median(pairRatios(runs, pluginMode, affinityMode)) >= targetAffinityRatio))
		}
	}
}

// pairRatios is, per round, the pods/s of mode m over that of mode base.
func pairRatios(runs []runResult, m, base mode) []float64 {
	var out []float64
	for _, r := range runs {
		for _, b := range runs {
			if r.mode == m && b.mode == base && r.round == b.round {
				out = append(out, r.podsPerSecond()/b.podsPerSecond())
			}
		}
	}
	return out
}

func missed(met bool) string {
	if met {
		return ": met"
	}
	return ": MISSED"
}

func misplacedOf(runs []runResult, m mode) []float64 {
	var out []float64
	for _, r := range runs {
		if r.mode == m {
			out = append(out, float64(r.misplaced))
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

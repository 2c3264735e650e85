package main

import (
	"fmt"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/rktsched/rktsched/test/cluster"
)

// cpuProcesses are the processes whose CPU time the report shows.
var cpuProcesses = []string{"kube-scheduler", "kube-apiserver", "etcd", "rktsched-extender", "rktsched-labeler", benchProcess}

// Targets from the performance issues: the plugin costs no more than kube-scheduler's own
// NodeAffinity refusing the same nodes, the extender in names mode no more than an extender
// that decides nothing (the ceiling of any extender: issue 28).
const (
	targetAffinityRatio = 0.97
	targetNoopRatio     = 0.97
	targetRSS           = 64 << 20
)

// report prints every size's runs, the other figures, how the costs grow with the size (given
// several), and the RATIO lines last.
func report(o options, runs []runResult, hb heartbeatResult, mem memoryResult) {
	for _, n := range o.sizes {
		reportSize(o, runsOn(runs, n))
	}
	fmt.Printf("labeler during %v of heartbeats (%d node status updates from %d nodes): %.0f syncs, %.0f API writes (target 0)\n",
		o.heartbeats, hb.updates, hb.nodes, hb.syncs, hb.writes)
	fmt.Printf("after the heartbeats from %d nodes: extender RSS %s, peak %s; labeler RSS %s, peak %s\n",
		hb.nodes, mib(hb.extender.RSS), mib(hb.extender.PeakRSS), mib(hb.labeler.RSS), mib(hb.labeler.PeakRSS))
	fmt.Printf("extender started with %d nodes: RSS %s, peak %s (target ≤ %s%s), Go heap in use %s\n",
		mem.nodes, mib(mem.fresh.RSS), mib(mem.fresh.PeakRSS), mib(targetRSS), missed(mem.fresh.PeakRSS <= targetRSS), mib(int64(mem.freshHeap)))
	fmt.Printf("extender that served the runs, with %d nodes: RSS %s, peak %s; labeler RSS %s, peak %s\n",
		mem.nodes, mib(mem.running.RSS), mib(mem.running.PeakRSS), mib(mem.labeler.RSS), mib(mem.labeler.PeakRSS))
	if len(o.sizes) > 1 {
		reportGrowth(o, runs)
	}
	fmt.Println()
	for _, n := range o.sizes {
		prefix := "" // one size: the RATIO lines of bench-e2e
		if len(o.sizes) > 1 {
			prefix = fmt.Sprintf("%d ", n)
		}
		ratioLines(prefix, runsOn(runs, n))
	}
}

// reportSize prints the runs on one size and their medians.
func reportSize(o options, runs []runResult) {
	if len(runs) == 0 {
		return
	}
	fmt.Printf("\nkube-scheduler on %d nodes, %d pending pods per run (%d rounds, interleaved):\n", runs[0].nodes, runs[0].pods, o.rounds)
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
			fmt.Fprintf(tw, "%.2f\t", cpuPerPod(r, p))
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()

	fmt.Printf("\nmedian pods/s: without extender %.0f, names mode %.0f, full-Node mode %.0f\n",
		medianOf(runs, withoutExtender, runResult.podsPerSecond), medianOf(runs, namesMode, runResult.podsPerSecond),
		medianOf(runs, nodesMode, runResult.podsPerSecond))
	if has(runs, noopMode) {
		// Its CPU is the bench's own, in the table's last column.
		fmt.Printf("names mode with an extender that decides nothing: %.0f pods/s, %.2f of the pods/s without extender: the most any names-mode extender can reach here\n",
			medianOf(runs, noopMode, runResult.podsPerSecond), median(pairRatios(runs, noopMode, withoutExtender)))
		fmt.Printf("kube-scheduler sent %.0f node names per filter request (median, counted by the extender that decides nothing)\n",
			medianOf(runs, noopMode, namesSent))
	}
	fmt.Printf("pods on nodes that cannot run them without the extender: %.0f of %d per run (median); with it: 0\n",
		medianOf(runs, withoutExtender, misplaced), runs[0].pods)
	if has(runs, pluginMode) {
		fmt.Printf("rktsched-scheduler (the plugin, no extender): %.0f pods/s, %.2f of the pods/s without extender, %.0f misplaced (median)\n",
			medianOf(runs, pluginMode, runResult.podsPerSecond), median(pairRatios(runs, pluginMode, withoutExtender)), medianOf(runs, pluginMode, misplaced))
	}
}

// ratioLines prints the RATIO lines of the runs on one size, each after prefix, for the
// modes that ran.
//
// Each round's ratio pairs runs made minutes apart at most; the median of those is steadier
// than a ratio of medians.
func ratioLines(prefix string, runs []runResult) {
	line := func(pair string, m, base mode, target float64) {
		if !has(runs, m) || !has(runs, base) {
			return
		}
		r := median(pairRatios(runs, m, base))
		fmt.Printf("RATIO %s%s %.2f", prefix, pair, r)
		if target > 0 {
			fmt.Printf(" (target ≥ %.2f%s)", target, missed(r >= target))
		}
		fmt.Println()
	}
	line("sched/names", namesMode, withoutExtender, 0)
	line("sched/nodes", nodesMode, withoutExtender, 0)
	line("sched/plugin", pluginMode, withoutExtender, 0)
	line("sched/noop", noopMode, withoutExtender, 0)
	// The extender in names mode against one that decides nothing: what deciding costs.
	line("noop/names", namesMode, noopMode, targetNoopRatio)
	// Split by one that sends the same answers: what the answers cost kube-scheduler, and
	// what rktsched-extender's work costs beyond them.
	line("noop/answers", answersMode, noopMode, 0)
	line("answers/names", namesMode, answersMode, 0)
	line("sched/affinity", affinityMode, withoutExtender, 0)
	line("affinity/plugin", pluginMode, affinityMode, targetAffinityRatio)
}

// reportGrowth prints, size by size, each mode's pods/s and kube-scheduler's and the
// extender's CPU per pod, then how the extender's CPU per pod in names mode grows against the
// node names it is sent per request: a slope of 1 is a cost proportional to the names, under
// 1 a fixed cost per request that the names do not dominate.
func reportGrowth(o options, runs []runResult) {
	fmt.Printf("\nhow the costs grow (medians of %d rounds; CPU per pod bound, ms; names: per filter request):\n", o.rounds)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "nodes\tnames\tmode\tpods/s\tkube-scheduler\trktsched-extender\tbench (noop, answers)\t")
	for _, n := range o.sizes {
		sized := runsOn(runs, n)
		for _, m := range o.modes {
			fmt.Fprintf(tw, "%d\t%.0f\t%s\t%.0f\t%.2f\t%.2f\t%.2f\t\n", n, medianOf(sized, noopMode, namesSent), m,
				medianOf(sized, m, runResult.podsPerSecond), medianOf(sized, m, cpuOf("kube-scheduler")), medianOf(sized, m, cpuOf(cluster.ExtenderBinary)),
				medianOf(sized, m, cpuOf(benchProcess)))
		}
	}
	_ = tw.Flush()
	if !has(runs, namesMode) || !has(runs, noopMode) {
		fmt.Println("(no slope: it needs the names and noop modes)")
		return
	}
	slope := func(from, to int) {
		a, b := runsOn(runs, from), runsOn(runs, to)
		k := medianOf(b, namesMode, cpuOf(cluster.ExtenderBinary)) / medianOf(a, namesMode, cpuOf(cluster.ExtenderBinary))
		m := medianOf(b, noopMode, namesSent) / medianOf(a, noopMode, namesSent)
		fmt.Printf("extender CPU/pod in names mode ×%.2f from %d to %d nodes while node names sent per request ×%.2f: slope %.2f\n",
			k, from, to, m, k/m)
	}
	for i := 1; i < len(o.sizes); i++ {
		slope(o.sizes[i-1], o.sizes[i])
	}
	if len(o.sizes) > 2 {
		slope(o.sizes[0], o.sizes[len(o.sizes)-1])
	}
}

// runsOn is the runs on n nodes.
func runsOn(runs []runResult, n int) []runResult {
	var out []runResult
	for _, r := range runs {
		if r.nodes == n {
			out = append(out, r)
		}
	}
	return out
}

func has(runs []runResult, m mode) bool {
	return slices.ContainsFunc(runs, func(r runResult) bool { return r.mode == m })
}

// medianOf is the median of f over the runs in mode m.
func medianOf(runs []runResult, m mode, f func(runResult) float64) float64 {
	var xs []float64
	for _, r := range runs {
		if r.mode == m {
			xs = append(xs, f(r))
		}
	}
	return median(xs)
}

func cpuPerPod(r runResult, process string) float64 {
	return float64(r.cpu[process].Microseconds()) / 1000 / float64(r.pods)
}

func cpuOf(process string) func(runResult) float64 {
	return func(r runResult) float64 { return cpuPerPod(r, process) }
}

func namesSent(r runResult) float64 { return r.namesPerFilter }
func misplaced(r runResult) float64 { return float64(r.misplaced) }

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

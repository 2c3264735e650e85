// Command benchratio reads `go test -bench` output on stdin and prints, for every benchmark
// that has a counterpart, one line:
//
//	RATIO <pair> <ours ÷ counterpart, 2 decimals>
//
// in the order ours appear. A benchmark is ours when a segment of its name (split at "/") is
// -ours; its counterpart has -base in that segment. <pair> is the name without that segment
// and without the leading "Benchmark". The defaults pair BenchmarkExtender/<pair> with
// BenchmarkFloor/<pair> (make bench); -ours rktsched -base noop -unit cpu-ns/pod pairs
// BenchmarkCycle/rktsched/5000 with BenchmarkCycle/noop/5000 (make bench-path). Repeated
// runs (-count) are averaged.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	var p pairing
	flag.StringVar(&p.ours, "ours", "BenchmarkExtender", "the name segment that marks ours")
	flag.StringVar(&p.base, "base", "BenchmarkFloor", "the name segment of the counterpart")
	flag.StringVar(&p.unit, "unit", "ns/op", "the figure compared")
	flag.Parse()
	if err := p.ratios(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

// pairing says which benchmarks pair up and what they compare.
type pairing struct{ ours, base, unit string }

type mean struct {
	sum float64
	n   int
}

func (m mean) value() float64 { return m.sum / float64(m.n) }

func (p pairing) ratios(in io.Reader, out io.Writer) error {
	ours, base := map[string]*mean{}, map[string]*mean{}
	var order []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		name, v, ok := parse(sc.Text(), p.unit)
		if !ok {
			continue
		}
		segments := strings.Split(name, "/")
		var m map[string]*mean
		var pair string
		switch {
		case slices.Contains(segments, p.ours):
			m, pair = ours, pairName(segments, p.ours)
			if ours[pair] == nil {
				order = append(order, pair)
			}
		case slices.Contains(segments, p.base):
			m, pair = base, pairName(segments, p.base)
		default:
			continue
		}
		if m[pair] == nil {
			m[pair] = &mean{}
		}
		m[pair].sum += v
		m[pair].n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, pair := range order {
		if b := base[pair]; b != nil && b.value() > 0 {
			fmt.Fprintf(out, "RATIO %s %.2f\n", pair, ours[pair].value()/b.value())
		}
	}
	return nil
}

// pairName is the benchmark's name without the segment that marks its side and without the
// leading "Benchmark".
func pairName(segments []string, side string) string {
	rest := slices.DeleteFunc(slices.Clone(segments), func(s string) bool { return s == side })
	return strings.TrimPrefix(strings.Join(rest, "/"), "Benchmark")
}

// parse reads a benchmark result line, "BenchmarkX/a/b-2   100   1234 ns/op   5 cpu-ns/pod",
// for the figure of the unit. The -GOMAXPROCS suffix is dropped from the name.
func parse(line, unit string) (name string, v float64, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
		return "", 0, false
	}
	for i := 2; i+1 < len(fields); i++ {
		if fields[i+1] != unit {
			continue
		}
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return "", 0, false
		}
		name = fields[0]
		if j := strings.LastIndexByte(name, '-'); j > 0 {
			if _, err := strconv.Atoi(name[j+1:]); err == nil {
				name = name[:j]
			}
		}
		return name, v, true
	}
	return "", 0, false
}

// Command benchratio reads `go test -bench` output on stdin and prints, for every benchmark
// BenchmarkExtender/<pair> that has a BenchmarkFloor/<pair>, one line:
//
//	RATIO <pair> <extender ns/op ÷ floor ns/op, 2 decimals>
//
// in the order the extender benchmarks appear. Repeated runs (-count) are averaged.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

func main() {
	if err := ratios(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

type mean struct {
	sum float64
	n   int
}

func (m mean) value() float64 { return m.sum / float64(m.n) }

func ratios(in io.Reader, out io.Writer) error {
	ours, floor := map[string]*mean{}, map[string]*mean{}
	var order []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		name, nsPerOp, ok := parse(sc.Text())
		if !ok {
			continue
		}
		family, pair, ok := strings.Cut(name, "/")
		if !ok {
			continue
		}
		var m map[string]*mean
		switch family {
		case "BenchmarkExtender":
			m = ours
			if ours[pair] == nil {
				order = append(order, pair)
			}
		case "BenchmarkFloor":
			m = floor
		default:
			continue
		}
		if m[pair] == nil {
			m[pair] = &mean{}
		}
		m[pair].sum += nsPerOp
		m[pair].n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, pair := range order {
		if f := floor[pair]; f != nil && f.value() > 0 {
			fmt.Fprintf(out, "RATIO %s %.2f\n", pair, ours[pair].value()/f.value())
		}
	}
	return nil
}

// parse reads a benchmark result line: "BenchmarkX/a/b-2   100   1234 ns/op ...". The
// -GOMAXPROCS suffix is dropped from the name.
func parse(line string) (name string, nsPerOp float64, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
		return "", 0, false
	}
	for i := 2; i+1 < len(fields); i++ {
		if fields[i+1] != "ns/op" {
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

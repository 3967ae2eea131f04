// Command benchreport reads `go test -bench` output on stdin and prints each budget benchmark of
// DESIGN.md beside its budget. It exits 1 when a benchmark that ran missed its budget.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// budget is one row of DESIGN.md's budget table: the benchmark name and its ceiling in ns/op.
type budget struct {
	name    string
	maxNsOp float64
	label   string
}

var budgets = []budget{
	{"BenchmarkChipRead", 300e6, "≤ 300 ms"},
	{"BenchmarkFaceFrame", 100e6, "≤ 100 ms"},
	{"BenchmarkFaceSearch1M", 15e6, "≤ 15 ms"},
	// The same budget over dlib's 128-d descriptors: the gallery a desk on the dlib engine searches.
	{"BenchmarkFaceSearch1MDlib", 15e6, "≤ 15 ms"},
	{"BenchmarkFingerExtract", 30e6, "≤ 30 ms"},
	{"BenchmarkFingerMatch", 100e3, "≤ 100 µs"},
	{"BenchmarkFingerSearch100k", 200e6, "≤ 200 ms"},
	{"BenchmarkOutboxAppend", 1e6, "≤ 1 ms"},
	{"BenchmarkSyncBacklog100k", 60e9, "≤ 60 s"},
	{"BenchmarkColdStart", 1.5e9, "≤ 1.5 s"},
}

// result is one benchmark line: ns/op plus every other metric it reported.
type result struct {
	nsOp  float64
	extra []string
}

func parse(r io.Reader) map[string]result {
	out := map[string]result{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 { // strip -GOMAXPROCS
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		var res result
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			if f[i+1] == "ns/op" {
				res.nsOp = v
			} else {
				res.extra = append(res.extra, f[i]+" "+f[i+1])
			}
		}
		out[name] = res // with -count > 1 the last run wins; bench/latest.txt keeps all for benchstat
	}
	return out
}

func human(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func main() {
	results := parse(os.Stdin)
	missed := false
	fmt.Printf("\n%-28s %-12s %-10s %-7s %s\n", "benchmark", "measured", "budget", "verdict", "other figures")
	for _, b := range budgets {
		res, ok := results[b.name]
		if !ok {
			fmt.Printf("%-28s %-12s %-10s %-7s\n", b.name, "—", b.label, "not run")
			continue
		}
		verdict := "ok"
		if res.nsOp > b.maxNsOp {
			verdict, missed = "MISSED", true
		}
		fmt.Printf("%-28s %-12s %-10s %-7s %s\n", b.name, human(res.nsOp), b.label, verdict, strings.Join(res.extra, ", "))
	}
	if missed {
		os.Exit(1)
	}
}

// Command benchreport reads `go test -bench` output on stdin, echoes it, and
// writes the custom figures benchmarks report (b.ReportMetric) to a JSON file
// as a list of {name, value, unit, target, better[, target_rule]}, then
// prints them as a table. Every figure must be listed in the table in
// main.go: a benchmark that reports an unknown name, or a listed figure that
// no benchmark reported, is an error.
//
// Some figures are floors or measurements other figures are compared with
// (better "reference", no target of their own); some targets are computed
// from other figures of the same run (payments_api_per_s: max(4,000, half
// the pgbench floor), written with its target_rule). Lines of the form
// "BENCHNOTE <value> <name> ..." come from scripts/bench.sh: the 1-minute
// load average before each benchmark (load1_before_<benchmark>, target
// ≤ 0.5), the nice value the benchmarks ran at (bench_nice) and, under
// BENCH_LOAD=1, the load's CPU share (load_cpu_share).
//
//	go test -run '^$' -bench . ./bench/ | go run ./internal/tools/benchreport -o bench/results.json
package main

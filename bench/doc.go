// Package bench holds Tollgate's end-to-end benchmarks. `make bench` runs
// them (scripts/bench.sh) and internal/tools/benchreport turns the custom
// metrics they report into bench/results.json.
//
// Each benchmark reports its figures with b.ReportMetric under the exact
// names listed in benchreport's table, which also holds each figure's unit,
// target and direction.
package bench

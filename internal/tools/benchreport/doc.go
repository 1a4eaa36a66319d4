// Command benchreport reads `go test -bench` output on stdin, echoes it, and
// writes the custom figures benchmarks report (b.ReportMetric) to a JSON file
// as a list of {name, value, unit, target, better}, then prints them as a
// table. Every figure must be listed in the table below: a benchmark that
// reports an unknown name, or a listed figure that no benchmark reported,
// is an error.
//
//	go test -run '^$' -bench . ./bench/ | go run ./internal/tools/benchreport -o bench/results.json
package main

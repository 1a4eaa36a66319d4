// Package bench holds Tollgate's end-to-end benchmarks. `make bench` runs
// them (scripts/bench.sh) and internal/tools/benchreport turns the custom
// metrics they report into bench/results.json.
//
// Each benchmark reports its figures with b.ReportMetric under the exact
// names listed in benchreport's table, which also holds each figure's unit,
// target and direction.
//
// Most benchmarks use the test binary's fast PostgreSQL cluster (pgtest,
// durability off). BenchmarkPaymentsAPI and BenchmarkPaymentToRestore start
// a second cluster with production durability (startDurableCluster,
// pgcluster.Options.Durable) and measure on it; the payments benchmark also
// measures a pgbench floor there and runs its clients in a separate process
// (this test binary re-executed with $BENCH_PAYMENTS_LOADGEN set, see
// TestMain). scripts/bench.sh runs the binary at the deploy units' Nice=
// and, with BENCH_LOAD=1, beside a CPU-bound load.
package bench

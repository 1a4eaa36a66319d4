#!/usr/bin/env bash
# make bench: runs the project's benchmarks and writes bench/results.json.
# Each benchmark runs with the count its figure is defined over.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() { # package, benchmark regexp, benchtime
  go test -run '^$' -bench "$2" -benchtime "$3" -timeout 20m "$1" 2>&1 | tee -a "$out"
}
# Issue 2: 1,000 desired-state changes, one at a time.
run ./bench/ '^BenchmarkPushCommitToAck$' 1000x
# Issue 3: one billing run over 100,000 seeded accounts, its COPY floor, a re-run.
run ./bench/ '^BenchmarkBillingRun$' 1x
# Issue 4: 5,000 payments through the API from 16 clients; a 10,000-payment batch.
run ./bench/ '^BenchmarkPaymentsAPI$' 5000x
run ./bench/ '^BenchmarkPaymentBatch10k$' 1x
# Issue 5: one delinquency sweep over 1,000,000 seeded accounts.
run ./bench/ '^BenchmarkSweep1M$' 1x
# Issue 6: 1,000 agents with 1,000 services each, 10,000 changes; an agent with 100,000 services.
run ./bench/ '^BenchmarkFanout1000Agents$' 1x
run ./bench/ '^BenchmarkAgent100kServices$' 1x
# Issue 7: a full reconcile of 100,000 address-list entries; CoA to real FreeRADIUS.
run ./bench/ '^BenchmarkRouterOSReconcile100k$' 1x
run ./bench/ '^BenchmarkCoA$' 20000x
# Issue 8: payment → address-list entry removed on the RouterOS simulator, 200 payments/s for 30 s.
run ./bench/ '^BenchmarkPaymentToRestore$' 1x
# Issue 9: invoice PDFs rendered on every core; 10,000 invoices delivered end to end.
run ./bench/ '^BenchmarkInvoicePDF$' 1x
run ./bench/ '^BenchmarkDelivery10k$' 1x
# Issue 17: a 10,000-lease DHCP file (ISC and Kea) learned by an agent.
run ./bench/ '^BenchmarkLeases10k$' 20x
# Issue 18: staff search over HTTP with 1,000,000 seeded accounts (3 invoices and 2 payments each), and their
# generation time (BENCH_SEARCH_ACCOUNTS=50000 seeds fewer, for a quick look; the figures are defined at 1,000,000).
run ./bench/ '^BenchmarkSearch$' 1x
# Issue 20: AR aging over 1,000,000 seeded accounts as of a date 45 days back (BENCH_AGING_ACCOUNTS=10000 seeds
# fewer, for a quick look; the figure is defined at 1,000,000).
run ./bench/ '^BenchmarkARAging$' 1x
# benchreport echoes its input (already shown above): keep only its table.
go run ./internal/tools/benchreport -o bench/results.json < "$out" | sed -n '/^FIGURE/,$p'

#!/usr/bin/env bash
# make bench: runs the project's benchmarks and writes bench/results.json.
# Each benchmark runs with the count its figure is defined over.
#
# Before each benchmark the 1-minute load average (/proc/loadavg) is printed
# and recorded (load1_before_<benchmark> in the results); above 0.5 the
# figures are not a quiet machine's: repeat the run and report both.
#
# Priority: the benchmarks run at the Nice= of deploy/systemd/
# tollgate-controller.service (the product's priority; the agent's unit and
# the PostgreSQL drop-in have the same): the bench binary is the controller
# and the agent (in-process) and starts PostgreSQL, FreeRADIUS and pgbench as
# its children, which inherit it. Lowering a nice value needs root; without
# it the script says so and the results record the nice value actually used
# (bench_nice). BenchmarkPaymentsAPI's client load generator drops back to
# nice 0 (it stands for the API's users). No CPU pinning.
#
# BENCH_LOAD=1: the same benchmarks beside a CPU-bound load on every core:
# `stress-ng --cpu 0` (Debian's stress-ng; scripts/setup.sh installs it),
# started by this script at nice 0 in its own cgroup (as its child, not
# pinned) after the build and stopped when the last benchmark is done (or
# the script exits). The load's share of the machine's CPU time while it ran
# is reported (load_cpu_share, from /proc/<pid>/stat of stress-ng's
# processes), and the results go to bench/results-load.json.
#
# BENCH_SETTLE=<seconds>: before each benchmark (not with BENCH_LOAD=1), wait
# up to that long for the 1-minute load average to fall to 0.5 (each
# benchmark leaves it at 1.5-3 on two cores; it takes a minute or two).
#
# BENCH_ONLY=<regexp>: only the benchmarks whose name matches (for a quick
# look; the report then names the figures not measured and exits non-zero).
# BENCH_RESULTS=<file>: write the results there instead.
set -euo pipefail
cd "$(dirname "$0")/.."

results=bench/results.json
load=${BENCH_LOAD:-}
if [ "$load" = 1 ]; then
  results=bench/results-load.json
fi
results=${BENCH_RESULTS:-$results}

# The product's priority, from its deploy unit (deploy_test.go checks the
# agent's unit and the PostgreSQL drop-in agree).
prio=$(sed -n 's/^Nice=//p' deploy/systemd/tollgate-controller.service | tail -n 1)
prio=${prio:-0}

out=$(mktemp)
bindir=$(mktemp -d)
load_pid=""
stop_load() {
  if [ -n "$load_pid" ]; then
    kill "$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
    load_pid=""
  fi
}
trap 'stop_load; rm -rf "$out" "$bindir"' EXIT

# One build, outside the measurements.
go test -c -o "$bindir/bench.test" ./bench/

# nice -n takes an adjustment: from our own nice value to the wanted one.
at_nice() { # nice value, command...
  local want=$1
  shift
  nice -n $((want - $(nice))) "$@"
}
used=$(at_nice "$prio" nice 2>/dev/null || nice)
if [ "$used" != "$prio" ]; then
  echo "bench: WARNING: cannot run at the deploy units' Nice=$prio (running at $used; lowering a nice value needs root):" \
    "the figures do not measure the product's configured priority" >&2
fi
echo "BENCHNOTE $used bench_nice" | tee -a "$out"

# The load's CPU time so far, in clock ticks: stress-ng and its workers
# (and any reaped ones).
load_ticks() {
  local total=0 pid stat rest
  for pid in "$load_pid" $(cat "/proc/$load_pid/task/$load_pid/children" 2>/dev/null); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    rest=${stat##*) } # fields from 3 (state) on; the name may hold spaces
    read -r -a f <<<"$rest"
    # utime, stime, cutime, cstime: fields 14 to 17
    total=$((total + f[11] + f[12] + f[13] + f[14]))
  done
  echo "$total"
}

if [ "$load" = 1 ]; then
  if ! command -v stress-ng >/dev/null 2>&1; then
    echo "bench: BENCH_LOAD=1 needs stress-ng (make setup installs it)" >&2
    exit 1
  fi
  # Not through at_nice: $! must be stress-ng itself (nice execs it).
  nice -n $((0 - $(nice))) stress-ng --cpu 0 --timeout 0 --quiet &
  load_pid=$!
  load_start=$(date +%s.%N)
  sleep 1 # its workers started
  echo "bench: CPU-bound load: stress-ng --cpu 0 (pid $load_pid) at nice 0 on $(nproc) cores, same cgroup, not pinned" | tee -a "$out"
fi

run() { # benchmark regexp, benchtime
  local name=${1//[^A-Za-z0-9]/}
  name=${name#Benchmark}
  if [ -n "${BENCH_ONLY:-}" ] && ! [[ "Benchmark$name" =~ $BENCH_ONLY ]]; then
    return 0
  fi
  local load1 waited=0
  read -r load1 _ </proc/loadavg
  if [ "$load" != 1 ] && [ "${BENCH_SETTLE:-0}" -gt 0 ]; then
    while awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }' && [ "$waited" -lt "$BENCH_SETTLE" ]; do
      sleep 5
      waited=$((waited + 5))
      read -r load1 _ </proc/loadavg
    done
    echo "bench: waited ${waited}s for the load average to settle before Benchmark$name"
  fi
  echo "BENCHNOTE $load1 load1_before_${name,,}" | tee -a "$out"
  if [ "$load" != 1 ] && awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
    echo "bench: WARNING: 1-minute load average $load1 > 0.5 before Benchmark$name: not a quiet machine; repeat the run and report both" | tee -a "$out" >&2
  fi
  # The test binary runs in its package's directory, as under go test.
  (cd bench && at_nice "$prio" "$bindir/bench.test" -test.run '^$' -test.bench "$1" -test.benchtime "$2" -test.timeout 20m) 2>&1 | tee -a "$out"
}
# Issue 2: 1,000 desired-state changes, one at a time.
run '^BenchmarkPushCommitToAck$' 1000x
# Issue 3: one billing run over 100,000 seeded accounts, its COPY floor, a re-run.
run '^BenchmarkBillingRun$' 1x
# Issue 4: 5,000 payments through the API from 16 clients (issue 21: on a durable cluster, beside a pgbench
# floor on it; the clients in a process of their own); a 10,000-payment batch.
run '^BenchmarkPaymentsAPI$' 5000x
run '^BenchmarkPaymentBatch10k$' 1x
# Issue 5: one delinquency sweep over 1,000,000 seeded accounts.
run '^BenchmarkSweep1M$' 1x
# Issue 6: 1,000 agents with 1,000 services each, 10,000 changes; an agent with 100,000 services.
run '^BenchmarkFanout1000Agents$' 1x
run '^BenchmarkAgent100kServices$' 1x
# Issue 7: a full reconcile of 100,000 address-list entries; CoA to real FreeRADIUS (issue 21: beside a bare
# layeh client on the same peer).
run '^BenchmarkRouterOSReconcile100k$' 1x
run '^BenchmarkCoA$' 20000x
# Issue 8: payment → address-list entry removed on the RouterOS simulator, 200 payments/s for 30 s
# (issue 21: on a durable cluster).
run '^BenchmarkPaymentToRestore$' 1x
# Issue 9: invoice PDFs rendered on every core; 10,000 invoices delivered end to end.
run '^BenchmarkInvoicePDF$' 1x
run '^BenchmarkDelivery10k$' 1x
# Issue 17: a 10,000-lease DHCP file (ISC and Kea) learned by an agent.
run '^BenchmarkLeases10k$' 20x
# Issue 18: staff search over HTTP with 1,000,000 seeded accounts (3 invoices and 2 payments each), and their
# generation time (BENCH_SEARCH_ACCOUNTS=50000 seeds fewer, for a quick look; the figures are defined at 1,000,000).
run '^BenchmarkSearch$' 1x
# Issue 20: AR aging over 1,000,000 seeded accounts as of a date 45 days back (BENCH_AGING_ACCOUNTS=10000 seeds
# fewer, for a quick look; the figure is defined at 1,000,000).
run '^BenchmarkARAging$' 1x

if [ -n "$load_pid" ]; then
  ticks=$(load_ticks)
  load_end=$(date +%s.%N)
  stop_load
  share=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v s="$load_start" -v e="$load_end" -v n="$(nproc)" \
    'BEGIN { printf "%.3f", t / hz / ((e - s) * n) }')
  echo "bench: the load had $share of the machine's CPU time ($ticks ticks over $(awk -v s="$load_start" -v e="$load_end" 'BEGIN { printf "%.0f", e - s }') s on $(nproc) cores)" | tee -a "$out"
  echo "BENCHNOTE $share load_cpu_share" | tee -a "$out"
fi
# benchreport echoes its input (already shown above): keep only its table.
go run ./internal/tools/benchreport -o "$results" <"$out" | sed -n '/^FIGURE/,$p'

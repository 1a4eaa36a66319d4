package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesKnownFigures(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.json")
	in := "goos: linux\nBenchmarkPushCommitToAck-2   \t    1000\t         0.79 push_commit_to_ack_p50_ms\t         1.25 push_commit_to_ack_p99_ms\n" +
		"BENCHNOTE 0.31 load1_before_pushcommittoack\n" +
		"BenchmarkBillingRun-2 1 0 billing_rerun_rows_written 70 billing_run_1m_extrapolated_s 14000 billing_run_invoices_per_s 2.5 billing_run_vs_copy_ratio 2.8 billing_run_copy_floor_s\n" +
		"BENCHNOTE 1.7 load1_before_paymentsapi\n" +
		"BenchmarkPaymentsAPI-2 5000 3950 db_cpu_us/payment 1200 payments_api_per_s 11000 payments_pgbench_floor_per_s 0.9 payments_loadgen_cpu_s\nBenchmarkPaymentBatch10k-2 1 1.1 payment_batch_10k_s\n" +
		"BenchmarkSweep1M-2 1 8.5 sweep_1m_s 117647 sweep_accounts_per_s 0 ns/op\n" +
		"BenchmarkFanout1000Agents-2 1 176 controller_rss_1000_agents_mib 416 fanout_commit_to_ack_p50_ms 725 fanout_commit_to_ack_p99_ms 0 ns/op\n" +
		"BenchmarkAgent100kServices-2 1 65 agent_rss_100k_services_mib 0 ns/op\n" +
		"BenchmarkRouterOSReconcile100k-2 1 4.2 routeros_reconcile_100k_s\nBenchmarkCoA-2 20000 16000 coa_per_s 12000 coa_bare_layeh_per_s 1.33 coa_vs_bare_ratio\n" +
		"BenchmarkPaymentToRestore-2 1 120 payment_to_restore_p50_ms 410 payment_to_restore_p99_ms 0 ns/op\n" +
		"BenchmarkInvoicePDF-2 1 900 invoice_pdf_per_s_per_core\nBenchmarkDelivery10k-2 1 30 delivery_10k_s\n" +
		"BenchmarkLeases10k-2 20 0.05 leases_isc_10k_s 0.03 leases_kea_10k_s\n" +
		"BenchmarkSearch-2 1 95 search_seed_s 4.1 search_p50_ms 12.5 search_p95_ms 30 search_p99_ms 20 console_search_p95_ms 35 console_account_p95_ms 0 ns/op\n" +
		"BenchmarkARAging-2 1 3.2 ar_aging_1m_s 0 ns/op\nPASS\n"
	if err := run(strings.NewReader(in), io.Discard, out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	var figs []figure
	if err := json.Unmarshal(b, &figs); err != nil {
		t.Fatal(err)
	}
	byName := map[string]figure{}
	for _, f := range figs {
		byName[f.Name] = f
	}
	p50, p99 := byName["push_commit_to_ack_p50_ms"], byName["push_commit_to_ack_p99_ms"]
	api, floor, load := byName["payments_api_per_s"], byName["payments_pgbench_floor_per_s"], byName["load1_before_paymentsapi"]
	if api.Target != 5500 || api.TargetRule == "" || floor.Value != 11000 || floor.Better != "reference" ||
		load.Value != 1.7 || load.Target != 0.5 || load.Better != "lower" || byName["load1_before_pushcommittoack"].Value != 0.31 ||
		byName["coa_vs_bare_ratio"].Target != 1 || byName["billing_run_copy_floor_s"].Value != 2.8 {
		t.Fatalf("computed, reference or load figures: %+v %+v %+v", api, floor, load)
	}
	if len(figs) != 36 || byName["ar_aging_1m_s"].Target != 5 || byName["search_p95_ms"].Target != 50 || byName["payment_to_restore_p99_ms"].Value != 410 || byName["payment_to_restore_p50_ms"].Target != 500 || byName["agent_rss_100k_services_mib"].Unit != "MiB" || p50.Value != 0.79 || p99.Value != 1.25 || p99.Better != "lower" || p99.Unit != "ms" ||
		byName["billing_run_invoices_per_s"].Better != "higher" || byName["billing_rerun_rows_written"].Value != 0 ||
		byName["sweep_1m_s"].Value != 8.5 || byName["sweep_accounts_per_s"].Better != "higher" || byName["sweep_accounts_per_s"].Unit != "accounts/s" {
		t.Fatalf("figures: %+v", figs)
	}
}

// TestComputedTargetHasAFloor: half a low floor is below 4,000, so the
// target stays 4,000.
func TestComputedTargetHasAFloor(t *testing.T) {
	target, ok := computed["payments_api_per_s"].target(map[string]float64{"payments_pgbench_floor_per_s": 6000})
	if !ok || target != 4000 {
		t.Errorf("target = %v, %v; want 4000", target, ok)
	}
}

func TestRunRefusesUnknownMissingAndFailed(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.json")
	for name, in := range map[string]string{
		"unknown":      "BenchmarkX-2 1 3.0 made_up_figure\n",
		"unknown note": "BENCHNOTE 3.0 load2_before_x\n",
		"missing":      "BenchmarkPushCommitToAck-2 1000 0.79 push_commit_to_ack_p50_ms\n",
		"failed":       "BenchmarkPushCommitToAck-2 1000 0.79 push_commit_to_ack_p50_ms 1 push_commit_to_ack_p99_ms\n--- FAIL: BenchmarkY\nFAIL\n",
	} {
		if err := run(strings.NewReader(in), io.Discard, out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

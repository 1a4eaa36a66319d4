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
	in := "goos: linux\nBenchmarkPushCommitToAck-2   \t    1000\t         0.79 push_commit_to_ack_p50_ms\t         1.25 push_commit_to_ack_p99_ms\nPASS\n"
	if err := run(strings.NewReader(in), io.Discard, out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	var figs []figure
	if err := json.Unmarshal(b, &figs); err != nil {
		t.Fatal(err)
	}
	if len(figs) != 2 || figs[0].Name != "push_commit_to_ack_p50_ms" || figs[0].Value != 0.79 || figs[1].Value != 1.25 || figs[1].Better != "lower" || figs[1].Unit != "ms" {
		t.Fatalf("figures: %+v", figs)
	}
}

func TestRunRefusesUnknownMissingAndFailed(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.json")
	for name, in := range map[string]string{
		"unknown": "BenchmarkX-2 1 3.0 made_up_figure\n",
		"missing": "BenchmarkPushCommitToAck-2 1000 0.79 push_commit_to_ack_p50_ms\n",
		"failed":  "BenchmarkPushCommitToAck-2 1000 0.79 push_commit_to_ack_p50_ms 1 push_commit_to_ack_p99_ms\n--- FAIL: BenchmarkY\nFAIL\n",
	} {
		if err := run(strings.NewReader(in), io.Discard, out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

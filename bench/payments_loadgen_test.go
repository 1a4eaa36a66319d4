package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// envPaymentsLoadGenerator, set to a JSON loadGenConfig, makes the bench
// test binary run as BenchmarkPaymentsAPI's client load generator instead
// of running tests (see TestMain).
const envPaymentsLoadGenerator = "BENCH_PAYMENTS_LOADGEN"

// loadGenConfig tells the load generator what to send.
type loadGenConfig struct {
	URL      string `json:"url"` // the admin API's base URL
	Token    string `json:"token"`
	Payments int    `json:"payments"`
	Clients  int    `json:"clients"`
	Accounts int    `json:"accounts"` // accounts 1..Accounts are paid in turn
}

// loadGenResult is what the load generator prints (JSON) when done.
type loadGenResult struct {
	Elapsed    time.Duration `json:"elapsed_ns"` // first request sent to last answer read
	Failed     int64         `json:"failed"`
	FirstError string        `json:"first_error,omitempty"`
}

// runPaymentsLoadGenerator posts cfg.Payments payments from cfg.Clients
// concurrent clients (keep-alive connections, one Idempotency-Key each),
// prints a loadGenResult to out and returns the exit code. It runs in a
// process of its own so that the clients' CPU is not the server's: the
// benchmark reports it apart. If the benchmark runs at a raised priority
// (scripts/bench.sh applies the deploy units' Nice=), the clients — which
// stand for the API's users, elsewhere — drop back to nice 0.
func runPaymentsLoadGenerator(config string, out io.Writer) int {
	var cfg loadGenConfig
	if err := json.Unmarshal([]byte(config), &cfg); err != nil || cfg.Payments <= 0 || cfg.Clients <= 0 || cfg.Accounts <= 0 {
		fmt.Fprintf(os.Stderr, "%s=%q: want a JSON load generator config (%v)\n", envPaymentsLoadGenerator, config, err)
		return 2
	}
	if n, err := niceValue(); err == nil && n < 0 {
		if err := setNice(0); err != nil {
			fmt.Fprintf(os.Stderr, "load generator: %v\n", err)
			return 2
		}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients}}
	var next, failed atomic.Int64
	var firstErr sync.Once
	var res loadGenResult
	var wg sync.WaitGroup
	start := time.Now()
	for range cfg.Clients {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(cfg.Payments) {
					return
				}
				body := fmt.Sprintf(`{"method":"cash","amount":%d,"memo":"bench"}`, 1000+i%4000)
				req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/accounts/%d/payments", cfg.URL, 1+i%int64(cfg.Accounts)), bytes.NewBufferString(body))
				req.Header.Set("Authorization", "Bearer "+cfg.Token)
				req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", i))
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
					firstErr.Do(func() {
						if err == nil {
							b, _ := io.ReadAll(resp.Body)
							err = fmt.Errorf("%s: %s", resp.Status, b)
						}
						res.FirstError = err.Error()
					})
				}
				if resp != nil {
					// Read to the end so the connection is reused.
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Failed = failed.Load()
	if err := json.NewEncoder(out).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// paymentsLoadGenerator runs the load generator for cfg in a new process
// (this test binary, re-executed) and returns its result and CPU time
// (user + system, the whole process's life).
func paymentsLoadGenerator(cfg loadGenConfig) (loadGenResult, time.Duration, error) {
	self, err := os.Executable()
	if err != nil {
		return loadGenResult{}, 0, err
	}
	js, _ := json.Marshal(cfg)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envPaymentsLoadGenerator+"="+string(js))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return loadGenResult{}, 0, fmt.Errorf("load generator: %v\n%s", err, stderr.Bytes())
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	var res loadGenResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return loadGenResult{}, cpu, fmt.Errorf("load generator printed %q: %v\n%s", stdout.Bytes(), err, stderr.Bytes())
	}
	return res, cpu, nil
}

package payments

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Stripe adapter's tests run against stripe-mock (Stripe's official API
// mock: it routes every endpoint of the OpenAPI spec and validates request
// parameters against it). `make tools` and `make test` install the pinned
// version into <repo>/.bin; PATH is searched next. The mock is started once,
// on the first test that needs it, on loopback ports the system chooses, and
// stopped by TestMain. Not finding it is a test failure, never a skip.

const stripeMockVersion = "v0.203.0"

var stripeMock struct {
	once sync.Once
	cmd  *exec.Cmd
	url  string
	err  error
	out  lockedBuffer // its output, for failure messages
}

func TestMain(m *testing.M) {
	code := m.Run()
	if stripeMock.cmd != nil {
		_ = stripeMock.cmd.Process.Kill()
		_ = stripeMock.cmd.Wait()
	}
	os.Exit(code)
}

// stripeMockURL returns the base URL of the running stripe-mock, starting it
// if needed, and fails the test if it cannot.
func stripeMockURL(t *testing.T) string {
	t.Helper()
	stripeMock.once.Do(func() { stripeMock.url, stripeMock.err = startStripeMock() })
	if stripeMock.err != nil {
		t.Fatalf("stripe-mock %s is needed for the Stripe adapter tests: %v\n"+
			"run `make tools` (it installs stripe-mock into .bin/) and run the tests again", stripeMockVersion, stripeMock.err)
	}
	return stripeMock.url
}

func findStripeMock() (string, error) {
	var tried []string
	if dir, err := os.Getwd(); err == nil {
		for ; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				p := filepath.Join(dir, ".bin", "stripe-mock")
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
				tried = append(tried, p)
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	tried = append(tried, "stripe-mock on PATH")
	return "", fmt.Errorf("not found (looked for %s)", strings.Join(tried, ", "))
}

var listeningRE = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

func startStripeMock() (string, error) {
	bin, err := findStripeMock()
	if err != nil {
		return "", err
	}
	// Empty ports: the system chooses free ones; stripe-mock prints them.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	setPdeathsig(cmd)
	pr, pw, err := os.Pipe()
	if err != nil {
		return "", err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return "", fmt.Errorf("starting %s: %w", bin, err)
	}
	pw.Close()
	stripeMock.cmd = cmd

	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			stripeMock.out.WriteString(line + "\n")
			if m := listeningRE.FindStringSubmatch(line); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
		close(addr)
	}()

	var base string
	select {
	case a, ok := <-addr:
		if !ok {
			return "", fmt.Errorf("%s exited before listening; output:\n%s", bin, stripeMock.out.String())
		}
		base = "http://" + a
	case <-time.After(20 * time.Second):
		return "", fmt.Errorf("%s did not report its HTTP address within 20 s; output:\n%s", bin, stripeMock.out.String())
	}

	// Wait until it answers an authenticated request.
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/customers", nil)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base, nil
			}
			err = fmt.Errorf("GET /v1/customers: HTTP %d", res.StatusCode)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s at %s does not answer: %v; output:\n%s", bin, base, err, stripeMock.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// recordedRequest is one API call as it went over the wire.
type recordedRequest struct {
	Method, Path string
	Header       http.Header
	Form         url.Values
	Status       int
}

// recorder is a reverse proxy in front of stripe-mock that keeps every
// request, so tests can assert on what the adapter sent (stripe-mock has
// already validated it against Stripe's OpenAPI spec when it answers 200).
type recorder struct {
	mu   sync.Mutex
	reqs []*recordedRequest
	srv  *httptest.Server
}

func newRecorder(t *testing.T, target string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(res *http.Response) error {
		if rr, ok := res.Request.Context().Value(recKey{}).(*recordedRequest); ok {
			r.mu.Lock()
			rr.Status = res.StatusCode
			r.mu.Unlock()
		}
		return nil
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, err := url.ParseQuery(string(body))
		if err != nil {
			t.Errorf("request body is not form-encoded: %v", err)
		}
		if req.Method == http.MethodGet {
			form = req.URL.Query()
		}
		rr := &recordedRequest{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Form: form}
		r.mu.Lock()
		r.reqs = append(r.reqs, rr)
		r.mu.Unlock()
		proxy.ServeHTTP(w, req.WithContext(contextWith(req, rr)))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) requests() []recordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]recordedRequest, len(r.reqs))
	for i, rr := range r.reqs {
		out[i] = *rr
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}

var errNoRequest = errors.New("no such request")

// last returns the most recent request to method+path.
func (r *recorder) last(method, path string) (recordedRequest, error) {
	reqs := r.requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method && reqs[i].Path == path {
			return reqs[i], nil
		}
	}
	return recordedRequest{}, errNoRequest
}

type recKey struct{}

func contextWith(req *http.Request, rr *recordedRequest) context.Context {
	return context.WithValue(req.Context(), recKey{}, rr)
}

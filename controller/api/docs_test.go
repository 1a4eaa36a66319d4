package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// TestDocsPageIsServedFromTheBinary: the reference page names no other
// origin, and its viewer comes from the controller with a CSP that allows
// nothing else.
func TestDocsPageIsServedFromTheBinary(t *testing.T) {
	hs := httptest.NewServer(api.NewServer(api.Config{}, api.Deps{}, nil, clock.Real{}, nil, nil).Handler())
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/api/v1/docs")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /api/v1/docs: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q does not limit scripts to the controller", csp)
	}
	for _, attr := range []string{`src="http`, `href="http`, `src="//`, `href="//`} {
		if strings.Contains(string(page), attr) {
			t.Errorf("the docs page loads something from another origin (%s…):\n%s", attr, page)
		}
	}
	js, err := http.Get(hs.URL + "/api/v1/docs/assets/redoc.standalone.js")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, js.Body)
	js.Body.Close()
	if js.StatusCode != 200 || n < 100_000 {
		t.Fatalf("the viewer: %d, %d bytes", js.StatusCode, n)
	}
}

// TestDocsPageRendersInChromium loads the reference page in headless
// Chromium that can reach nothing but the controller: the viewer renders
// the document's operations, no request leaves for another origin, and the
// page's CSP refuses nothing it needs.
func TestDocsPageRendersInChromium(t *testing.T) {
	chrome := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chrome = p
			break
		}
	}
	if chrome == "" {
		t.Fatal("no chromium on PATH: run scripts/setup.sh (make test does), which installs Debian's chromium package")
	}
	hs := httptest.NewServer(api.NewServer(api.Config{Version: "test"}, api.Deps{}, nil, clock.Real{}, nil, nil).Handler())
	defer hs.Close()
	own, _ := url.Parse(hs.URL)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU,
		// Everything but the controller goes to a proxy that is not there.
		chromedp.ProxyServer("http://127.0.0.1:9"), chromedp.Flag("proxy-bypass-list", own.Host),
		chromedp.WindowSize(1280, 800),
	)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()

	var mu sync.Mutex
	var foreign, complaints []string
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if u, err := url.Parse(e.Request.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != own.Host {
				foreign = append(foreign, e.Request.URL)
			}
		case *network.EventResponseReceived:
			if e.Response.Status >= 400 {
				complaints = append(complaints, fmt.Sprintf("%d %s", e.Response.Status, e.Response.URL))
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				for _, a := range e.Args {
					complaints = append(complaints, string(a.Value)+a.Description)
				}
			}
		case *runtime.EventExceptionThrown:
			complaints = append(complaints, e.ExceptionDetails.Text)
			if e.ExceptionDetails.Exception != nil {
				complaints = append(complaints, e.ExceptionDetails.Exception.Description)
			}
		case *cdplog.EventEntryAdded:
			complaints = append(complaints, e.Entry.Text)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(hs.URL+"/api/v1/docs")); err != nil {
		t.Fatal(err)
	}
	wctx, cancelWait := context.WithTimeout(bctx, 15*time.Second)
	// Redoc renders the document's title and one menu entry per tag.
	err := chromedp.Do(wctx, chromedp.WaitVisible(`li[data-item-id="tag/services"]`))
	cancelWait()
	if err != nil {
		body, _ := chromedp.Run(bctx, chromedp.OuterHTML(`body`))
		t.Logf("body: %.3000s", body)
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("the docs page did not render: %v\nconsole: %q\nother origins asked: %q", err, complaints, foreign)
	}
	title, err := chromedp.Run(bctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("h1")).map(h => h.textContent).join(" | ")`))
	if err != nil {
		t.Fatal(err)
	}
	menu, err := chromedp.Run(bctx, chromedp.Text(`.menu-content`))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(title, "Tollgate admin API") {
		t.Errorf("the page's title reads %q", title)
	}
	if !strings.Contains(menu, "service") && !strings.Contains(menu, "Service") {
		t.Errorf("the menu lists no service operations: %q", menu)
	}
	if len(foreign) > 0 {
		t.Errorf("the page asked other origins for %v", foreign)
	}
	for _, c := range complaints {
		if strings.Contains(c, "Content Security Policy") || strings.Contains(c, "Refused") {
			t.Errorf("the page's CSP refused something it uses: %s", c)
		} else {
			t.Logf("console: %s", c)
		}
	}
}

// TestOpenAPIDocumentPublishesPatternDescriptionsAsExtensions: the served
// document carries no keyword JSON Schema lacks, while validation errors
// still describe patterns in words.
func TestOpenAPIDocumentPublishesPatternDescriptionsAsExtensions(t *testing.T) {
	srv := api.NewServer(api.Config{}, api.Deps{}, nil, clock.Real{}, nil, nil)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	for _, p := range []string{"openapi.json", "openapi.yaml", "openapi-3.0.json", "openapi-3.0.yaml"} {
		resp, err := http.Get(hs.URL + "/api/v1/" + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/openapi+") {
			t.Fatalf("GET %s: %d %s", p, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if strings.Contains(string(b), "patternDescription") || !strings.Contains(string(b), "x-pattern-description") {
			t.Errorf("%s: patternDescription is not published as x-pattern-description", p)
		}
		if !strings.Contains(string(b), "LicenseRef-Proprietary") {
			t.Errorf("%s has no license", p)
		}
	}
	// The words still reach a client that sends a bad date.
	e := newEnv(t)
	r := e.do("POST", "/api/v1/payment-batches", billingToken, "words", `{"deposit_date":"12/05/2026"}`)
	if r.status != 422 || !strings.Contains(string(r.body), "a date YYYY-MM-DD") {
		t.Errorf("a bad deposit_date: %d %s, want 422 describing the date in words", r.status, r.body)
	}
}

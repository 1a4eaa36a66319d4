package e2e

// The staff console's browser-test harness: a real controller serving the
// console, staff users made through the API, headless Chromium at
// 1280×800, and the checks every console page gets (axe-core, a
// screenshot). A console browser test reads:
//
//	c := startConsole(t)
//	u := c.addStaff(t, "clara", "billing")
//	ctx := newBrowser(t, true)
//	c.signIn(ctx, t, u, func(page string) { checkPage(ctx, t, page) })
//	must(t, chromedp.Do(ctx, chromedp.Navigate(c.URL+"/batches")))
//	waitJS(ctx, t, "the batch list", `document.querySelector("h1").textContent === "Payment batches"`)
//	checkPage(ctx, t, "batches") // axe-core finds nothing; batches.png
//
// The harness:
//   - startConsole(t) *consoleEnv: the controller binary with console.public_url
//     set, its own database; .Base, .URL (".../staff"), .DBURL, .API (admin token).
//   - c.addStaff(t, login, role) staffLogin: POST /api/v1/staff with a password
//     and TOTP; staffLogin{Login, Password, TOTP secret}.
//   - newBrowser(t, javascript) context.Context: headless Chromium, 1280×800;
//     javascript=false disables the page's scripts (plain form posts).
//   - c.signIn(ctx, t, u, each): password page, code page (staff.TOTPCode of
//     now), lands on the dashboard; each(page) runs on "signin" and "totp".
//   - do(ctx, t, what, actions...): chromedp.Do with 30 s, failing the test.
//   - waitJS / waitText / waitFocus: poll the page from the test (15 s).
//   - axeCheck(ctx, t, name): axe-core's default rules, failing with every
//     violation; screenshot(ctx, t, name): name.png; checkPage: both.
//   - c.fetchAsBrowser(ctx, t, path): GET with the browser's cookies (downloads).
//
// Artifacts (the screenshots) go to $TOLLGATE_TEST_ARTIFACTS, by default
// internal/e2e/testdata/.artifacts (gitignored).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/staff"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// consoleEnv is a controller serving the staff console.
type consoleEnv struct {
	Base  string         // the controller's address, http://127.0.0.1:port
	URL   string         // the console, Base + "/staff"
	DBURL string         // its database
	API   *client.Client // the admin API as an admin service token
}

// startConsole starts a controller (the built binary, its own throwaway
// database) with the console at /staff and waits until it is ready.
func startConsole(t *testing.T) *consoleEnv { t.Helper(); return startConsoleWith(t, "") }

// startConsoleWith is startConsole with more of the console's config:
// consoleYAML is added inside its `console:` section (indented by the
// caller as a YAML block mapping's lines, e.g. "  sso: {...}").
func startConsoleWith(t *testing.T, consoleYAML string) *consoleEnv {
	t.Helper()
	return startConsoleAt(t, freeAddr(t), consoleYAML)
}

// startConsoleAt is startConsoleWith on a given HTTP address (for a test
// that must know the console's URL before it starts, e.g. to register it
// with an OpenID provider).
func startConsoleAt(t *testing.T, httpAddr, consoleYAML string) *consoleEnv {
	t.Helper()
	return startConsoleConfig(t, httpAddr, consoleYAML, "delinquency: {guard: {disabled: true}}")
}

// startConsoleConfig is startConsoleAt with the config's delinquency
// section given (the blast-radius guard is off in the others).
func startConsoleConfig(t *testing.T, httpAddr, consoleYAML, delinquencyYAML string) *consoleEnv {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	grpcAddr := freeAddr(t)
	base := "http://" + httpAddr
	cfg := filepath.Join(t.TempDir(), "controller.yaml")
	write(t, cfg, fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true}
api:
  tokens:
    - {name: ops, role: admin, token: %q}
company: {name: "Prairie Fiber"}
%s
console:
  public_url: %q
%s
`, dbURL, httpAddr, grpcAddr, adminToken, delinquencyYAML, base+"/staff", consoleYAML))
	start(t, "tollgate-controller", nil, "--config", cfg)
	waitHTTP(t, base+"/readyz", 200, 60*time.Second)
	return &consoleEnv{Base: base, URL: base + "/staff", DBURL: dbURL, API: client.New(base, adminToken)}
}

// staffLogin is a staff user's sign-in: password and TOTP secret.
type staffLogin struct {
	Login, Password, TOTP string
}

// addStaff creates a staff user with role ("reader", "billing", "admin"),
// a password and a TOTP second factor, through POST /api/v1/staff.
func (c *consoleEnv) addStaff(t *testing.T, login, role string) staffLogin {
	t.Helper()
	u := staffLogin{Login: login, Password: "correct horse battery staple " + strings.Repeat("x", len(login))}
	var out struct {
		TOTP struct {
			Secret string `json:"secret"`
		} `json:"totp"`
	}
	must(t, c.API.Do(context.Background(), http.MethodPost, "/api/v1/staff", nil, client.NewIdempotencyKey(),
		map[string]any{"login": login, "name": strings.ToUpper(login[:1]) + login[1:], "role": role, "password": u.Password, "totp": true}, &out))
	if out.TOTP.Secret == "" {
		t.Fatalf("POST /api/v1/staff returned no TOTP secret for %s", login)
	}
	u.TOTP = out.TOTP.Secret
	return u
}

// newBrowser starts headless Chromium with a 1280×800 window and returns
// its context (closed when the test ends). Without javascript the page's
// scripts never run (Emulation.setScriptExecutionDisabled): the console
// must work on plain form posts.
func newBrowser(t *testing.T, javascript bool) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 800))...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)))
	if !javascript {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		must(t, err)
	}
	return ctx
}

// do runs browser actions, failing the test with what failed; each call
// has 30 seconds.
func do(ctx context.Context, t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitJS waits (up to 15 s) until the JavaScript expression is true in the
// page, polled from the test (it works with the page's scripts disabled).
func waitJS(ctx context.Context, t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + (document.querySelector("main") ? document.querySelector("main").outerHTML : document.body ? document.body.innerText : "")`))
			t.Fatalf("waiting for %s (%s): %v; the page (address first) says:\n%s", what, expr, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitText waits until the element sel's text contains want.
func waitText(ctx context.Context, t *testing.T, sel, want string) {
	t.Helper()
	waitJS(ctx, t, fmt.Sprintf("%s to say %q", sel, want),
		fmt.Sprintf(`document.querySelector(%q) && document.querySelector(%q).textContent.includes(%q)`, sel, sel, want))
}

// waitFocus waits until the element with id has the keyboard focus.
func waitFocus(ctx context.Context, t *testing.T, id string) {
	t.Helper()
	waitJS(ctx, t, "the focus on #"+id, fmt.Sprintf(`document.activeElement && document.activeElement.id === %q`, id))
}

// signIn signs u in through the browser: the password page, then the code
// page with a code computed from u's TOTP secret (Enter submits each). It
// calls each (if not nil) on the sign-in page ("signin") and the code
// page ("totp"), and returns on the dashboard.
func (c *consoleEnv) signIn(ctx context.Context, t *testing.T, u staffLogin, each func(page string)) {
	t.Helper()
	do(ctx, t, "the sign-in page", chromedp.Navigate(c.URL+"/signin"), chromedp.WaitVisible(`#login`))
	if each != nil {
		each("signin")
	}
	do(ctx, t, "typing the password", chromedp.SendKeys(`#login`, u.Login), chromedp.SendKeys(`#password`, u.Password+"\r"))
	waitJS(ctx, t, "the code page", `document.querySelector("#code")`)
	if each != nil {
		each("totp")
	}
	code, err := staff.TOTPCode(u.TOTP, staff.TOTPStep(time.Now()))
	must(t, err)
	do(ctx, t, "typing the code", chromedp.SendKeys(`#code`, code+"\r"))
	waitJS(ctx, t, "the dashboard", `location.pathname === "/staff/" && document.querySelector("h1").textContent === "Dashboard"`)
}

// axeCheck runs axe-core (the vendored copy the console serves at
// /staff/assets/axe.min.js, injected into the page) with its default
// rules, and fails the test listing every violation on the page, named
// name in the message. The page's scripts must be enabled.
func axeCheck(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	type violation struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any  `json:"target"`
			HTML   string `json:"html"`
		} `json:"nodes"`
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		if (!window.axe) {
			await new Promise((resolve, reject) => {
				const s = document.createElement("script");
				s.src = "/staff/assets/axe.min.js";
				s.onload = resolve;
				s.onerror = () => reject(new Error("axe.min.js did not load"));
				document.head.appendChild(s);
			});
		}
		const r = await axe.run(document);
		return JSON.stringify(r.violations);
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe-core on %s: %v", name, err)
	}
	var vs []violation
	must(t, json.Unmarshal([]byte(raw), &vs))
	if len(vs) == 0 {
		return
	}
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "\n- %s (%s): %s", v.ID, v.Impact, v.Help)
		for _, n := range v.Nodes {
			fmt.Fprintf(&b, "\n    %v %s", n.Target, n.HTML)
		}
	}
	t.Errorf("axe-core: %d violation(s) on %s:%s", len(vs), name, b.String())
}

// artifactsDir is where screenshots go: $TOLLGATE_TEST_ARTIFACTS, by
// default internal/e2e/testdata/.artifacts.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TOLLGATE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", ".artifacts")
	}
	must(t, os.MkdirAll(dir, 0o755))
	return dir
}

// screenshot writes the 1280×800 viewport as name.png in the artifacts
// folder.
func screenshot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
	must(t, err)
	must(t, os.WriteFile(filepath.Join(artifactsDir(t), name+".png"), png.Data, 0o644))
}

// checkPage is what every console page state gets: axeCheck, then a
// screenshot.
func checkPage(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	axeCheck(ctx, t, name)
	screenshot(ctx, t, name)
}

// fetchAsBrowser GETs path (under Base) with the browser's cookies, as a
// link the user follows would, and returns the status, content type and
// body.
func (c *consoleEnv) fetchAsBrowser(ctx context.Context, t *testing.T, path string) (int, string, []byte) {
	t.Helper()
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{c.URL + "/"}})
	must(t, err)
	req, err := http.NewRequest(http.MethodGet, c.Base+path, nil)
	must(t, err)
	for _, ck := range cookies.Cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

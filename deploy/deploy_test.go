// Package deploy holds deployment files (systemd units, Prometheus rules
// and scrape config, the Grafana dashboard, example configs). This test keeps
// them honest: they parse, every alert tells an operator what to do, and
// every metric they name exists in the Go code.
package deploy

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	alertsFile     = "prometheus/tollgate-alerts.yml"
	alertsTestFile = "prometheus/tollgate-alerts.test.yml"
	// billingAlertsFile holds the alerts on billing runs, payments,
	// deliveries, the job queue and agent certificates.
	billingAlertsFile     = "prometheus/tollgate-billing-alerts.yml"
	billingAlertsTestFile = "prometheus/tollgate-billing-alerts.test.yml"
	promConfigFile        = "prometheus/prometheus.example.yml"
	dashboardFile         = "grafana/tollgate-dashboard.json"
	controllerUnit        = "systemd/tollgate-controller.service"
	agentUnit             = "systemd/tollgate-agent.service"
	agentInitUnit         = "systemd/tollgate-agent-init-state.service"
	sysusersFile          = "systemd/tollgate.sysusers.conf"
)

// pendingMetrics may be named by the alerts and the dashboard before the Go
// code that exports them has landed (name them here, with their labels).
// Remove a name once the test logs that it was found in the code.
var pendingMetrics = []string{}

// wantAlerts are the alerts operators rely on; renaming one breaks their
// Alertmanager routes and silences.
var wantAlerts = []string{
	"TollgateAgentDisconnected",
	"TollgateAgentLagging",
	"TollgateUnconfirmedServices",
	"TollgateSuspensionBatchHeld",
	"TollgateCommitToAckSlow",
	"TollgateNoticesFailing",
	"TollgateAgentApplyErrors",
	"TollgateControllerDown",
	"TollgateAddressPoolNearlyFull",
	"TollgateBillingRunLate",
	"TollgateBillingRunFailed",
	"TollgateDeclinesAboveNormal",
	"TollgateGatewayErrors",
	"TollgateDeliveriesFailing",
	"TollgateJobQueueStuck",
	"TollgateAgentCertificateExpiring",
}

// alertFiles are the rule files with their promtool unit tests.
var alertFiles = [][2]string{{alertsFile, alertsTestFile}, {billingAlertsFile, billingAlertsTestFile}}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// loadAlerts returns the rules of every rule file.
func loadAlerts(t *testing.T) []rule {
	t.Helper()
	var rules []rule
	for _, f := range alertFiles {
		rules = append(rules, loadAlertFile(t, f[0])...)
	}
	return rules
}

func loadAlertFile(t *testing.T, file string) []rule {
	t.Helper()
	var rf ruleFile
	decodeYAMLStrict(t, file, &rf)
	if len(rf.Groups) == 0 {
		t.Fatalf("%s: no rule groups", file)
	}
	var rules []rule
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("%s: group %q needs a name and rules", file, g.Name)
		}
		rules = append(rules, g.Rules...)
	}
	return rules
}

func decodeYAMLStrict(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// promTemplateFuncs are the functions Prometheus offers in alert templates;
// only their names matter for parsing.
var promTemplateFuncs = func() template.FuncMap {
	m := template.FuncMap{}
	for _, name := range []string{"humanize", "humanize1024", "humanizeDuration", "humanizePercentage",
		"humanizeTimestamp", "toTime", "query", "first", "label", "value", "strvalue", "args",
		"reReplaceAll", "safeHtml", "match", "title", "toUpper", "toLower", "graphLink",
		"tableLink", "sortByLabel", "stripPort", "stripDomain", "externalURL", "pathPrefix", "parseDuration"} {
		m[name] = func(...any) any { return nil }
	}
	return m
}()

func TestAlertRules(t *testing.T) {
	rules := loadAlerts(t)
	seen := map[string]bool{}
	for _, r := range rules {
		if r.Alert == "" {
			t.Errorf("a rule without an alert name (record %q): this file holds alerts only", r.Record)
			continue
		}
		if seen[r.Alert] {
			t.Errorf("alert %s defined twice", r.Alert)
		}
		seen[r.Alert] = true
		if strings.TrimSpace(r.Expr) == "" {
			t.Errorf("%s: no expr", r.Alert)
		}
		if d, err := time.ParseDuration(r.For); err != nil || d <= 0 {
			t.Errorf("%s: for: %q is not a positive duration", r.Alert, r.For)
		}
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: labels.severity is %q, want critical or warning", r.Alert, s)
		}
		for _, a := range []string{"summary", "description"} {
			text := r.Annotations[a]
			if strings.TrimSpace(text) == "" {
				t.Errorf("%s: no annotations.%s", r.Alert, a)
				continue
			}
			// Prometheus defines $labels and $value before expanding.
			defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$value := .Value}}"
			if _, err := template.New(r.Alert).Funcs(promTemplateFuncs).Parse(defs + text); err != nil {
				t.Errorf("%s: annotations.%s is not a valid template: %v", r.Alert, a, err)
			}
		}
		if len(r.Annotations["description"]) < 80 {
			t.Errorf("%s: the description should tell the operator what to check and do", r.Alert)
		}
	}
	for _, name := range wantAlerts {
		if !seen[name] {
			t.Errorf("alert %s is missing", name)
		}
	}
}

// TestPromtool runs Prometheus's own checks and the rules' unit tests. It
// fails where promtool is not installed (scripts/setup.sh installs it).
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install it (scripts/setup.sh installs Debian's prometheus package) so the alert rules' unit tests run")
	}
	checks := [][]string{{"check", "config", filepath.Base(promConfigFile)}}
	for _, f := range alertFiles {
		checks = append(checks, []string{"check", "rules", filepath.Base(f[0])}, []string{"test", "rules", filepath.Base(f[1])})
	}
	for _, args := range checks {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = filepath.Dir(alertsFile)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestEveryAlertFiresAndStaysQuiet: each alert of the billing rule file
// has, in its promtool tests, a case where it fires and one where it does
// not. (tollgate-alerts.test.yml predates the rule: several of its alerts
// have only a firing case.)
func TestEveryAlertFiresAndStaysQuiet(t *testing.T) {
	type ruleTests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	for _, f := range [][2]string{{billingAlertsFile, billingAlertsTestFile}} {
		var rt ruleTests
		b, err := os.ReadFile(f[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &rt); err != nil {
			t.Fatalf("%s: %v", f[1], err)
		}
		fires, quiet := map[string]bool{}, map[string]bool{}
		for _, tc := range rt.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
		for _, r := range loadAlertFile(t, f[0]) {
			if !fires[r.Alert] || !quiet[r.Alert] {
				t.Errorf("%s: alert %s needs a case where it fires (%v) and one where it does not (%v)", f[1], r.Alert, fires[r.Alert], quiet[r.Alert])
			}
		}
	}
}

// TestMetricNamesExist checks that every tollgate_* metric the alerts and
// the dashboard query is registered somewhere in the Go code.
func TestMetricNamesExist(t *testing.T) {
	known := goMetricNames(t)
	for _, p := range pendingMetrics {
		if known[p] {
			t.Logf("%s is now in the Go code: remove it from pendingMetrics", p)
		}
	}
	exprs := map[string][]string{} // file -> expressions
	for _, r := range loadAlerts(t) {
		exprs[alertsFile] = append(exprs[alertsFile], r.Expr)
	}
	d := loadDashboard(t)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs[dashboardFile] = append(exprs[dashboardFile], tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		exprs[dashboardFile] = append(exprs[dashboardFile], v.Definition)
	}
	used := 0
	for file, list := range exprs {
		for _, e := range list {
			for _, name := range metricRef.FindAllString(e, -1) {
				used++
				if !metricDefined(name, known) {
					t.Errorf("%s: metric %s (in %q) is not registered in any .go file and not in pendingMetrics", file, name, e)
				}
			}
		}
	}
	if used == 0 {
		t.Fatal("no tollgate_* metric found in the alerts and the dashboard")
	}
}

var (
	metricRef     = regexp.MustCompile(`\btollgate_[a-z0-9_]+`)
	goMetricQuote = regexp.MustCompile(`"(tollgate_[a-z0-9_]+)"`)
)

func metricDefined(name string, known map[string]bool) bool {
	candidates := []string{name}
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			candidates = append(candidates, base)
		}
	}
	for _, c := range candidates {
		if known[c] || slices.Contains(pendingMetrics, c) {
			return true
		}
	}
	return false
}

// goMetricNames returns every "tollgate_..." string literal in the module's
// non-test .go files.
func goMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != ".." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range goMetricQuote.FindAllSubmatch(b, -1) {
			known[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !known["tollgate_push_connected_agents"] {
		t.Fatal("did not find tollgate_push_connected_agents in the Go code: is the walk looking at the module root?")
	}
	return known
}

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *datasource              `json:"datasource"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	return d
}

func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Error("the dashboard needs a title and a fixed uid (so re-importing replaces it)")
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want 36 or later", d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		switch v.Name {
		case "datasource":
			if v.Type != "datasource" || string(v.Query) != `"prometheus"` {
				t.Errorf("variable datasource: type %q query %s, want a Prometheus data source variable", v.Type, v.Query)
			}
		case "pop":
			if v.Definition != "label_values(tollgate_push_pop_revision, pop)" || !strings.Contains(string(v.Query), v.Definition) {
				t.Errorf("variable pop: definition %q, query %s", v.Definition, v.Query)
			}
			if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
				t.Error("variable pop must query ${datasource}")
			}
		}
	}
	if vars["datasource"] == "" || vars["pop"] == "" {
		t.Errorf("template variables %v: want datasource and pop", vars)
	}

	ids := map[int]bool{}
	type rect struct{ x0, y0, x1, y1 int }
	var placed []rect
	for _, p := range d.Panels {
		if p.ID <= 0 || ids[p.ID] {
			t.Errorf("panel %q: id %d is missing or not unique", p.Title, p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v does not fit the 24-column grid", p.Title, g)
		}
		r := rect{g.X, g.Y, g.X + g.W, g.Y + g.H}
		for _, o := range placed {
			if r.x0 < o.x1 && o.x0 < r.x1 && r.y0 < o.y1 && o.y0 < r.y1 {
				t.Errorf("panel %q overlaps another panel", p.Title)
			}
		}
		placed = append(placed, r)
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || len(p.Targets) == 0 {
			t.Errorf("panel %d: needs a title and at least one query", p.ID)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource must be ${datasource}", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: every query needs an expr and a unique refId", p.Title)
			}
			refs[tg.RefID] = true
			if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: query %s: datasource must be ${datasource}", p.Title, tg.RefID)
			}
			if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") || strings.Count(tg.Expr, "{") != strings.Count(tg.Expr, "}") {
				t.Errorf("panel %q: unbalanced brackets in %q", p.Title, tg.Expr)
			}
		}
	}

	// The panels the deploy README promises.
	for _, metric := range []string{
		"tollgate_push_connected_agents", "tollgate_push_pop_revision", "tollgate_push_agent_applied_revision",
		"tollgate_push_agent_lag_revisions", "tollgate_push_commit_to_ack_seconds_bucket",
		"tollgate_push_unconfirmed_services", "tollgate_push_service_results_total",
		"tollgate_suspension_batches_pending", "tollgate_notices_sent_total", "tollgate_notices_failed_total",
		"tollgate_agent_driver_seconds_bucket", "tollgate_api_request_seconds_count", "tollgate_api_request_seconds_bucket",
		// Billing work (tollgate-billing-alerts.yml watches the same).
		"tollgate_billing_runs_started_total", "tollgate_billing_runs_finished_total", "tollgate_billing_runs_failed_total",
		"tollgate_billing_run_duration_seconds_bucket", "tollgate_billing_run_accounts_total", "tollgate_billing_run_invoices_total",
		"tollgate_billing_run_last_success_timestamp_seconds", "tollgate_payment_gateway_charges_total",
		"tollgate_payment_gateway_declines_total", "tollgate_payment_gateway_errors_total", "tollgate_autopay_attempts_total",
		"tollgate_payments_posted_total", "tollgate_payments_posted_minor_units_total",
		"tollgate_idempotency_conflicts_total", "tollgate_sweep_duration_seconds_bucket", "tollgate_sweep_changes_total",
		"tollgate_sweep_held_batches_total", "tollgate_notices_queued", "tollgate_notices_superseded_total",
		"tollgate_delivery_sent_total", "tollgate_delivery_failed_total", "tollgate_jobs", "tollgate_jobs_oldest_due_seconds",
		"tollgate_job_errors_total", "tollgate_jobs_given_up_total", "tollgate_agent_client_certificate_expiry_seconds",
		"tollgate_push_agent_certificate_expiry_seconds",
	} {
		found := false
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				found = found || slices.Contains(metricRef.FindAllString(tg.Expr, -1), metric)
			}
		}
		if !found {
			t.Errorf("no dashboard panel queries %s", metric)
		}
	}
}

type promConfig struct {
	Global        map[string]any `yaml:"global"`
	RuleFiles     []string       `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string          `yaml:"targets"`
			Labels  map[string]string `yaml:"labels"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

var jobMatcher = regexp.MustCompile(`job="([^"]+)"`)

func TestPrometheusConfig(t *testing.T) {
	var c promConfig
	decodeYAMLStrict(t, promConfigFile, &c)
	for _, f := range alertFiles {
		if !slices.Contains(c.RuleFiles, filepath.Base(f[0])) {
			t.Errorf("rule_files %v does not load %s", c.RuleFiles, filepath.Base(f[0]))
		}
	}
	jobs := map[string][]string{}
	for _, sc := range c.ScrapeConfigs {
		if sc.MetricsPath != "/metrics" {
			t.Errorf("job %s: metrics_path %q, want /metrics", sc.JobName, sc.MetricsPath)
		}
		for _, st := range sc.StaticConfigs {
			jobs[sc.JobName] = append(jobs[sc.JobName], st.Targets...)
			if sc.JobName == "tollgate-agent" && st.Labels["pop"] == "" {
				t.Errorf("agent targets %v: need a pop label (the alerts and the dashboard use it)", st.Targets)
			}
		}
	}
	// Ports must match the defaults in the example configs.
	ports := map[string]string{
		"tollgate-controller": listenPort(t, "controller.example.yaml", "http"),
		"tollgate-agent":      listenPort(t, "agent.example.yaml", "metrics"),
	}
	for job, port := range ports {
		if len(jobs[job]) == 0 {
			t.Errorf("no scrape targets for job %s", job)
		}
		for _, target := range jobs[job] {
			if !strings.HasSuffix(target, port) {
				t.Errorf("job %s: target %s does not use port %s from the example config", job, target, port)
			}
		}
	}
	// Every job the alerts and the dashboard match on is scraped.
	var exprs []string
	for _, r := range loadAlerts(t) {
		exprs = append(exprs, r.Expr)
	}
	for _, p := range loadDashboard(t).Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, e := range exprs {
		for _, m := range jobMatcher.FindAllStringSubmatch(e, -1) {
			if _, ok := jobs[m[1]]; !ok {
				t.Errorf("%q matches job %q, which %s does not scrape", e, m[1], promConfigFile)
			}
		}
	}
}

// listenPort returns ":PORT" from section.listen in an example config.
func listenPort(t *testing.T, file, section string) string {
	t.Helper()
	var c map[string]any
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	s, _ := c[section].(map[string]any)
	listen, _ := s["listen"].(string)
	i := strings.LastIndex(listen, ":")
	if i < 0 {
		t.Fatalf("%s: %s.listen is %q", file, section, listen)
	}
	return listen[i:]
}

// unit is a systemd unit file: section -> key -> values in order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		case section == "":
			t.Errorf("%s:%d: setting outside a section", path, n)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || strings.HasSuffix(line, `\`) {
				t.Errorf("%s:%d: want Key=value on one line, got %q", path, n, line)
				continue
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u unit) last(section, key string) (string, bool) {
	v := u[section][key]
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

func TestSystemdUnits(t *testing.T) {
	users := sysusers(t)
	for _, tc := range []struct {
		file, binary, config, envFile string
		want                          map[string]string
	}{
		{controllerUnit, "/usr/local/bin/tollgate-controller", "/etc/tollgate/controller.yaml", "-/etc/tollgate/controller.env",
			map[string]string{"CapabilityBoundingSet": ""}},
		{agentUnit, "/usr/local/bin/tollgate-agent", "/etc/tollgate/agent.yaml", "-/etc/tollgate/agent.env",
			map[string]string{"StateDirectory": "tollgate-agent", "ReadWritePaths": "/var/lib/tollgate-agent"}},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			u := parseUnit(t, tc.file)
			for _, s := range []string{"Unit", "Service", "Install"} {
				if u[s] == nil {
					t.Errorf("no [%s] section", s)
				}
			}
			want := map[string]string{
				"ExecStart":       tc.binary + " --config " + tc.config,
				"EnvironmentFile": tc.envFile,
				"Restart":         "on-failure",
				"NoNewPrivileges": "yes",
				"ProtectSystem":   "strict",
				"ProtectHome":     "yes",
				"PrivateTmp":      "yes",
			}
			for k, v := range tc.want {
				want[k] = v
			}
			for k, v := range want {
				if got, ok := u.last("Service", k); !ok || got != v {
					t.Errorf("[Service] %s=%q, want %q", k, got, v)
				}
			}
			if got, _ := u.last("Service", "LimitNOFILE"); got == "" {
				t.Error("[Service] LimitNOFILE is not set")
			}
			user, _ := u.last("Service", "User")
			if user == "" || user == "root" || !users[user] {
				t.Errorf("[Service] User=%q: want a dedicated user defined in %s", user, sysusersFile)
			}
			if got, _ := u.last("Install", "WantedBy"); got != "multi-user.target" {
				t.Errorf("[Install] WantedBy=%q", got)
			}
		})
	}

	// systemd's own check, where systemd-analyze is installed. ExecStart
	// must name an existing executable, so point it at this test binary.
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not found: skipping systemd-analyze verify")
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths []string
	for _, f := range []string{controllerUnit, agentUnit, agentInitUnit} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "ExecStart=/usr/local/bin/"+strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), "-init-state.service"), ".service"), "ExecStart="+self)
		p := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(sa, append([]string{"verify"}, paths...)...).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// verify exits 0 on settings it ignores ("Failed to parse ..., ignoring"),
	// so any complaint about our files fails the test.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, dir) {
			t.Errorf("systemd-analyze verify: %s", line)
		} else if strings.TrimSpace(line) != "" {
			t.Logf("systemd-analyze verify: %s", line)
		}
	}
}

// TestPriority: the controller, the agent and the PostgreSQL drop-in ask
// for the same CPU priority (scripts/bench.sh runs the benchmarks at that
// Nice=, read from the controller's unit), and nothing pins CPUs.
func TestPriority(t *testing.T) {
	const pgDropIn = "systemd/postgresql-tollgate-priority.conf"
	want := map[string]string{}
	for _, f := range []string{controllerUnit, agentUnit, pgDropIn} {
		u := parseUnit(t, f)
		for _, k := range []string{"Nice", "CPUWeight"} {
			v, ok := u.last("Service", k)
			if !ok {
				t.Errorf("%s: [Service] %s is not set", f, k)
				continue
			}
			if want[k] == "" {
				want[k] = v
			} else if v != want[k] {
				t.Errorf("%s: [Service] %s=%s, want %s like %s", f, k, v, want[k], controllerUnit)
			}
		}
		if _, ok := u.last("Service", "CPUAffinity"); ok {
			t.Errorf("%s: CPUAffinity is set: no CPU pinning", f)
		}
	}
	if n, err := strconv.Atoi(want["Nice"]); err != nil || n > 0 || n < -20 {
		t.Errorf("Nice=%s: want a value from -20 to 0", want["Nice"])
	}
	script, err := os.ReadFile("../scripts/bench.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "deploy/systemd/tollgate-controller.service") {
		t.Error("scripts/bench.sh does not read the priority from deploy/systemd/tollgate-controller.service")
	}
}

// TestAgentStateInit: the agent's unit never creates a missing state file
// (it would start empty in place of a lost one); the first-boot unit does,
// once, as the agent's user, before the agent starts.
func TestAgentStateInit(t *testing.T) {
	agent := parseUnit(t, agentUnit)
	if got, _ := agent.last("Service", "ExecStart"); strings.Contains(got, "--init-state") || strings.Contains(got, "--reset-state") {
		t.Errorf("%s: ExecStart=%q must not create or reset the state file", agentUnit, got)
	}
	u := parseUnit(t, agentInitUnit)
	want := map[string]map[string]string{
		"Unit": {"ConditionFirstBoot": "yes", "ConditionPathExists": "!/var/lib/tollgate-agent/state.db", "Before": "tollgate-agent.service"},
		"Service": {"Type": "oneshot", "ExecStart": "/usr/local/bin/tollgate-agent --config /etc/tollgate/agent.yaml --init-state --check-state",
			"StateDirectory": "tollgate-agent", "StateDirectoryMode": "0700", "ReadWritePaths": "/var/lib/tollgate-agent",
			"NoNewPrivileges": "yes", "ProtectSystem": "strict", "UMask": "0077"},
		"Install": {"WantedBy": "tollgate-agent.service"},
	}
	for section, kv := range want {
		for k, v := range kv {
			if got, ok := u.last(section, k); !ok || got != v {
				t.Errorf("%s: [%s] %s=%q, want %q", agentInitUnit, section, k, got, v)
			}
		}
	}
	for _, k := range []string{"User", "Group"} {
		a, _ := agent.last("Service", k)
		if got, _ := u.last("Service", k); got != a || got == "" {
			t.Errorf("%s: [Service] %s=%q, want the agent's %q", agentInitUnit, k, got, a)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "--init-state") || !strings.Contains(string(readme), "--reset-state") {
		t.Error("deploy/README.md does not tell how to create (--init-state) and recover (--reset-state) the state file")
	}
}

func sysusers(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(sysusersFile)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "u" {
			users[f[1]] = true
		}
	}
	return users
}

// TestReadmeNamesEveryFile keeps deploy/README.md in step with the files.
func TestReadmeNamesEveryFile(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var missing []string
	for _, dir := range []string{"systemd", "prometheus", "grafana"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !strings.Contains(readme, e.Name()) {
				missing = append(missing, dir+"/"+e.Name())
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("deploy/README.md does not mention %v", missing)
	}
}

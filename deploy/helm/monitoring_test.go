package helm_test

// The chart's monitoring: the PrometheusRule is checked and unit-tested with Prometheus' own
// promtool, and every metric the rules, their tests and the Grafana dashboard query is one a
// running callbridge exports (taken from a real scrape).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/callbridge/callbridge/internal/telemetry"
)

// alertsTestFile holds promtool's unit tests of the rendered rules.
const alertsTestFile = "testdata/alerts_test.yaml"

type alertRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type ruleGroups struct {
	Groups []struct {
		Name  string      `json:"name"`
		Rules []alertRule `json:"rules"`
	} `json:"groups"`
}

// checkPrometheusRule checks the fields the chart writes, as there is no Go type to decode
// a PrometheusRule into strictly: one group of alerts, each with an expression, a severity
// and the annotations the README promises.
func checkPrometheusRule(u unstructured.Unstructured) error {
	spec, ok := u.Object["spec"].(map[string]any)
	if !ok || len(spec) != 1 {
		return fmt.Errorf("spec must hold only groups: %v", u.Object["spec"])
	}
	var g ruleGroups
	if err := remarshalStrict(spec, &g); err != nil {
		return err
	}
	if len(g.Groups) != 1 || len(g.Groups[0].Rules) == 0 {
		return fmt.Errorf("want one non-empty rule group, got %+v", g.Groups)
	}
	for _, r := range g.Groups[0].Rules {
		if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			return fmt.Errorf("alert %+v lacks a name, expression, severity, summary or description", r)
		}
	}
	return nil
}

func remarshalStrict(in any, out any) error {
	b, err := yaml.Marshal(in)
	if err != nil {
		return err
	}
	return yaml.UnmarshalStrict(b, out)
}

// alertRules returns the PrometheusRule's alerts by name.
func alertRules(t *testing.T, u unstructured.Unstructured) map[string]alertRule {
	t.Helper()
	var g ruleGroups
	if err := remarshalStrict(u.Object["spec"], &g); err != nil {
		t.Fatal(err)
	}
	out := map[string]alertRule{}
	for _, r := range g.Groups[0].Rules {
		out[r.Alert] = r
	}
	return out
}

// renderMonitoring renders the chart with the rule and the dashboard on and default thresholds.
func renderMonitoring(t *testing.T) *manifests {
	t.Helper()
	out, err := helm(t, "template", release, chartDir, "--namespace", namespace,
		"--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.grafanaDashboard.enabled=true")
	if err != nil {
		t.Fatal(err)
	}
	m, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.prometheusRules) != 1 || len(m.dashboards) != 1 {
		t.Fatalf("want one PrometheusRule and one dashboard ConfigMap, got %d and %d", len(m.prometheusRules), len(m.dashboards))
	}
	return m
}

// promtool finds Prometheus' promtool (Debian's prometheus package; scripts/test installs it).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		const reason = "promtool not found (apt-get install prometheus; scripts/test installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(reason)
		}
		t.Skip(reason)
	}
	return p
}

func runPromtool(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, promtool(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	t.Logf("promtool %s:\n%s", args[0]+" "+args[1], out.String())
	return out.String()
}

type alertsTest struct {
	RuleFiles []string `json:"rule_files"`
	Tests     []struct {
		Name        string `json:"name"`
		InputSeries []struct {
			Series string `json:"series"`
		} `json:"input_series"`
		AlertRuleTest []struct {
			Alertname string `json:"alertname"`
			ExpAlerts []any  `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

func readAlertsTest(t *testing.T) ([]byte, alertsTest) {
	t.Helper()
	raw, err := os.ReadFile(alertsTestFile)
	if err != nil {
		t.Fatal(err)
	}
	var at alertsTest
	if err := yaml.Unmarshal(raw, &at); err != nil {
		t.Fatal(err)
	}
	return raw, at
}

// TestAlertRulesWithPromtool renders the PrometheusRule, checks its group with `promtool
// check rules`, runs the unit tests in testdata/alerts_test.yaml with `promtool test rules`,
// and checks that those tests see every alert both fire and stay quiet.
func TestAlertRulesWithPromtool(t *testing.T) {
	requireHelm(t)
	promtool(t)
	m := renderMonitoring(t)
	rules := alertRules(t, m.prometheusRules[0])

	dir := t.TempDir()
	spec, err := yaml.Marshal(m.prometheusRules[0].Object["spec"])
	if err != nil {
		t.Fatal(err)
	}
	raw, at := readAlertsTest(t)
	if !slices.Equal(at.RuleFiles, []string{"rules.yaml"}) {
		t.Fatalf("%s: rule_files %v, want [rules.yaml] (the rendered group)", alertsTestFile, at.RuleFiles)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), spec, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out := runPromtool(t.Context(), t, "check", "rules", filepath.Join(dir, "rules.yaml"))
	if want := fmt.Sprintf("SUCCESS: %d rules found", len(rules)); !strings.Contains(out, want) {
		t.Errorf("promtool check rules: want %q in:\n%s", want, out)
	}
	out = runPromtool(t.Context(), t, "test", "rules", filepath.Join(dir, "alerts_test.yaml"))
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules:\n%s", out)
	}

	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range at.Tests {
		for _, a := range tc.AlertRuleTest {
			if _, ok := rules[a.Alertname]; !ok {
				t.Errorf("%s tests %s, which the chart does not render", tc.Name, a.Alertname)
			}
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for name := range rules {
		if !fires[name] || !quiet[name] {
			t.Errorf("%s: %s needs a case where it fires (%v) and one where it does not (%v)", name, alertsTestFile, fires[name], quiet[name])
		}
	}

	// metrics.prometheusRule.disabled accepts exactly the alert names.
	schema, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties struct {
			Metrics struct {
				Properties struct {
					PrometheusRule struct {
						Properties struct {
							Disabled struct {
								Items struct {
									Enum []string `json:"enum"`
								} `json:"items"`
							} `json:"disabled"`
						} `json:"properties"`
					} `json:"prometheusRule"`
				} `json:"properties"`
			} `json:"metrics"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		t.Fatal(err)
	}
	enum := s.Properties.Metrics.Properties.PrometheusRule.Properties.Disabled.Items.Enum
	var names []string
	for name := range rules {
		names = append(names, name)
	}
	sort.Strings(names)
	slices.Sort(enum)
	if !slices.Equal(enum, names) {
		t.Errorf("values.schema.json metrics.prometheusRule.disabled allows %v, the chart renders %v", enum, names)
	}
}

// exportedMetrics scrapes /metrics of a telemetry set up as `callbridge serve` sets it up,
// after recording every callbridge metric once, and returns every sample name on it.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	ctx := context.Background()
	tel, err := telemetry.Setup(ctx, telemetry.Options{ServiceVersion: "test", LogWriter: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tel.Shutdown(ctx) }()
	m := tel.Metrics
	m.Webhook(ctx, "acct-a", "call.finished", "published")
	m.ServerRequest(ctx, telemetry.ServerRequest{Method: http.MethodPost, Route: telemetry.WebhookRoute, Status: 503, Account: "acct-a"}, time.Millisecond)
	m.PublishLatency(ctx, "callbridge.call.finished", time.Millisecond)
	m.Command(ctx, "callbridge.call.single", "acct-a", "retries_exhausted")
	m.ClientRequest(ctx, telemetry.ClientRequest{Vendor: "vendor-a", Endpoint: "/api/call", Method: http.MethodPost, Host: "api.example", Port: 443, ErrorType: "timeout"}, time.Millisecond)
	m.VendorRetry(ctx, "vendor-a", "/api/call")
	m.DLQWrite(ctx, "unparseable")
	m.ProducerError(ctx, "callbridge.call.finished")
	m.Reconciled(ctx, "acct-a", "published", 1)
	m.ReconcileSucceeded(ctx, "acct-a", time.Now())
	defer m.ObserveLedgerSize(func() int64 { return 1 })()
	defer m.ObserveConsumerLag(func() []telemetry.PartitionLag {
		return []telemetry.PartitionLag{{Topic: "callbridge.call.single", Partition: 0, Lag: 1}}
	})()

	srv := httptest.NewServer(tel.MetricsHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	for _, name := range telemetry.MetricNames {
		if !names[name] && !names[name+"_count"] {
			t.Fatalf("the scrape lacks %s: record it above", name)
		}
	}
	return names
}

var (
	quoted    = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	braces    = regexp.MustCompile(`\{[^{}]*\}|\[[^\[\]]*\]`)
	grouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	token     = regexp.MustCompile(`\$?[A-Za-z_:][A-Za-z0-9_:]*|[0-9][0-9A-Za-z.]*(?:[eE][+-][0-9]+)?`)
	labelVals = regexp.MustCompile(`^label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)`)
	keywords  = map[string]bool{"and": true, "or": true, "unless": true, "offset": true, "bool": true, "inf": true, "nan": true, "Inf": true, "NaN": true}
)

// metricNames returns the metric names a PromQL expression selects (every identifier that is
// not a function, keyword, label, string, number, duration or Grafana variable).
func metricNames(expr string) []string {
	if m := labelVals.FindStringSubmatch(expr); m != nil {
		return []string{m[1]}
	}
	e := quoted.ReplaceAllString(expr, `""`)
	e = grouping.ReplaceAllString(e, " ")
	for prev := ""; prev != e; {
		prev, e = e, braces.ReplaceAllString(e, " ")
	}
	var out []string
	for _, loc := range token.FindAllStringIndex(e, -1) {
		tok := e[loc[0]:loc[1]]
		if tok[0] == '$' || (tok[0] >= '0' && tok[0] <= '9') || keywords[tok] {
			continue
		}
		if rest := strings.TrimLeft(e[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or aggregation
		}
		out = append(out, tok)
	}
	return out
}

func TestMetricNamesOfPromQL(t *testing.T) {
	tests := []struct {
		name, expr string
		want       []string
	}{
		{"selector with matchers and range", `rate(callbridge_webhooks_total{outcome="a{b}"}[5m]) > 0`, []string{"callbridge_webhooks_total"}},
		{"grouping labels are not metrics", `sum by (namespace, le) (rate(x_bucket{a="b"}[$__rate_interval]))`, []string{"x_bucket"}},
		{"binary operators, offset and numbers", `a unless b offset 10m and on (job) (time() - c < 1e+06)`, []string{"a", "b", "c"}},
		{"grafana label_values query", `label_values(callbridge_build_info, namespace)`, []string{"callbridge_build_info"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := metricNames(tc.expr); !slices.Equal(got, tc.want) {
				t.Errorf("metricNames(%q) = %v, want %v", tc.expr, got, tc.want)
			}
		})
	}
}

// TestQueriesUseExportedMetrics: the alert rules, the series their promtool tests feed in,
// and the dashboard's panels and variables name only metrics a running callbridge exports.
func TestQueriesUseExportedMetrics(t *testing.T) {
	requireHelm(t)
	exported := exportedMetrics(t)
	m := renderMonitoring(t)

	queries := map[string]string{} // where → PromQL
	for name, r := range alertRules(t, m.prometheusRules[0]) {
		queries["alert "+name] = r.Expr
	}
	_, at := readAlertsTest(t)
	for _, tc := range at.Tests {
		for i, s := range tc.InputSeries {
			queries[fmt.Sprintf("%s: test %q series %d", alertsTestFile, tc.Name, i)] = s.Series
		}
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal([]byte(m.dashboards[0].Data["callbridge.json"]), &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	targets := 0
	for _, p := range dash.Panels {
		for i, tg := range p.Targets {
			queries[fmt.Sprintf("dashboard panel %q target %d", p.Title, i)] = tg.Expr
			targets++
		}
	}
	if targets == 0 {
		t.Fatal("the dashboard has no queries")
	}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		s, _ := q["query"].(string)
		queries["dashboard variable "+v.Name] = s
	}

	used := map[string]bool{}
	for where, q := range queries {
		names := metricNames(q)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, q)
		}
		for _, n := range names {
			used[n] = true
			if !exported[n] {
				t.Errorf("%s uses %s, which callbridge does not export", where, n)
			}
		}
	}
	// The dashboard and rules between them show every callbridge metric.
	for _, name := range telemetry.MetricNames {
		if !used[name] && !used[name+"_count"] && !used[name+"_bucket"] {
			t.Errorf("no alert or dashboard panel uses %s", name)
		}
	}
}

// TestReadmeListsAlertsAndPanels: README's Operations section names every alert of the
// PrometheusRule and every panel of the dashboard.
func TestReadmeListsAlertsAndPanels(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "dashboards", "callbridge.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Type  string `json:"type"`
			Title string `json:"title"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, ops, _ := strings.Cut(string(readme), "\n## Operations\n")
	ops, _, _ = strings.Cut(ops, "\n## ")
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if !strings.Contains(ops, p.Title) {
			t.Errorf("README's Operations section does not list the dashboard panel %q", p.Title)
		}
	}
	tmpl, err := os.ReadFile(filepath.Join(chartDir, "templates", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	alerts := regexp.MustCompile(`"alert" "(\w+)"`).FindAllStringSubmatch(string(tmpl), -1)
	if len(alerts) == 0 {
		t.Fatal("no alerts found in templates/prometheusrule.yaml")
	}
	for _, a := range alerts {
		if !strings.Contains(ops, "`"+a[1]+"`") {
			t.Errorf("README's Operations section does not list the alert %s", a[1])
		}
	}
	if dash.UID == "" {
		t.Error("the dashboard needs a fixed uid so links to it survive a reload")
	}
}

// TestChartIcon: Chart.yaml's icon points at the icon file in this repository.
func TestChartIcon(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		Icon string `json:"icon"`
	}
	if err := yaml.Unmarshal(raw, &chart); err != nil {
		t.Fatal(err)
	}
	const prefix = "https://raw.githubusercontent.com/callbridge/callbridge/main/"
	path, ok := strings.CutPrefix(chart.Icon, prefix)
	if !ok {
		t.Fatalf("icon %q is not a file of the repository (%s…)", chart.Icon, prefix)
	}
	if _, err := os.Stat(filepath.Join("..", "..", filepath.FromSlash(path))); err != nil {
		t.Errorf("icon %q: %v", chart.Icon, err)
	}
}

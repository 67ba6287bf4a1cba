package metrics

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/twilio"
)

var (
	descName   = regexp.MustCompile(`fqName: "([^"]+)"`)
	descLabels = regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	// exprMetric is a sambatd metric in a PromQL expression, with its
	// label matchers when it has any.
	exprMetric = regexp.MustCompile(`(sambatd_[a-z_]+)(\{[^}]*\})?`)
	matcher    = regexp.MustCompile(`([a-z_]+)\s*(?:=|!=|=~|!~)\s*"([^"]*)"`)
	labelRef   = regexp.MustCompile(`\$labels\.([a-z_]+)`)
)

// exported lists the metrics this package exports, with their labels.
func exported(t *testing.T) map[string][]string {
	t.Helper()
	m := New(func(context.Context) (Snapshot, error) { return Snapshot{}, nil }, func() []intake.Checker { return nil })
	ch := make(chan *prometheus.Desc, 64)
	for _, c := range []prometheus.Collector{m.in, m.out, m.events, m.latency, levels{m}} {
		c.Describe(ch)
	}
	close(ch)
	out := map[string][]string{}
	for d := range ch {
		s := d.String()
		name := descName.FindStringSubmatch(s)
		if name == nil {
			t.Fatalf("cannot read a metric name from %s", s)
		}
		var labels []string
		if l := descLabels.FindStringSubmatch(s); l != nil && l[1] != "" {
			labels = strings.Split(l[1], ",")
		}
		out[name[1]] = labels
		if name[1] == "sambatd_http_request_duration_seconds" { // a histogram's series
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				out[name[1]+suffix] = labels
			}
		}
	}
	return out
}

// alertRule is one rule of deploy/sambatd-alerts.yml.
type alertRule struct{ name, expr, dur, severity, summary string }

// readAlertRules reads the rules file line by line: it is ours, one key
// per line ("- alert:", "expr:", "for:", "severity:", "summary:"), so no
// YAML library is needed (viper stays in config/).
func readAlertRules(t *testing.T, path string) []alertRule {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rules []alertRule
	for _, line := range strings.Split(string(data), "\n") {
		key, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		val = strings.TrimSpace(val)
		if uq, err := strconv.Unquote(val); err == nil {
			val = uq
		}
		if key == "- alert" {
			rules = append(rules, alertRule{name: val})
			continue
		}
		if len(rules) == 0 {
			continue
		}
		r := &rules[len(rules)-1]
		switch key {
		case "expr":
			r.expr = val
		case "for":
			r.dur = val
		case "severity":
			r.severity = val
		case "summary":
			r.summary = val
		}
	}
	return rules
}

// TestAlertRules checks deploy/sambatd-alerts.yml against the daemon:
// every sambatd metric it names is exported, with the labels it matches
// on and the labels its summaries print, and every rule is complete.
func TestAlertRules(t *testing.T) {
	rules := readAlertRules(t, "../deploy/sambatd-alerts.yml")
	metrics := exported(t)
	events := map[string]bool{twilio.MetricWebhook: true, twilio.MetricStatus: true, twilio.MetricSend: true,
		twilio.MetricReconciled: true}
	for _, r := range rules {
		name, expr, summary := r.name, r.expr, r.summary
		if name == "" || expr == "" || summary == "" || r.severity == "" {
			t.Errorf("rule %+v: needs alert, expr, labels.severity and annotations.summary", r)
			continue
		}
		if r.dur != "" {
			if _, err := time.ParseDuration(r.dur); err != nil {
				t.Errorf("%s: for %q: %v", name, r.dur, err)
			}
		}
		var have []string // labels of the sambatd metrics in expr
		for _, m := range exprMetric.FindAllStringSubmatch(expr, -1) {
			known, ok := metrics[m[1]]
			if !ok {
				t.Errorf("%s: %s is not a metric sambatd exports", name, m[1])
				continue
			}
			have = append(have, known...)
			for _, mm := range matcher.FindAllStringSubmatch(m[2], -1) {
				if !slices.Contains(known, mm[1]) {
					t.Errorf("%s: %s has no label %q (it has %v)", name, m[1], mm[1], known)
				}
				if mm[1] == "event" && !events[mm[2]] {
					t.Errorf("%s: no channel event is named %q", name, mm[2])
				}
			}
		}
		for _, ref := range labelRef.FindAllStringSubmatch(summary, -1) {
			if !slices.Contains(have, ref[1]) && ref[1] != "job" {
				t.Errorf("%s: the summary prints $labels.%s, which %q does not carry", name, ref[1], expr)
			}
		}
	}
	if len(rules) < 10 {
		t.Fatalf("read %d rules, want the whole file", len(rules))
	}
}

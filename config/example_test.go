package config

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/viper"

	"github.com/kotamalang/sambatd/intake"
)

const examplePath = "../sambatd.example.yaml"

// TestExample keeps sambatd.example.yaml honest: it loads, validates, holds
// the built-in defaults, and documents every key with whether a change is
// picked up live.
func TestExample(t *testing.T) {
	c := mustLoad(t, examplePath)
	if err := c.Validate(); err != nil {
		t.Fatalf("example does not validate: %v", err)
	}
	def := mustLoad(t, "")
	def.Simulator.Enabled = false // off whenever a file is given
	if diff := cmp.Diff(def, c); diff != "" {
		t.Errorf("example differs from the built-in default (-default +example):\n%s", diff)
	}

	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	set := exampleSettings(t, data)
	for name := range intake.DefaultTemplates {
		if !regexp.MustCompile(`(?m)^#\s+` + regexp.QuoteMeta(name) + `: "`).Match(data) {
			t.Errorf("templates.%s is not listed in the example", name)
		}
	}
	for _, key := range Keys() {
		at := findKeyLine(lines, key)
		if at < 0 {
			t.Errorf("%s is not documented in the example", key)
			continue
		}
		if !strings.Contains(key, "[]") && !strings.HasSuffix(key, ".*") && !set[key] {
			t.Errorf("%s is only in a comment of the example; set it to its default", key)
		}
		if got, ok := liveMarker(lines, at, strings.Contains(key, "[]")); !ok {
			t.Errorf("%s (line %d) has no (live) or (restart) note", key, at+1)
		} else if got != Live(key) {
			t.Errorf("%s (line %d) is marked live=%v, but Live() = %v", key, at+1, got, Live(key))
		}
	}
}

// TestExample_BuiltInTemplates: the templates the example lists as the
// built-in texts are the built-in texts, so a copied one only uses the
// fields the engine fills for it.
func TestExample_BuiltInTemplates(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	start, end := section(lines, "templates")
	if start < 0 {
		t.Fatal("no templates section in the example")
	}
	line := regexp.MustCompile(`^#\s+(\w+): (".*")$`)
	for _, l := range lines[start:end] {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		got, err := strconv.Unquote(m[2])
		if err != nil {
			t.Errorf("templates.%s: %v", m[1], err)
			continue
		}
		if want := intake.DefaultTemplates[m[1]]; got != want {
			t.Errorf("templates.%s in the example:\n got %q\nwant %q (built-in)", m[1], got, want)
		}
	}
}

// exampleSettings returns the keys the example sets (not in comments).
func exampleSettings(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, k := range v.AllKeys() {
		set[k] = true
	}
	// Empty maps and lists do not show up in AllKeys.
	for _, k := range []string{"modems", "http.opd_tokens", "templates", "kim.volunteers"} {
		set[k] = v.IsSet(k) || set[k]
	}
	return set
}

// findKeyLine returns the line that documents key ("sla.respond",
// "modems[].port", "templates.*"): the line of its last part, possibly
// commented out, inside the section of its first part; -1 if none.
func findKeyLine(lines []string, key string) int {
	parts := strings.Split(strings.NewReplacer("[]", "", ".*", "").Replace(key), ".")
	start, end := section(lines, parts[0])
	if start < 0 {
		return -1
	}
	if len(parts) == 1 {
		return start
	}
	leaf := regexp.MustCompile(`^\s*(#\s*)?(-\s+)?` + regexp.QuoteMeta(parts[len(parts)-1]) + `:`)
	for i := start + 1; i < end; i++ {
		if leaf.MatchString(lines[i]) {
			return i
		}
	}
	return -1
}

// section returns the lines of a top-level key: its own line up to the next
// top-level key.
func section(lines []string, top string) (start, end int) {
	start = -1
	for i, l := range lines {
		if start < 0 && strings.HasPrefix(l, top+":") {
			start = i
			continue
		}
		if start >= 0 && l != "" && l[0] >= 'a' && l[0] <= 'z' {
			return start, i
		}
	}
	return start, len(lines)
}

var markerRe = regexp.MustCompile(`\((live|restart)\b`)

// liveMarker finds the (live)/(restart) note of the key on line at: on the
// line itself or the comment line above it, or for list fields anywhere
// above (a note on the list covers its fields).
func liveMarker(lines []string, at int, far bool) (live, ok bool) {
	for i := at; i >= 0; i-- {
		if m := markerRe.FindStringSubmatch(lines[i]); m != nil {
			return m[1] == "live", true
		}
		if !far && i < at {
			break
		}
	}
	return false, false
}

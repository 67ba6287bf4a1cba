package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeFile writes a config file in a temp dir and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sambatd.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%q): %v", path, err)
	}
	return c
}

func TestLoad_Default(t *testing.T) {
	c := mustLoad(t, "")
	if err := c.Validate(); err != nil {
		t.Fatalf("default config does not validate: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"http.listen", c.HTTP.Listen, "127.0.0.1:8080"},
		{"store.path", c.Store.Path, "sambat.db"},
		{"store.retention", c.Store.Retention, 8760 * time.Hour},
		{"simulator.enabled", c.Simulator.Enabled, true},
		{"timezone", c.Timezone, "Asia/Jakarta"},
		{"city", c.City, "Kota Malang"},
		{"log.format", c.Log.Format, "text"},
		{"intake.unknown", c.Intake.Unknown, "menu"},
		{"intake.max_per_day", c.Intake.MaxPerDay, 5},
		{"intake.session_timeout", c.Intake.SessionTimeout, 30 * time.Minute},
		{"intake.help_per_hour", c.Intake.HelpPerHour, 3},
		{"outbound.order", strings.Join(c.Outbound.Order, ","), "modem,twilio,sim"},
		{"sla.respond", c.SLA.Respond, 3},
		{"sla.resolve", c.SLA.Resolve, 7},
		{"sla.working_days", c.SLA.WorkingDays, true},
		{"sla.remind_before", c.SLA.RemindBefore, 24 * time.Hour},
		{"sla.escalate_after", c.SLA.EscalateAfter, 48 * time.Hour},
		{"sla.quiet_hours", c.SLA.QuietHours, "21:00-06:00"},
		{"sla.holidays[0]", c.SLA.Holidays[0], "2026-01-01"},
		{"len(categories)", len(c.Categories), 9},
		{"len(opds)", len(c.OPDs), 6},
		{"len(modems)", len(c.Modems), 0},
		{"twilio configured", c.Twilio.Configured(), false},
		{"twilio.send_interval", c.Twilio.SendInterval, 100 * time.Millisecond},
		{"twilio.reconcile_lookback", c.Twilio.ReconcileLookback, 48 * time.Hour},
		{"central.url", c.Central.URL, ""},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	opds := map[string]string{}
	for _, o := range c.OPDs {
		opds[o.Code] = o.Name
	}
	for _, cat := range c.Categories {
		if opds[cat.OPD] == "" {
			t.Errorf("category %s routes to unknown department %q", cat.Code, cat.OPD)
		}
	}
	if got := opds["DLH"]; got != "Dinas Lingkungan Hidup" {
		t.Errorf("DLH name = %q", got)
	}
}

func TestLoad_FileOverrides(t *testing.T) {
	path := writeFile(t, `
http:
  listen: 127.0.0.1:9999
intake:
  max_per_day: 2
  blocklist: ["0812-1111-2222"]
outbound:
  order: [twilio]
opds:
  - code: DLH
    name: Dinas Lingkungan Hidup
    humas: ["+6281234567890"]
categories:
  - {code: LAINNYA, name: Lainnya, opd: DLH}
modems:
  - name: m1
    port: /dev/ttyUSB0
templates:
  Ack: "Tiket {{.Ticket}}"
`)
	c := mustLoad(t, path)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.HTTP.Listen != "127.0.0.1:9999" || c.Intake.MaxPerDay != 2 {
		t.Errorf("file not applied: listen %q max_per_day %d", c.HTTP.Listen, c.Intake.MaxPerDay)
	}
	if c.Intake.HelpPerHour != 3 || c.Store.Path != "sambat.db" {
		t.Errorf("defaults lost: help_per_hour %d store.path %q", c.Intake.HelpPerHour, c.Store.Path)
	}
	if diff := cmp.Diff([]string{"twilio"}, c.Outbound.Order); diff != "" {
		t.Errorf("outbound.order (-want +got):\n%s", diff)
	}
	if len(c.Categories) != 1 || len(c.OPDs) != 1 {
		t.Errorf("lists must be replaced whole: %d categories, %d opds", len(c.Categories), len(c.OPDs))
	}
	want := Modem{Name: "m1", Port: "/dev/ttyUSB0", Baud: DefaultBaud, SendInterval: DefaultSendInterval,
		MultipartTimeout: DefaultMultipartTimeout, BalanceMin: DefaultBalanceMin}
	if diff := cmp.Diff([]Modem{want}, c.Modems); diff != "" {
		t.Errorf("modems (-want +got):\n%s", diff)
	}
	if c.Templates["ack"] != "Tiket {{.Ticket}}" {
		t.Errorf("templates = %v", c.Templates)
	}
}

func TestLoad_Simulator(t *testing.T) {
	tests := []struct {
		name, file string
		want       bool
	}{
		{"NoFile", "", true},
		{"FileWithout", "log:\n  level: debug\n", false},
		{"EmptyFile", "", false},
		{"FileOn", "simulator:\n  enabled: true\n", true},
		{"FileOff", "simulator:\n  enabled: false\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.name != "NoFile" {
				path = writeFile(t, tc.file)
			}
			if got := mustLoad(t, path).Simulator.Enabled; got != tc.want {
				t.Errorf("simulator.enabled = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLoad_Env(t *testing.T) {
	for _, withFile := range []bool{false, true} {
		name := "NoFile"
		if withFile {
			name = "WithFile"
		}
		t.Run(name, func(t *testing.T) {
			t.Setenv("SAMBAT_HTTP_LISTEN", "127.0.0.1:9000")
			t.Setenv("SAMBAT_INTAKE_MAX_PER_DAY", "9")
			t.Setenv("SAMBAT_TWILIO_AUTH_TOKEN", "tok-from-env")
			t.Setenv("SAMBAT_OUTBOUND_ORDER", "twilio, modem")
			t.Setenv("SAMBAT_SLA_REMIND_BEFORE", "12h")
			t.Setenv("SAMBAT_SIMULATOR_ENABLED", "true")
			t.Setenv("SAMBAT_HTTP_OPD_TOKENS_DLH", "dlh-token")
			t.Setenv("SAMBAT_TEMPLATES_ACK", "Tiket {{.Ticket}}")
			path := ""
			if withFile {
				path = writeFile(t, "http:\n  listen: 127.0.0.1:7000\nintake:\n  max_per_day: 4\n")
			}
			c := mustLoad(t, path)
			if c.HTTP.Listen != "127.0.0.1:9000" {
				t.Errorf("http.listen = %q, want the env's", c.HTTP.Listen)
			}
			if c.Intake.MaxPerDay != 9 {
				t.Errorf("intake.max_per_day = %d, want 9", c.Intake.MaxPerDay)
			}
			if c.Twilio.AuthToken != "tok-from-env" {
				t.Errorf("twilio.auth_token = %q", c.Twilio.AuthToken)
			}
			if diff := cmp.Diff([]string{"twilio", "modem"}, c.Outbound.Order); diff != "" {
				t.Errorf("outbound.order (-want +got):\n%s", diff)
			}
			if c.SLA.RemindBefore != 12*time.Hour || !c.Simulator.Enabled {
				t.Errorf("remind_before %s simulator %v", c.SLA.RemindBefore, c.Simulator.Enabled)
			}
			if c.HTTP.OPDTokens["dlh-token"] != "DLH" {
				t.Errorf("opd tokens = %v", c.HTTP.OPDTokens)
			}
			if c.Templates["ack"] != "Tiket {{.Ticket}}" {
				t.Errorf("templates = %v", c.Templates)
			}
		})
	}
}

func TestLoad_EnvEveryScalarKey(t *testing.T) {
	// A key without a default must be overridable too.
	t.Setenv("SAMBAT_CENTRAL_JURISDICTION_ID", "malangkota.go.id")
	t.Setenv("SAMBAT_TICKET_PREFIX", "7")
	c := mustLoad(t, writeFile(t, "log:\n  level: warn\n"))
	if c.Central.JurisdictionID != "malangkota.go.id" || c.Ticket.Prefix != "7" {
		t.Errorf("jurisdiction %q prefix %q", c.Central.JurisdictionID, c.Ticket.Prefix)
	}
}

func TestLoad_SecretFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "token")
	if err := os.WriteFile(secret, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("FromFile", func(t *testing.T) {
		path := writeFile(t, "twilio:\n  auth_token_file: "+secret+"\ncentral:\n  api_key_file: "+secret+"\n")
		c := mustLoad(t, path)
		if c.Twilio.AuthToken != "s3cret" || c.Central.APIKey != "s3cret" {
			t.Errorf("auth_token %q api_key %q, want s3cret", c.Twilio.AuthToken, c.Central.APIKey)
		}
	})
	t.Run("FromEnvFile", func(t *testing.T) {
		t.Setenv("SAMBAT_HTTP_ADMIN_TOKEN_FILE", secret)
		if got := mustLoad(t, "").HTTP.AdminToken; got != "s3cret" {
			t.Errorf("admin_token = %q", got)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		path := writeFile(t, "ussd:\n  secret_file: "+filepath.Join(dir, "nope")+"\n")
		wantProblem(t, loadErr(t, path), "ussd.secret_file", "no such file")
	})
	t.Run("Endless", func(t *testing.T) {
		path := writeFile(t, "central:\n  inbound_api_key_file: /dev/zero\n")
		wantProblem(t, loadErr(t, path), "central.inbound_api_key_file", "larger than")
	})
	t.Run("Both", func(t *testing.T) {
		path := writeFile(t, "twilio:\n  auth_token: x\n  auth_token_file: "+secret+"\n")
		wantProblem(t, loadErr(t, path), "twilio.auth_token_file", "keep one")
	})
}

func loadErr(t *testing.T, path string) error {
	t.Helper()
	_, err := Load(path)
	if err == nil {
		t.Fatalf("Load(%q) succeeded, want an error", path)
	}
	return err
}

// wantProblem checks that err holds a Problem for key whose message
// contains msg.
func wantProblem(t *testing.T, err error, key, msg string) {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v is not Problems", err)
	}
	for _, p := range ps {
		if p.Key == key && strings.Contains(p.Msg, msg) {
			return
		}
	}
	t.Errorf("no problem %s: %q in %q", key, msg, ps.Lines())
}

func TestLoad_UnknownKey(t *testing.T) {
	path := writeFile(t, `
intake:
  max_per_dya: 9
timezon: Asia/Jakarta
categories:
  - {code: LAINNYA, name: Lainnya, opd: TRIASE, word: [x]}
`)
	err := loadErr(t, path)
	for _, key := range []string{"intake.max_per_dya", "timezon", "categories[0].word"} {
		wantProblem(t, err, key, "unknown key")
	}
}

func TestLoad_BadValues(t *testing.T) {
	tests := []struct{ name, file, key, want string }{
		{"DurationWithoutUnit", "intake:\n  session_timeout: 30\n", "intake.session_timeout", "with a unit"},
		{"BadDuration", "sla:\n  remind_before: soon\n", "sla.remind_before", "duration"},
		{"NotANumber", "intake:\n  max_per_day: many\n", "intake.max_per_day", "parse"},
		{"ListForString", "categories:\n  - code: [a]\n", "categories[0].code", "expected type"},
		{"SectionIsScalar", "intake: 5\n", "intake", "want a mapping"},
		{"MapIsList", "templates: [a]\n", "templates", "want a mapping"},
		{"ItemIsScalar", "opds:\n  - 7\n", "opds[0]", "want a mapping"},
		{"BadYAML", "intake: [\n", "", "parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := loadErr(t, writeFile(t, tc.file))
			if tc.key != "" {
				wantProblem(t, err, tc.key, tc.want)
			} else if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestLoad_MissingFile(t *testing.T) {
	err := loadErr(t, filepath.Join(t.TempDir(), "none.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want ErrNotExist", err)
	}
}

func TestKeys(t *testing.T) {
	keys := Keys()
	for _, k := range []string{"twilio.auth_token_file", "modems[].balance_min", "kim.volunteers[].phone", "templates.*", "sla.quiet_hours"} {
		if !slices.Contains(keys, k) {
			t.Errorf("Keys() lacks %s", k)
		}
	}
	if EnvName("intake.max_per_day") != "SAMBAT_INTAKE_MAX_PER_DAY" {
		t.Errorf("EnvName = %s", EnvName("intake.max_per_day"))
	}
}

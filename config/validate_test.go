package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(c *Config)
		key    string
		substr string
	}{
		{"PublicListenWithoutToken", func(c *Config) { c.HTTP.Listen = "0.0.0.0:8080" },
			"http.listen", `"0.0.0.0:8080" is not loopback and http.admin_token is empty`},
		{"AllInterfacesWithoutToken", func(c *Config) { c.HTTP.Listen = ":8080" },
			"http.listen", "not loopback"},
		{"BadListen", func(c *Config) { c.HTTP.Listen = "8080" }, "http.listen", "want host:port"},
		{"UnknownCategoryOPD", func(c *Config) { c.Categories[3].OPD = "DLHH" },
			"categories[3].opd", `unknown department "DLHH"`},
		{"BadQuietHours", func(c *Config) { c.SLA.QuietHours = "21-06" },
			"sla.quiet_hours", "want HH:MM-HH:MM"},
		{"QuietHoursOutOfRange", func(c *Config) { c.SLA.QuietHours = "25:00-06:00" },
			"sla.quiet_hours", "want HH:MM-HH:MM"},
		{"BadTimezone", func(c *Config) { c.Timezone = "Asia/Jakrta" },
			"timezone", `unknown time zone "Asia/Jakrta"`},
		{"BadUnknown", func(c *Config) { c.Intake.Unknown = "ignore" },
			"intake.unknown", "want menu, help or complaint"},
		{"VolunteerPhone", func(c *Config) {
			c.KIM.Volunteers = []Volunteer{{Phone: "bu sri", Name: "Sri"}}
		}, "kim.volunteers[0].phone", "not a phone number"},
		{"VolunteerDuplicate", func(c *Config) {
			c.KIM.Volunteers = []Volunteer{{Phone: "081234567890", Name: "A"}, {Phone: "+6281234567890", Name: "B"}}
		}, "kim.volunteers[1].phone", "duplicate"},
		{"DuplicateCategory", func(c *Config) { c.Categories[1].Code = "JALAN" },
			"categories[1].code", "duplicate"},
		{"AliasClash", func(c *Config) { c.Categories[1].Aliases = []string{"jln"} },
			"categories[1].aliases[0]", "already names category JALAN"},
		{"NoFallback", func(c *Config) { c.Categories = c.Categories[:3] }, "categories", "LAINNYA"},
		{"DuplicateModem", func(c *Config) {
			c.Modems = []Modem{{Name: "m1", Port: "sim", Baud: 1, MultipartTimeout: time.Hour},
				{Name: "m1", Port: "sim", Baud: 1, MultipartTimeout: time.Hour}}
		}, "modems[1].name", "duplicate"},
		{"ModemPort", func(c *Config) { c.Modems = []Modem{{Name: "m1", Baud: 1, MultipartTimeout: time.Hour}} },
			"modems[0].port", "required"},
		{"ModemUSSD", func(c *Config) {
			c.Modems = []Modem{{Name: "m1", Port: "sim", Baud: 1, MultipartTimeout: time.Hour, BalanceUSSD: "888"}}
		}, "modems[0].balance_ussd", "USSD code"},
		{"TwilioPartial", func(c *Config) { c.Twilio.AccountSID = "AC123" },
			"twilio.auth_token", "required when twilio.account_sid is set"},
		{"TwilioTokenSpace", func(c *Config) { c.Twilio.AccountSID = "AC123"; c.Twilio.AuthToken = "abc 123" },
			"twilio.auth_token", "letters and digits"},
		{"TwilioNoSender", func(c *Config) { c.Twilio.AccountSID = "AC123" }, "twilio.from", "messaging_service_sid"},
		{"TwilioSendInterval", func(c *Config) { c.Twilio.SendInterval = -time.Millisecond },
			"twilio.send_interval", "must not be negative"},
		{"TwilioWebhook", func(c *Config) { c.Twilio.AccountSID = "AC1"; c.Twilio.WebhookURL = "/twilio" },
			"twilio.webhook_url", "absolute"},
		{"TwilioLookbackShort", func(c *Config) { c.Twilio.AccountSID = "AC1"; c.Twilio.ReconcileLookback = time.Minute },
			"twilio.reconcile_lookback", "at least twilio.reconcile_interval"},
		{"TwilioLookbackPastRetention", func(c *Config) {
			c.Twilio.AccountSID = "AC1"
			c.Store.Retention, c.Twilio.ReconcileLookback = 72*time.Hour, 60*time.Hour
		}, "twilio.reconcile_lookback", "shorter than store.retention"},
		{"BadTemplate", func(c *Config) { c.Templates = map[string]string{"ack": "Tiket {{.Ticket"} },
			"templates.ack", "unclosed"},
		{"UnknownTemplateName", func(c *Config) { c.Templates = map[string]string{"ackk": "x"} },
			"templates.ackk", "unknown reply name"},
		{"TemplateField", func(c *Config) { c.Templates = map[string]string{"ack": "Tiket {{.Nomor}}"} },
			"templates.ack", "Nomor"},
		{"EmptyTemplate", func(c *Config) { c.Templates = map[string]string{"ack": " "} }, "templates.ack", "empty"},
		{"NegativeMaxPerDay", func(c *Config) { c.Intake.MaxPerDay = -1 }, "intake.max_per_day", "negative"},
		{"NegativeHelp", func(c *Config) { c.Intake.HelpPerHour = -2 }, "intake.help_per_hour", "negative"},
		{"ZeroSession", func(c *Config) { c.Intake.SessionTimeout = 0 }, "intake.session_timeout", "positive"},
		{"Holiday", func(c *Config) { c.SLA.Holidays = []string{"2026-01-01", "17/08/2026"} },
			"sla.holidays[1]", "want YYYY-MM-DD"},
		{"ResolveBeforeRespond", func(c *Config) { c.SLA.Resolve = 2 }, "sla.resolve", "shorter"},
		{"Retention", func(c *Config) { c.Store.Retention = -time.Hour }, "store.retention", "positive"},
		{"LogFormat", func(c *Config) { c.Log.Format = "xml" }, "log.format", "text or json"},
		{"Prefix", func(c *Config) { c.Ticket.Prefix = "A1" }, "ticket.prefix", "digits"},
		{"OutboundChannel", func(c *Config) { c.Outbound.Order = []string{"modem", "pigeon"} },
			"outbound.order[1]", "pigeon"},
		{"Blocklist", func(c *Config) { c.Intake.Blocklist = []string{"TELKOMSEL"} },
			"intake.blocklist[0]", "not a phone number"},
		{"Humas", func(c *Config) { c.OPDs[1].Humas = []string{"12"} }, "opds[1].humas[0]", "not a phone number"},
		{"Monitor", func(c *Config) { c.Monitors = []string{"x"} }, "monitors[0]", "not a phone number"},
		{"DuplicateOPD", func(c *Config) { c.OPDs[1].Code = "DPUPRPKP" }, "opds[1].code", "duplicate"},
		{"OPDToken", func(c *Config) {
			c.HTTP.TokensByOPD = map[string][]string{"NOPE": {"t1"}}
			c.indexTokens()
		}, "http.opd_tokens.NOPE", "unknown department"},
		{"OPDTokenShared", func(c *Config) {
			c.HTTP.TokensByOPD = map[string][]string{"DLH": {"t1"}, "DISHUB": {"t1"}}
		}, "http.opd_tokens.DLH", "also given to DISHUB"},
		{"USSDNoSecret", func(c *Config) { c.USSD.Enabled = true }, "ussd.secret", "required"},
		{"USSDAllow", func(c *Config) { c.USSD.Allow = []string{"10.0.0.0/33"} }, "ussd.allow[0]", "CIDR"},
		{"CentralKey", func(c *Config) { c.Central.URL = "https://sambat.example/open311/v2" },
			"central.api_key", "required"},
		{"CentralURL", func(c *Config) { c.Central.URL = "sambat.example"; c.Central.APIKey = "k" },
			"central.url", "absolute"},
		{"ServiceCode", func(c *Config) {
			c.Central.URL = "https://x.example"
			c.Central.APIKey = "k"
			c.Categories[0].ServiceCode = ""
		}, "categories[0].service_code", "required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, "")
			tc.edit(c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want a problem with %s", tc.key)
			}
			wantProblem(t, err, tc.key, tc.substr)
		})
	}
}

func TestValidate_EveryProblem(t *testing.T) {
	c := mustLoad(t, "")
	c.Timezone = "Mars/Olympus"
	c.Intake.Unknown = ""
	c.SLA.QuietHours = "late"
	err := c.Validate()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Validate() = %v, want Problems", err)
	}
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Key)
	}
	if diff := cmp.Diff([]string{"timezone", "intake.unknown", "sla.quiet_hours"}, keys); diff != "" {
		t.Errorf("problem keys (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), "; ") || len(ps.Lines()) != 3 {
		t.Errorf("Error() = %q", err)
	}
}

func TestValidate_PublicListenWithToken(t *testing.T) {
	c := mustLoad(t, "")
	c.HTTP.Listen = "0.0.0.0:8080"
	c.HTTP.AdminToken = "a-long-admin-token"
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}

func TestSettings(t *testing.T) {
	c := mustLoad(t, "")
	c.Intake.Blocklist = []string{"0812-1111-2222"}
	c.OPDs[1].Humas = []string{"62 812 3333 4444"}
	c.KIM.Volunteers = []Volunteer{{Phone: "081255556666", Name: "Sri", Kelurahan: "Oro-oro Dowo"}}
	c.Templates = map[string]string{"ack": "x {{upper .Ticket}}"}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	s, err := c.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if s.Location.String() != "Asia/Jakarta" || s.City != "Kota Malang" || s.RepeatWindow != 10*time.Minute {
		t.Errorf("location %v city %q repeat %s", s.Location, s.City, s.RepeatWindow)
	}
	h := s.SLA.Holidays[0]
	if want := time.Date(2026, 1, 1, 0, 0, 0, 0, s.Location); !h.Equal(want) || h.Location() != s.Location {
		t.Errorf("holiday[0] = %v, want %v", h, want)
	}
	if s.SLA.QuietStart != 21*time.Hour || s.SLA.QuietEnd != 6*time.Hour {
		t.Errorf("quiet %s-%s", s.SLA.QuietStart, s.SLA.QuietEnd)
	}
	if diff := cmp.Diff([]string{"+6281211112222"}, s.Blocklist); diff != "" {
		t.Errorf("blocklist (-want +got):\n%s", diff)
	}
	if s.OPDs[1].Humas[0] != "+6281233334444" || s.Volunteers[0].Phone != "+6281255556666" {
		t.Errorf("humas %v volunteer %q", s.OPDs[1].Humas, s.Volunteers[0].Phone)
	}
	if len(s.Categories) != 9 || s.Categories[0].OPD != "DPUPRPKP" || s.Unknown != "menu" || s.MaxPerDay != 5 {
		t.Errorf("categories/intake not copied: %+v", s.Categories[0])
	}
	c.Templates["ack"] = "changed"
	if s.Templates["ack"] != "x {{upper .Ticket}}" {
		t.Error("Settings shares the templates map with the Config")
	}
}

func TestSettings_NoQuietHours(t *testing.T) {
	c := mustLoad(t, "")
	c.SLA.QuietHours = ""
	s, err := c.Settings()
	if err != nil || s.SLA.QuietStart != s.SLA.QuietEnd {
		t.Errorf("Settings() = %v, quiet %s-%s", err, s.SLA.QuietStart, s.SLA.QuietEnd)
	}
	c.Monitors = []string{"nope"}
	if _, err := c.Settings(); err == nil {
		t.Error("Settings() with a bad monitor phone succeeded")
	}
}

func TestRestartKeys(t *testing.T) {
	prev := mustLoad(t, "")
	next := mustLoad(t, "")
	next.HTTP.Listen = "127.0.0.1:9000"
	next.Twilio.AuthToken = "x"
	next.Modems = []Modem{{Name: "m1"}}
	next.SLA.Respond = 2
	next.Categories[0].Name = "Jalan Rusak"
	next.Templates = map[string]string{"ack": "x"}
	next.Ticket.Prefix = "1"
	want := []string{"http.listen", "modems", "ticket.prefix", "twilio.auth_token"}
	if diff := cmp.Diff(want, RestartKeys(prev, next)); diff != "" {
		t.Errorf("RestartKeys (-want +got):\n%s", diff)
	}
	changed := ChangedKeys(prev, next)
	if len(changed) != 7 {
		t.Errorf("ChangedKeys = %v, want 7 keys", changed)
	}
	if got := RestartKeys(prev, mustLoad(t, "")); len(got) != 0 {
		t.Errorf("RestartKeys of equal configs = %v", got)
	}
	for key, live := range map[string]bool{"sla.respond": true, "categories": true, "kim.volunteers": true,
		"templates.ack": true, "http.listen": false, "modems": false, "log.level": false,
		"http.admin_token": true, "http.opd_tokens": true, "store.retention": true, "store.path": false} {
		if Live(key) != live {
			t.Errorf("Live(%q) = %v, want %v", key, !live, live)
		}
	}
}

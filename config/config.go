// Package config loads sambatd's configuration: the embedded Malang default,
// overridden by a YAML file and by SAMBAT_* environment variables, decoded
// into plain structs, checked by Validate and turned into intake.Settings.
// It is the only package that imports viper.
package config

import (
	_ "embed"
	"time"

	// The daemon must know Asia/Jakarta even on a box without tzdata.
	_ "time/tzdata"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration (the built-in
// Malang setup), for `sambatd check-config -default` and documentation.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// EnvPrefix starts every environment variable that overrides a key:
// SAMBAT_ + the key upper-cased with dots turned into underscores.
const EnvPrefix = "SAMBAT"

// Config is the whole configuration as plain values. Field tags name the
// YAML keys; see sambatd.example.yaml for what each one means.
type Config struct {
	Timezone   string     `mapstructure:"timezone"`
	City       string     `mapstructure:"city"`
	Store      Store      `mapstructure:"store"`
	HTTP       HTTP       `mapstructure:"http"`
	Log        Log        `mapstructure:"log"`
	Ticket     Ticket     `mapstructure:"ticket"`
	Modems     []Modem    `mapstructure:"modems"`
	Twilio     Twilio     `mapstructure:"twilio"`
	USSD       USSD       `mapstructure:"ussd"`
	Simulator  Simulator  `mapstructure:"simulator"`
	Outbound   Outbound   `mapstructure:"outbound"`
	Intake     Intake     `mapstructure:"intake"`
	Categories []Category `mapstructure:"categories"`
	OPDs       []OPD      `mapstructure:"opds"`
	Monitors   []string   `mapstructure:"monitors"`
	Admins     []string   `mapstructure:"admins"`
	KIM        KIM        `mapstructure:"kim"`
	SLA        SLA        `mapstructure:"sla"`
	// Templates override intake.DefaultTemplates, by name (lower case:
	// viper folds keys).
	Templates map[string]string `mapstructure:"templates"`
	Central   Central           `mapstructure:"central"`
}

// Store is the SQLite database.
type Store struct {
	Path string `mapstructure:"path"`
	// Retention is how long phone numbers of closed tickets are kept.
	Retention time.Duration `mapstructure:"retention"`
}

// HTTP is the listener and its tokens.
type HTTP struct {
	Listen         string `mapstructure:"listen"`
	AdminToken     string `mapstructure:"admin_token"`
	AdminTokenFile string `mapstructure:"admin_token_file"`
	// TokensByOPD is the file's form of http.opd_tokens: department code →
	// its tokens. Keys are upper-cased by Load.
	TokensByOPD map[string][]string `mapstructure:"opd_tokens"`
	// OPDTokens maps each department token to its department code; Load
	// fills it from TokensByOPD.
	OPDTokens map[string]string `mapstructure:"-"`
}

// Log is the log output.
type Log struct {
	Format string `mapstructure:"format"` // text or json
	Level  string `mapstructure:"level"`  // debug, info, warn, error
}

// Ticket is the ticket numbering.
type Ticket struct {
	Prefix string `mapstructure:"prefix"` // digits before the sequence
}

// Modem is one GSM modem.
type Modem struct {
	Name             string        `mapstructure:"name"`
	Port             string        `mapstructure:"port"` // "sim" for the simulated modem
	Baud             int           `mapstructure:"baud"`
	PIN              string        `mapstructure:"pin"`
	SendInterval     time.Duration `mapstructure:"send_interval"`
	MultipartTimeout time.Duration `mapstructure:"multipart_timeout"`
	BalanceUSSD      string        `mapstructure:"balance_ussd"`
	BalanceMin       int           `mapstructure:"balance_min"` // rupiah; below it the admins are told
}

// Twilio is the Twilio account (WhatsApp and SMS).
type Twilio struct {
	AccountSID          string        `mapstructure:"account_sid"`
	AuthToken           string        `mapstructure:"auth_token"`
	AuthTokenFile       string        `mapstructure:"auth_token_file"`
	From                string        `mapstructure:"from"`
	MessagingServiceSID string        `mapstructure:"messaging_service_sid"`
	WebhookURL          string        `mapstructure:"webhook_url"`
	StatusCallbackURL   string        `mapstructure:"status_callback_url"`
	APIURL              string        `mapstructure:"api_url"`
	ReconcileInterval   time.Duration `mapstructure:"reconcile_interval"`
	// ReconcileLookback is how far back reconciliation lists messages.
	ReconcileLookback time.Duration `mapstructure:"reconcile_lookback"`
	// SendInterval is the pause between two sends; 0: none (Twilio
	// queues what exceeds a sender's rate itself).
	SendInterval time.Duration `mapstructure:"send_interval"`
}

// Configured reports whether any Twilio account key is set.
func (t Twilio) Configured() bool {
	return t.AccountSID != "" || t.AuthToken != "" || t.From != "" ||
		t.MessagingServiceSID != "" || t.WebhookURL != ""
}

// USSD is the USSD gateway endpoint.
type USSD struct {
	Enabled    bool     `mapstructure:"enabled"`
	Path       string   `mapstructure:"path"`
	Secret     string   `mapstructure:"secret"`
	SecretFile string   `mapstructure:"secret_file"`
	Allow      []string `mapstructure:"allow"` // IPs or CIDRs allowed to call
}

// Simulator is the in-process demo phone.
type Simulator struct {
	Enabled bool `mapstructure:"enabled"`
}

// Outbound is how notifications pick a channel.
type Outbound struct {
	Order []string `mapstructure:"order"` // channel groups: modem, twilio, sim
}

// Intake holds the limits of the message intake.
type Intake struct {
	Unknown        string        `mapstructure:"unknown"` // menu, help or complaint
	MaxPerDay      int           `mapstructure:"max_per_day"`
	SessionTimeout time.Duration `mapstructure:"session_timeout"`
	HelpPerHour    int           `mapstructure:"help_per_hour"`
	Blocklist      []string      `mapstructure:"blocklist"`
	SMSPrice       string        `mapstructure:"sms_price"` // told in the help text
}

// Category is a complaint category.
type Category struct {
	Code        string   `mapstructure:"code"`
	Name        string   `mapstructure:"name"`
	Aliases     []string `mapstructure:"aliases"`
	Words       []string `mapstructure:"words"`
	OPD         string   `mapstructure:"opd"`
	ServiceCode string   `mapstructure:"service_code"`
}

// OPD is a city department.
type OPD struct {
	Code  string   `mapstructure:"code"`
	Name  string   `mapstructure:"name"`
	Humas []string `mapstructure:"humas"`
}

// KIM lists the registered volunteers.
type KIM struct {
	Volunteers []Volunteer `mapstructure:"volunteers"`
}

// Volunteer is one KIM volunteer.
type Volunteer struct {
	Phone     string `mapstructure:"phone"`
	Name      string `mapstructure:"name"`
	Kelurahan string `mapstructure:"kelurahan"`
}

// SLA holds the deadline rules.
type SLA struct {
	Respond       int           `mapstructure:"respond"` // working days
	Resolve       int           `mapstructure:"resolve"`
	WorkingDays   bool          `mapstructure:"working_days"`
	Holidays      []string      `mapstructure:"holidays"` // YYYY-MM-DD
	RemindBefore  time.Duration `mapstructure:"remind_before"`
	EscalateAfter time.Duration `mapstructure:"escalate_after"`
	QuietHours    string        `mapstructure:"quiet_hours"` // "21:00-06:00", "" for none
}

// Central is the central complaint store (Open311 GeoReport v2).
type Central struct {
	URL               string        `mapstructure:"url"`
	APIKey            string        `mapstructure:"api_key"`
	APIKeyFile        string        `mapstructure:"api_key_file"`
	JurisdictionID    string        `mapstructure:"jurisdiction_id"`
	PollInterval      time.Duration `mapstructure:"poll_interval"`
	Updates           bool          `mapstructure:"updates"`
	InboundAPIKey     string        `mapstructure:"inbound_api_key"`
	InboundAPIKeyFile string        `mapstructure:"inbound_api_key_file"`
}

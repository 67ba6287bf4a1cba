// Package twilio is the Twilio channel of sambatd: the signed SMS/WhatsApp
// webhook, the delivery status callback, the REST sender used by the outbox,
// and the reconciliation loop that takes in inbound messages the webhook
// never delivered. twilio-go is used here and nowhere else.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/kotamalang/sambatd/intake"
)

// Interface checks.
var (
	_ intake.Sender  = (*Twilio)(nil)
	_ intake.Checker = (*Twilio)(nil)
)

// Defaults used when the Config leaves a field empty.
const (
	DefaultWebhookPath       = "/twilio/sms"
	DefaultStatusPath        = "/twilio/status"
	DefaultAPIURL            = "https://api.twilio.com"
	DefaultReconcileInterval = 5 * time.Minute
	DefaultLookback          = 48 * time.Hour
	defaultAPITimeout        = 10 * time.Second
	whatsappPrefix           = "whatsapp:"
	downFailures             = 3                // REST failures in a row that make the channel unhealthy
	coolDown                 = 30 * time.Second // then it is tried again
)

// Config is the twilio.* part of the daemon's config.
type Config struct {
	AccountSID          string
	AuthToken           string
	From                string // our number, "+1415…" (a "whatsapp:" prefix is tolerated)
	MessagingServiceSID string
	// WebhookURL is the public URL Twilio calls; signatures are checked
	// against it and its path is where the daemon listens.
	WebhookURL string
	// StatusCallbackURL defaults to WebhookURL's scheme and host with
	// DefaultStatusPath.
	StatusCallbackURL string
	// APIURL defaults to DefaultAPIURL; point it at a Twilio double in tests.
	APIURL            string
	ReconcileInterval time.Duration
	Lookback          time.Duration // how far back reconciliation lists messages
	// SendInterval is the pause between the answer to one send and the
	// next request; 0: none, Twilio queues what exceeds a sender's rate.
	SendInterval time.Duration
}

// Deps are the parts the channel is wired to.
type Deps struct {
	Handler    intake.Handler
	Deliveries intake.DeliveryRecorder // nil: status callbacks are only logged
	Clock      intake.Clock            // nil: intake.SystemClock
	Logger     *slog.Logger            // nil: discard
	// HTTPClient is optional: its Transport and Timeout are used for REST calls.
	HTTPClient *http.Client
	// Metrics, when set, is called with a counter name and its label values;
	// see the Metric* constants.
	Metrics func(name string, v ...string)
}

// Counter names passed to Deps.Metrics, with the label value that follows.
const (
	// MetricWebhook counts webhook requests by result: ok, duplicate,
	// forbidden, malformed, too_large, method, error.
	MetricWebhook = "twilio_webhook"
	// MetricStatus counts status callbacks by result (same values, plus ignored).
	MetricStatus = "twilio_status"
	// MetricSend counts sends by result: sent, retry, failed, opted_out, down.
	MetricSend = "twilio_send"
	// MetricReconciled counts messages taken in by reconciliation (no label).
	MetricReconciled = "twilio_reconciled"
)

// Twilio is the Twilio channel. Its methods are safe for concurrent use.
type Twilio struct {
	cfg         Config
	handler     intake.Handler
	deliveries  intake.DeliveryRecorder
	clock       intake.Clock
	logger      *slog.Logger
	metrics     func(string, ...string)
	validator   client.RequestValidator
	base        http.RoundTripper
	target      *apiTarget // nil: talk to Twilio's own API unchanged
	apiBase     string     // scheme://host of the API, for media URLs
	timeout     time.Duration
	webhookPath string
	statusURL   string
	statusPath  string
	seen        *seenSet
	rejectLog   *intake.LogLimiter

	// sendLock is the mutex of paced sends (SendInterval > 0), a channel
	// so that a caller waiting for it can leave when its ctx ends.
	sendLock chan struct{}
	nextSend time.Time // guarded by sendLock

	mu     sync.Mutex
	state  healthState
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type healthState struct {
	webhooks, rejected, reconciled int64
	lastReconcile                  time.Time
	apiError                       string
	apiErrorAt                     time.Time
	apiFailures                    int
	authFailed                     bool
}

var credential = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// New checks cfg and builds the channel. It starts nothing: see Start.
func New(cfg Config, d Deps) (*Twilio, error) {
	if err := checkConfig(&cfg); err != nil {
		return nil, fmt.Errorf("twilio config: %w", err)
	}
	if d.Handler == nil {
		return nil, errors.New("twilio deps: no handler")
	}
	t := &Twilio{
		cfg: cfg, handler: d.Handler, deliveries: d.Deliveries, clock: d.Clock,
		metrics:   d.Metrics,
		validator: client.NewRequestValidator(cfg.AuthToken),
		base:      http.DefaultTransport,
		timeout:   defaultAPITimeout,
		seen:      newSeenSet(),
		rejectLog: intake.NewLogLimiter(time.Second),
		sendLock:  make(chan struct{}, 1),
	}
	if t.clock == nil {
		t.clock = intake.SystemClock{}
	}
	logger := d.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t.logger = logger.With("component", "twilio")
	if d.HTTPClient != nil {
		if d.HTTPClient.Transport != nil {
			t.base = d.HTTPClient.Transport
		}
		if d.HTTPClient.Timeout > 0 {
			t.timeout = d.HTTPClient.Timeout
		}
	}
	if err := t.setURLs(); err != nil {
		return nil, fmt.Errorf("twilio config: %w", err)
	}
	if cfg.WebhookURL == "" {
		t.logger.Warn("twilio.webhook_url not set: signatures are checked against the URL the request names")
	}
	return t, nil
}

func checkConfig(cfg *Config) error {
	if !credential.MatchString(cfg.AccountSID) {
		return errors.New("account_sid: missing or not alphanumeric")
	}
	if !credential.MatchString(cfg.AuthToken) {
		return errors.New("auth_token: missing or not alphanumeric")
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		return errors.New("from or messaging_service_sid: one is required")
	}
	if cfg.SendInterval < 0 {
		return errors.New("send_interval: must not be negative")
	}
	if cfg.ReconcileInterval <= 0 {
		cfg.ReconcileInterval = DefaultReconcileInterval
	}
	if cfg.Lookback <= 0 {
		cfg.Lookback = DefaultLookback
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	return nil
}

// setURLs derives the listening paths, the status callback URL and the API
// target from the config.
func (t *Twilio) setURLs() error {
	t.webhookPath = DefaultWebhookPath
	if t.cfg.WebhookURL != "" {
		u, err := absURL(t.cfg.WebhookURL)
		if err != nil {
			return fmt.Errorf("webhook_url: %w", err)
		}
		if u.Path != "" && u.Path != "/" {
			t.webhookPath = u.Path
		}
		if t.cfg.StatusCallbackURL == "" {
			t.cfg.StatusCallbackURL = u.Scheme + "://" + u.Host + DefaultStatusPath
		}
	}
	t.statusPath = DefaultStatusPath
	if t.cfg.StatusCallbackURL != "" {
		u, err := absURL(t.cfg.StatusCallbackURL)
		if err != nil {
			return fmt.Errorf("status_callback_url: %w", err)
		}
		if u.Path != "" && u.Path != "/" {
			t.statusPath = u.Path
		}
		t.statusURL = t.cfg.StatusCallbackURL
	}
	api, err := absURL(t.cfg.APIURL)
	if err != nil {
		return fmt.Errorf("api_url: %w", err)
	}
	t.apiBase = api.Scheme + "://" + api.Host
	if strings.TrimRight(t.cfg.APIURL, "/") != DefaultAPIURL {
		t.target = &apiTarget{scheme: api.Scheme, host: api.Host, prefix: strings.TrimRight(api.Path, "/")}
		t.apiBase += t.target.prefix
	}
	return nil
}

func absURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return u, nil
}

// WebhookPath returns the path of the inbound webhook ("/twilio/sms" by default).
func (t *Twilio) WebhookPath() string { return t.webhookPath }

// StatusPath returns the path of the status callback ("/twilio/status" by default).
func (t *Twilio) StatusPath() string { return t.statusPath }

// Health reports the channel's state. It is an inbound channel. It is not
// OK while the REST API is unusable (wrong credentials, or downFailures
// network or server errors in a row) so that the outbox sends elsewhere;
// after coolDown it is OK again for a probe, and any good answer clears it.
func (t *Twilio) Health(ctx context.Context) intake.Health {
	now := t.clock.Now()
	t.mu.Lock()
	s := t.state
	t.mu.Unlock()
	down := s.authFailed || s.apiFailures >= downFailures
	h := intake.Health{
		Name:    intake.ChannelTwilio,
		OK:      !down || now.Sub(s.apiErrorAt) >= coolDown,
		Inbound: true,
		Checked: now,
		Detail: map[string]any{
			"webhooks":     s.webhooks,
			"rejected":     s.rejected,
			"reconciled":   s.reconciled,
			"api_failures": s.apiFailures,
		},
	}
	if down {
		h.Error = s.apiError
	}
	if !s.lastReconcile.IsZero() {
		h.Detail["last_reconcile"] = s.lastReconcile
	}
	if s.apiError != "" {
		h.Detail["api_error"] = s.apiError
		h.Detail["api_error_at"] = s.apiErrorAt
	}
	return h
}

// noteAPI records the outcome of a REST call for Health: nil for an answer
// that shows the API works, else an error that says it does not.
func (t *Twilio) noteAPI(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		t.state.apiFailures, t.state.authFailed, t.state.apiError = 0, false, ""
		return
	}
	status, _, _, _ := restError(err)
	if status == http.StatusTooManyRequests {
		return // busy, not broken
	}
	t.state.authFailed = t.state.authFailed || status == http.StatusUnauthorized
	t.state.apiFailures++
	t.state.apiError = err.Error()
	t.state.apiErrorAt = t.clock.Now()
}

func (t *Twilio) count(f func(s *healthState)) {
	t.mu.Lock()
	f(&t.state)
	t.mu.Unlock()
}

func (t *Twilio) metric(name string, v ...string) {
	if t.metrics != nil {
		t.metrics(name, v...)
	}
}

// Start runs reconciliation at once and then every ReconcileInterval until
// ctx ends or Close is called. A second Start does nothing.
func (t *Twilio) Start(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancel != nil {
		return
	}
	ctx, t.cancel = context.WithCancel(ctx)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.reconcileLoop(ctx)
	}()
}

// Close stops the reconciliation loop and waits for it.
func (t *Twilio) Close() error {
	t.mu.Lock()
	cancel := t.cancel
	t.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	t.wg.Wait()
	return nil
}

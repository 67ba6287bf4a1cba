// Package central keeps the central complaint store in sync over Open311
// GeoReport v2: new tickets are posted to it from a durable job queue,
// statuses come back by polling (and FixMyStreet's updates feed), and the
// store may post updates to the daemon. GeoReport v2 has no idempotency
// key: when the outcome of a POST is unknown (timeout, reset), it is sent
// again with the same attribute[sms_ticket], and the store is expected to
// recognise that value and answer with the request it already made.
package central

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// InboundPath is where the central store posts its updates.
const InboundPath = "/open311/v2/servicerequestupdates.json"

// stateLastSuccess keeps the time of the last successful sync across restarts.
const stateLastSuccess = "central.last_success"

// Config is the central.* part of the config.
type Config struct {
	URL            string // base URL of the GeoReport v2 API, e.g. https://sambat.example/open311/v2
	APIKey         string
	JurisdictionID string
	PollInterval   time.Duration // how often statuses are polled (default 5 minutes)
	Updates        bool          // FixMyStreet's servicerequestupdates, in and out
	InboundAPIKey  string        // what the store must send to InboundPath; "" refuses every post
}

// Engine is what the sync needs from the domain (*intake.Engine).
type Engine interface {
	CentralRequest(ctx context.Context, number string) (intake.CentralRequest, error)
	CentralAccepted(ctx context.Context, number, serviceRequestID string) error
	CentralFailed(ctx context.Context, number, reason string) error
	CentralUpdatePosted(ctx context.Context, number, updateID string) error
	ApplyCentral(ctx context.Context, u intake.CentralUpdate) (intake.CentralResult, error)
	Tickets(ctx context.Context, f intake.TicketFilter) ([]intake.Ticket, error)
}

// The domain's engine is what the sync works with.
var _ Engine = (*intake.Engine)(nil)

// Deps are the parts the sync works with.
type Deps struct {
	Engine     Engine
	Jobs       intake.JobStore
	Clock      intake.Clock                         // nil: the system clock
	Logger     *slog.Logger                         // nil: discard
	HTTPClient *http.Client                         // nil: a client of its own
	Count      func(event string, labels ...string) // optional metrics hook (metrics.Metrics.Count)
}

// Central runs the job worker and the poller, and serves inbound updates.
type Central struct {
	cfg    Config
	engine Engine
	jobs   intake.JobStore
	clock  intake.Clock
	logger *slog.Logger
	count  func(event string, labels ...string)
	client *client

	// JobPoll is how often the worker looks for due jobs without a Kick.
	JobPoll time.Duration
	// Backoff is the first retry delay after an outage; it doubles up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// TokenRetry is how long to wait before asking again about a token.
	TokenRetry time.Duration
	// Batch is how many ids one GET requests.json asks about (at most 50).
	Batch int

	kick   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	health    status
	persisted time.Time          // when lastSuccess was last written to the store
	logs      *intake.LogLimiter // rate limit of repeated errors
}

// status is what the sync knows about its last exchanges.
type status struct {
	lastAttempt time.Time
	lastOK      bool
	lastError   string
	lastSuccess time.Time
	latency     time.Duration
}

// New builds the sync; Start runs it.
func New(cfg Config, d Deps) (*Central, error) {
	if cfg.URL == "" || d.Engine == nil || d.Jobs == nil {
		return nil, errors.New("central: url, engine and job store are required")
	}
	if d.Clock == nil {
		d.Clock = intake.SystemClock{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{}
	}
	if d.Count == nil {
		d.Count = func(string, ...string) {}
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Minute
	}
	c := &Central{cfg: cfg, engine: d.Engine, jobs: d.Jobs, clock: d.Clock,
		logger: d.Logger.With("component", "central"), count: d.Count,
		client: &client{base: strings.TrimRight(cfg.URL, "/"), apiKey: cfg.APIKey,
			jurisdiction: cfg.JurisdictionID, http: d.HTTPClient, timeout: 30 * time.Second},
		JobPoll: 5 * time.Second, Backoff: 5 * time.Second, MaxBackoff: 10 * time.Minute,
		TokenRetry: time.Minute, Batch: 50,
		kick: make(chan struct{}, 1), health: status{lastOK: true}, logs: intake.NewLogLimiter(10 * time.Minute)}
	return c, nil
}

// SetTimeout sets how long one request to the central store may take
// (default 30 s). Call it before Start.
func (c *Central) SetTimeout(d time.Duration) { c.client.timeout = d }

// Start loads the last successful sync time and runs the job worker and
// the poller until Close.
func (c *Central) Start(ctx context.Context) {
	if v, err := c.jobs.State(ctx, stateLastSuccess); err == nil {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			c.mu.Lock()
			c.health.lastSuccess = t
			c.mu.Unlock()
		}
	}
	ctx, c.cancel = context.WithCancel(ctx)
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.runJobs(ctx)
	}()
	go func() {
		defer c.wg.Done()
		c.runPoll(ctx)
	}()
}

// Close stops the worker and the poller and waits for them; a request in
// flight is abandoned (its job is retried after the store's lease).
func (c *Central) Close() error {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	return nil
}

// Kick wakes the job worker (wire it to new tickets being queued).
func (c *Central) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Routes registers the inbound updates endpoint on mux.
func (c *Central) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+InboundPath, c.ServeUpdates)
}

// Stats are the sync's numbers for the metrics.
type Stats struct {
	Backlog     int       // jobs waiting (sambatd_sync_backlog)
	Failed      int       // jobs the store refused for good
	LastSuccess time.Time // the store's last successful answer; zero if never
}

// Stats returns the backlog and the last successful sync.
func (c *Central) Stats(ctx context.Context) (Stats, error) {
	st, err := c.jobs.JobStats(ctx)
	if err != nil {
		return Stats{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Backlog: st.Queued, Failed: st.Failed, LastSuccess: c.health.lastSuccess}, nil
}

// Health reports the sync for /readyz. It is never an inbound channel: a
// slow or absent central store is reported, not fatal. OK is false while
// the last exchange failed or some job was refused for good.
func (c *Central) Health(ctx context.Context) intake.Health {
	h := intake.Health{Name: "central", Checked: c.clock.Now()}
	st, err := c.jobs.JobStats(ctx)
	c.mu.Lock()
	s := c.health
	c.mu.Unlock()
	h.Detail = map[string]any{"backlog": st.Queued, "failed": st.Failed, "last_error": s.lastError,
		"last_success": formatTime(s.lastSuccess), "last_attempt": formatTime(s.lastAttempt),
		"latency_ms": s.latency.Milliseconds()}
	if !st.OldestQueued.IsZero() {
		h.Detail["oldest_queued_seconds"] = int64(h.Checked.Sub(st.OldestQueued).Seconds())
	}
	switch {
	case err != nil:
		h.Error = err.Error()
	case !s.lastOK:
		h.Error = s.lastError
	case st.Failed > 0:
		h.Error = fmt.Sprintf("%d refused by the central store, last: %s", st.Failed, st.LastError)
	default:
		h.OK = true
	}
	return h
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// persistEvery is how often the last successful sync is written to the
// store while syncs keep succeeding.
const persistEvery = time.Minute

// record notes the outcome of one exchange with the store. A success is
// kept durably as the last successful sync (at most once per persistEvery).
func (c *Central) record(ctx context.Context, start time.Time, err error) {
	now := c.clock.Now()
	c.mu.Lock()
	c.health.lastAttempt, c.health.latency = now, now.Sub(start)
	c.health.lastOK = err == nil
	persist := false
	if err != nil {
		c.health.lastError = err.Error()
	} else {
		c.health.lastSuccess = now
		persist = now.Sub(c.persisted) >= persistEvery
		if persist {
			c.persisted = now
		}
	}
	c.mu.Unlock()
	if persist {
		if serr := c.jobs.SetState(context.WithoutCancel(ctx), stateLastSuccess, now.UTC().Format(time.RFC3339Nano)); serr != nil {
			c.warn("save last sync", serr)
		}
	}
}

// warn logs an error, at most once per ten minutes for the same message.
func (c *Central) warn(msg string, err error, args ...any) {
	if ok, held := c.logs.Allow(msg+": "+err.Error(), c.clock.Now()); ok {
		c.logger.Warn(msg, append(args, "err", err, "repeats_held_back", held)...)
	}
}

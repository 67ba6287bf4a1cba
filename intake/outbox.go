package intake

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Outbox runs one worker per channel that sends queued rows and records the
// outcome. A row goes out on the channel it names; when that channel is
// down, on another channel of the same group (another modem); a row with no
// channel on the first healthy channel of the configured order.
type Outbox struct {
	store  OutboxStore
	clock  Clock
	logger *slog.Logger
	order  []string

	// Poll is how often a worker looks for due rows without a kick.
	Poll time.Duration
	// MaxAttempts fails a row after that many tries.
	MaxAttempts int
	// Backoff is the first retry delay; it doubles up to MaxBackoff.
	Backoff, MaxBackoff time.Duration

	errs     *LogLimiter
	mu       sync.Mutex
	channels []*outChannel
	wg       sync.WaitGroup
	cancel   context.CancelFunc
}

type outChannel struct {
	name    string
	sender  Sender
	checker Checker
	kick    chan struct{}
}

// NewOutbox builds an outbox over a store; order lists channels or channel
// groups ("modem", "twilio", "sim") for rows that may go anywhere.
func NewOutbox(st OutboxStore, order []string, clock Clock, logger *slog.Logger) *Outbox {
	if clock == nil {
		clock = SystemClock{}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Outbox{store: st, clock: clock, logger: logger.With("component", "outbox"), order: order,
		errs: NewLogLimiter(time.Minute), Poll: time.Second, MaxAttempts: 20, Backoff: 5 * time.Second, MaxBackoff: 30 * time.Minute}
}

// Register adds a channel before Start. checker may be nil (always healthy).
func (o *Outbox) Register(channel string, s Sender, c Checker) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.channels = append(o.channels, &outChannel{name: channel, sender: s, checker: c, kick: make(chan struct{}, 1)})
}

// Start runs the workers until Close.
func (o *Outbox) Start(ctx context.Context) {
	ctx, o.cancel = context.WithCancel(ctx)
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, ch := range o.channels {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			o.run(ctx, ch)
		}()
	}
}

// Close stops the workers and waits for them; a send in flight finishes.
func (o *Outbox) Close() error {
	if o.cancel != nil {
		o.cancel()
	}
	o.wg.Wait()
	return nil
}

// Kick wakes every worker to look for due rows now.
func (o *Outbox) Kick() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, ch := range o.channels {
		select {
		case ch.kick <- struct{}{}:
		default:
		}
	}
}

func (o *Outbox) run(ctx context.Context, ch *outChannel) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-ch.kick:
		}
		for o.drain(ctx, ch) {
		}
		t.Reset(o.Poll)
	}
}

// Flush sends what is due on every channel until nothing is left or ctx
// ends (for a graceful shutdown). It must not run together with Start.
func (o *Outbox) Flush(ctx context.Context) {
	for _, ch := range o.channels {
		for ctx.Err() == nil && o.drain(ctx, ch) {
		}
	}
}

// drain claims and sends one batch; it reports whether there may be more.
func (o *Outbox) drain(ctx context.Context, ch *outChannel) bool {
	if !o.healthy(ctx, ch) {
		return false
	}
	rows, err := o.store.Claim(ctx, o.claimSet(ctx, ch), o.clock.Now(), 16)
	if err != nil {
		if ok, held := o.errs.Allow("claim "+ch.name, o.clock.Now()); ctx.Err() == nil && ok {
			o.logger.Error("claim outbox", "channel", ch.name, "error", err, "repeats_held_back", held)
		}
		return false
	}
	for _, row := range rows {
		o.send(ctx, ch, row)
	}
	return len(rows) > 0 && ctx.Err() == nil
}

func (o *Outbox) send(ctx context.Context, ch *outChannel, row Outgoing) {
	if row.To == "" {
		row.To = row.Phone
	}
	id, err := ch.sender.Send(ctx, row)
	now := o.clock.Now()
	// The outcome is recorded even when ctx ended meanwhile.
	rec := context.WithoutCancel(ctx)
	switch {
	case err == nil:
		err = o.store.MarkSent(rec, row.ID, ch.name, id, now)
	case errors.Is(err, ErrPermanent) || row.Attempts >= o.MaxAttempts:
		o.logger.Warn("outbox row failed", "id", row.ID, "channel", ch.name, "to", MaskPhone(row.Phone), "error", err)
		err = o.store.MarkFailed(rec, row.ID, err.Error(), now)
	default:
		o.logger.Info("outbox row retry", "id", row.ID, "channel", ch.name, "attempt", row.Attempts, "error", err)
		err = o.store.MarkRetry(rec, row.ID, err.Error(), now.Add(o.backoff(row.Attempts)))
	}
	if err != nil {
		o.logger.Error("record outbox outcome", "id", row.ID, "error", err)
	}
}

// backoff is the capped exponential delay after attempt n, with jitter.
func (o *Outbox) backoff(n int) time.Duration {
	d := o.Backoff
	for i := 1; i < n && d < o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, o.MaxBackoff)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (o *Outbox) healthy(ctx context.Context, ch *outChannel) bool {
	return ch.checker == nil || ch.checker.Health(ctx).OK
}

// claimSet lists the channels whose rows ch may send: its own, those of
// unhealthy channels of its group, and "" when ch is the first healthy
// channel of the order.
func (o *Outbox) claimSet(ctx context.Context, ch *outChannel) []string {
	set := []string{ch.name}
	for _, other := range o.channels {
		if other != ch && group(other.name) == group(ch.name) && !o.healthy(ctx, other) {
			set = append(set, other.name)
		}
	}
	if first := o.firstHealthy(ctx); first == ch {
		set = append(set, "")
	}
	return set
}

func (o *Outbox) firstHealthy(ctx context.Context) *outChannel {
	for _, name := range o.order {
		for _, ch := range o.channels {
			if (ch.name == name || group(ch.name) == name) && o.healthy(ctx, ch) {
				return ch
			}
		}
	}
	return nil
}

// group is the part of a channel name before the colon: "modem" for "modem:m1".
func group(channel string) string {
	g, _, _ := strings.Cut(channel, ":")
	return g
}

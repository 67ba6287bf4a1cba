package intake

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"
)

// Accepted messages are acted on by pendingLanes workers at once; their
// transactions share commits. One sender's messages always go to the same
// lane, in arrival order.
const pendingLanes = 8

// pendingPage is how many pending messages are read at a time, and
// pendingChunk how many of one lane are acted on in one transaction.
const (
	pendingPage  = 256
	pendingChunk = 8
)

// maxPendingAttempts is how many times the engine tries to act on an
// accepted message before it marks it "error" and goes on; the message
// itself stays stored, verbatim.
const maxPendingAttempts = 3

// pendingRetry is how often RunPending looks again for messages whose
// handling failed.
const pendingRetry = time.Minute

// pending is the engine's state for accepted messages.
type pending struct {
	wake     chan struct{} // Accept stored a message
	mu       sync.Mutex    // one ProcessPending at a time
	failMu   sync.Mutex
	failures map[int64]int // attempts of messages that failed
	logLimit *LogLimiter
}

func newPending() *pending {
	return &pending{wake: make(chan struct{}, 1), failures: map[int64]int{}, logLimit: NewLogLimiter(time.Minute)}
}

// Accept stores m and returns once it is durable, without acting on it:
// ProcessPending (run by RunPending) does that soon after, in arrival order
// per sender, as store work that yields to intake. A channel whose only
// answer is an acknowledgement (Twilio's webhook) uses it, so a burst is
// acknowledged at the speed of the disk while tickets and replies follow.
// A redelivery changes nothing (Result.Duplicate).
func (e *Engine) Accept(ctx context.Context, m Message) (Result, error) {
	var res Result
	e.prepare(&m)
	m.Pending = true
	err := e.store.Update(ctx, func(tx Tx) error {
		id, fresh, err := tx.InsertInbound(&m)
		if err != nil {
			return fmt.Errorf("insert inbound: %w", err)
		}
		m.ID = id
		res = Result{InboundID: id, Duplicate: !fresh}
		return nil
	})
	if err == nil && !res.Duplicate {
		select {
		case e.pending.wake <- struct{}{}:
		default:
		}
	}
	e.logInbound(m, res, err)
	return res, err
}

// Accepting is the Handler of a channel that only acknowledges: Handle is
// the engine's Accept; parts (HandlePart) are handled at once.
type Accepting struct{ *Engine }

// Handle stores m for the engine to act on later (Engine.Accept).
func (a Accepting) Handle(ctx context.Context, m Message) (Result, error) { return a.Accept(ctx, m) }

// RunPending acts on accepted messages until ctx ends: at once (what the
// last run left pending), whenever Accept stores one, and every
// pendingRetry for messages whose handling failed.
func (e *Engine) RunPending(ctx context.Context) {
	t := time.NewTicker(pendingRetry)
	defer t.Stop()
	for first := true; ; first = false {
		n, err := e.ProcessPending(ctx)
		if first && n > 0 {
			e.logger.Info("acted on messages the last run acknowledged but left pending", "count", n)
		}
		if err != nil && ctx.Err() == nil {
			if ok, held := e.pending.logLimit.Allow("process", e.clock.Now()); ok {
				e.logger.Error("acting on accepted messages", "error", err, "held_back", held)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-e.pending.wake:
		case <-t.C:
		}
	}
}

// ProcessPending acts on every pending message, oldest first, and returns
// how many it acted on. It returns early when ctx ends; what is left stays
// pending. A message whose handling fails is retried on a later call and,
// after maxPendingAttempts, marked "error" (and logged) so the ones behind
// it go on; the messages of its sender wait while it is retried.
func (e *Engine) ProcessPending(ctx context.Context) (int, error) {
	e.pending.mu.Lock()
	defer e.pending.mu.Unlock()
	var after int64
	done := 0
	for {
		var page []Message
		err := e.store.View(ctx, func(tx Tx) (err error) {
			page, err = tx.PendingInbound(after, pendingPage)
			return err
		})
		if err != nil || len(page) == 0 {
			return done, err
		}
		after = page[len(page)-1].ID
		done += e.processPage(ctx, page)
		if err := ctx.Err(); err != nil {
			return done, err
		}
	}
}

// processPage acts on a page of pending messages in pendingLanes lanes.
func (e *Engine) processPage(ctx context.Context, page []Message) int {
	var lanes [pendingLanes][]Message
	for _, m := range page {
		k := laneOf(m)
		lanes[k] = append(lanes[k], m)
	}
	var wg sync.WaitGroup
	var n atomic.Int64
	for _, lane := range lanes {
		if len(lane) > 0 {
			wg.Go(func() { n.Add(int64(e.runLane(ctx, lane))) })
		}
	}
	wg.Wait()
	return int(n.Load())
}

// runLane acts on the messages of one lane in order, pendingChunk of them
// per transaction. After a failure it goes one message at a time, and the
// later messages of the sender whose message failed wait for the next
// ProcessPending.
func (e *Engine) runLane(ctx context.Context, lane []Message) int {
	n := 0
	failed := map[string]bool{}
	for len(lane) > 0 && ctx.Err() == nil {
		chunk := lane[:min(len(lane), pendingChunk)]
		lane = lane[len(chunk):]
		if len(failed) == 0 {
			acted, err := e.processChunk(ctx, chunk)
			n += acted
			if err == nil || ctx.Err() != nil {
				continue
			}
		}
		for _, m := range chunk {
			if failed[senderOf(m)] {
				continue
			}
			acted, err := e.processOne(ctx, m)
			if err != nil {
				failed[senderOf(m)] = true
			}
			if acted {
				n++
			}
		}
	}
	return n
}

// senderOf is who sent m: one person whatever the channel's address form.
func senderOf(m Message) string {
	if m.Phone != "" {
		return m.Phone
	}
	return m.Channel + "\x00" + m.From
}

// laneOf is the lane of m's sender.
func laneOf(m Message) int {
	h := fnv.New32a()
	h.Write([]byte(senderOf(m)))
	return int(h.Sum32() % pendingLanes)
}

// processChunk acts on pending messages in one transaction and returns
// how many were still pending. An error undoes the whole chunk.
func (e *Engine) processChunk(ctx context.Context, ms []Message) (int, error) {
	results := make([]Result, len(ms))
	acted := 0
	err := e.store.UpdateBulk(ctx, func(tx Tx) error {
		acted = 0
		for i := range ms {
			m := ms[i]
			kind := e.prepare(&m)
			results[i] = Result{InboundID: m.ID}
			taken, err := tx.TakePending(m.ID)
			if err != nil {
				return err
			}
			if !taken {
				continue
			}
			if err := e.act(tx, &m, kind, &results[i]); err != nil {
				return fmt.Errorf("inbound %d: %w", m.ID, err)
			}
			acted++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	replies := 0
	for _, r := range results {
		replies += len(r.Replies)
		e.logger.Debug("acted on accepted message", "inbound", r.InboundID, "ticket", r.Ticket, "replies", len(r.Replies))
	}
	e.queued(replies)
	return acted, nil
}

// processOne acts on one pending message. acted=false without an error
// means it was no longer pending. A failure is counted and returned; the
// last time, the message is marked "error" instead, and that counts as
// done.
func (e *Engine) processOne(ctx context.Context, m Message) (acted bool, err error) {
	n, err := e.processChunk(ctx, []Message{m})
	if err == nil {
		return n == 1, nil
	}
	if ctx.Err() != nil {
		return false, err
	}
	e.pending.failMu.Lock()
	e.pending.failures[m.ID]++
	attempts := e.pending.failures[m.ID]
	if attempts >= maxPendingAttempts {
		delete(e.pending.failures, m.ID)
	}
	e.pending.failMu.Unlock()
	if attempts < maxPendingAttempts {
		e.logger.Warn("acting on an accepted message failed; it stays pending", "inbound", m.ID,
			"channel", m.Channel, "from", MaskPhone(m.From), "attempt", attempts, "error", err)
		return false, err
	}
	e.logger.Error("gave up acting on a message; it is kept, marked error", "inbound", m.ID,
		"channel", m.Channel, "from", MaskPhone(m.From), "attempts", attempts, "error", err)
	var res Result
	merr := e.store.UpdateBulk(ctx, func(tx Tx) error {
		res = Result{InboundID: m.ID}
		taken, err := tx.TakePending(m.ID)
		if err != nil || !taken {
			return err
		}
		if err := tx.MarkInbound(m.ID, "", "error"); err != nil {
			return err
		}
		return e.apologize(tx, &m, &res)
	})
	if merr != nil {
		return false, err
	}
	e.queued(len(res.Replies))
	return true, nil // done with: its sender's later messages go on
}

// apologize tells the sender of a message the engine gave up on that it
// was not handled and should be sent again later (template "error"), as
// the webhook's failure would have told Twilio before the message was
// acknowledged. A sender the engine would not answer anyway gets nothing.
func (e *Engine) apologize(tx Tx, m *Message, res *Result) error {
	kind := e.prepare(m)
	c := &conv{e: e, r: e.rules.Load(), tx: tx, m: m, res: res, now: e.clock.Now()}
	if c.unanswered(kind) != "" {
		return nil
	}
	return c.reply("error", "error", TemplateData{})
}

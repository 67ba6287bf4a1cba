package intake

import (
	"context"
	"log/slog"
	"maps"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Kinds of deadline messages. Each is sent once per ticket: the kind and
// the ticket number are recorded with Tx.Seen in the transaction that
// queues it.
const (
	RemindRespondBefore   = "respond_before"   // to humas, sla.remind_before the respond deadline
	RemindRespondMissed   = "respond_missed"   // to humas, when the respond deadline passed
	RemindResolveBefore   = "resolve_before"   // to humas, sla.remind_before the resolve deadline
	RemindResolveMissed   = "resolve_missed"   // to humas, when the resolve deadline passed
	RemindEscalateRespond = "escalate_respond" // to monitors, sla.escalate_after a missed respond deadline
	RemindEscalate        = "escalate"         // to monitors, sla.escalate_after a missed resolve deadline
	// seenDigest keys the daily digest of one department: "OPD/2006-01-02".
	seenDigest = "digest"
)

// ReminderKinds are the Seen kinds of deadline messages, keyed by ticket
// number (or "number@reopening").
var ReminderKinds = []string{RemindRespondBefore, RemindRespondMissed, RemindResolveBefore, RemindResolveMissed,
	RemindEscalateRespond, RemindEscalate}

// SeenDigest is the Seen kind of the daily digests.
const SeenDigest = seenDigest

// DigestTemplate is the template of the daily digest to each department's
// humas, sent on working days from 07:00: Count open tickets, Max of them
// past their resolve deadline, Tickets the longest overdue, Deadline the
// date. A template set without it sends no digest.
const DigestTemplate = "digest"

// digestAt is the local time of day from which a working day's digest goes.
const digestAt = 7 * time.Hour

// deadlinePage is how many open tickets one pass reads and handles per
// transaction.
const deadlinePage = 500

// reminder is one deadline message due for a ticket.
type reminder struct {
	kind     string
	template string
	outKind  string // outbox kind
	to       []string
	ticket   *Ticket
	deadline time.Time
}

// opdTally counts a department's open tickets for the digest and metrics.
type opdTally struct {
	open, overdue int
	late          []lateTicket
}

type lateTicket struct {
	t        *Ticket
	deadline time.Time
}

// RunDeadlines reads every open ticket, queues the reminders to the
// departments' humas and the escalations to the monitors whose moment has
// come (each once, after the quiet hours, not to numbers that sent STOP),
// and the daily digests when their template is configured. It returns how
// many open tickets each department has past their resolve deadline.
func (e *Engine) RunDeadlines(ctx context.Context) (map[string]int, error) {
	r := e.rules.Load()
	now := e.clock.Now()
	tally := map[string]*opdTally{}
	for offset := 0; ; offset += deadlinePage {
		ts, err := e.Tickets(ctx, TicketFilter{Open: true, Limit: deadlinePage, Offset: offset})
		if err != nil {
			return nil, err
		}
		var due []reminder
		for i := range ts {
			due = append(due, r.reminders(&ts[i], now, tally)...)
		}
		if err := e.sendReminders(ctx, due); err != nil {
			return nil, err
		}
		if len(ts) < deadlinePage {
			break
		}
	}
	if err := e.sendDigests(ctx, r, now, tally); err != nil {
		return nil, err
	}
	overdue := map[string]int{}
	for opd, n := range tally {
		overdue[opd] = n.overdue
	}
	return overdue, nil
}

// reminders returns the deadline messages due for t at now, and counts t
// in tally.
func (r *rules) reminders(t *Ticket, now time.Time, tally map[string]*opdTally) []reminder {
	n := tally[t.OPD]
	if n == nil {
		n = &opdTally{}
		tally[t.OPD] = n
	}
	n.open++
	var out []reminder
	if r.SLA.Respond > 0 && t.RespondedAt.IsZero() {
		deadline := r.SLA.Deadline(t.CreatedAt, r.SLA.Respond, r.loc())
		out = r.due(out, t, now, deadline, RemindRespondBefore, RemindRespondMissed, RemindEscalateRespond)
	}
	if r.SLA.Resolve > 0 {
		deadline := r.resolveDeadline(t)
		out = r.due(out, t, now, deadline, RemindResolveBefore, RemindResolveMissed, RemindEscalate)
		if !now.Before(deadline) {
			n.overdue++
			n.late = append(n.late, lateTicket{t: t, deadline: deadline})
		}
	}
	return out
}

// due appends the messages about one deadline whose moment has come. A
// "before" reminder that could only leave after the deadline (it would
// wait out the quiet hours past it) is left to the "missed" one.
func (r *rules) due(out []reminder, t *Ticket, now, deadline time.Time, before, missed, escalate string) []reminder {
	humas := r.opds[t.OPD].Humas
	add := func(kind, template, outKind string, to []string) {
		if len(to) > 0 {
			out = append(out, reminder{kind: kind, template: template, outKind: outKind, to: to,
				ticket: t, deadline: deadline})
		}
	}
	switch {
	case !now.Before(deadline):
		add(missed, "reminder_missed", "reminder", humas)
		if !now.Before(deadline.Add(r.SLA.EscalateAfter)) {
			add(escalate, "escalation", "escalation", r.Monitors)
		}
	case r.SLA.RemindBefore > 0 && !now.Before(deadline.Add(-r.SLA.RemindBefore)) &&
		r.QuietUntil(now).Before(deadline):
		add(before, "reminder", "reminder", humas)
	}
	return out
}

// sendReminders queues the due messages not sent before, in one
// transaction.
func (e *Engine) sendReminders(ctx context.Context, due []reminder) error {
	if len(due) == 0 {
		return nil
	}
	return e.withConv(ctx, func(c *conv) error {
		for _, rm := range due {
			fresh, err := c.tx.Seen(rm.kind, reminderKey(rm.ticket), c.now)
			if err != nil {
				return err
			}
			if !fresh {
				continue
			}
			d := c.r.ticketData(rm.ticket)
			d.Deadline = rm.deadline.In(c.r.loc()).Format("02/01 15:04")
			if late := c.now.Sub(rm.deadline); late > 0 {
				d.Count = int(late / (24 * time.Hour))
			}
			for _, p := range rm.to {
				if err := c.notify(p, rm.template, rm.outKind, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// reminderKey keys the reminders of a ticket as sent: a ticket opened
// again gets its reminders again.
func reminderKey(t *Ticket) string {
	if t.ReopenedAt.IsZero() {
		return t.Number
	}
	return t.Number + "@" + strconv.FormatInt(t.ReopenedAt.UnixMilli(), 10)
}

// sendDigests queues each department's daily digest to its humas, once per
// working day, from digestAt outside the quiet hours, when the digest
// template is configured and the department has open tickets.
func (e *Engine) sendDigests(ctx context.Context, r *rules, now time.Time, tally map[string]*opdTally) error {
	local := now.In(r.loc())
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, local.Location())
	if !r.texts.Has(DigestTemplate) || local.Sub(midnight) < digestAt || !r.SLA.workingDay(local) ||
		!r.QuietUntil(now).Equal(now) {
		return nil
	}
	opds := make([]string, 0, len(tally))
	for opd := range maps.Keys(tally) {
		opds = append(opds, opd)
	}
	sort.Strings(opds)
	day := local.Format("2006-01-02")
	return e.withConv(ctx, func(c *conv) error {
		for _, opd := range opds {
			to := c.r.opds[opd].Humas
			if len(to) == 0 {
				continue
			}
			fresh, err := c.tx.Seen(seenDigest, opd+"/"+day, c.now)
			if err != nil {
				return err
			}
			if !fresh {
				continue
			}
			d := c.r.digestData(opd, local, tally[opd])
			for _, p := range to {
				if err := c.notify(p, DigestTemplate, "digest", d); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// digestData fills the digest template: the three longest overdue tickets.
func (r *rules) digestData(opd string, day time.Time, n *opdTally) TemplateData {
	d := TemplateData{OPD: opd, Count: n.open, Max: n.overdue, Deadline: day.Format("02/01")}
	late := append([]lateTicket(nil), n.late...)
	sort.Slice(late, func(i, j int) bool {
		if !late[i].deadline.Equal(late[j].deadline) {
			return late[i].deadline.Before(late[j].deadline)
		}
		return late[i].t.Seq < late[j].t.Seq
	})
	for _, l := range late[:min(3, len(late))] {
		td := r.ticketData(l.t)
		d.Tickets = append(d.Tickets, TicketLine{Ticket: td.Ticket, Category: td.Category, Status: td.Status})
	}
	return d
}

// Deadlines runs RunDeadlines periodically and keeps the overdue counts of
// the last pass for the metrics.
type Deadlines struct {
	e      *Engine
	logger *slog.Logger

	// Interval is the time between passes (default one minute).
	Interval time.Duration

	mu      sync.Mutex
	overdue map[string]int
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// NewDeadlines builds the deadline worker of an engine.
func NewDeadlines(e *Engine, logger *slog.Logger) *Deadlines {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Deadlines{e: e, logger: logger.With("component", "deadlines"), Interval: time.Minute}
}

// Start runs a pass now and then every Interval until Close.
func (d *Deadlines) Start(ctx context.Context) {
	ctx, d.cancel = context.WithCancel(ctx)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.run(ctx)
	}()
}

func (d *Deadlines) run(ctx context.Context) {
	tick := time.NewTicker(d.Interval)
	defer tick.Stop()
	var lastErr string
	for {
		overdue, err := d.e.RunDeadlines(ctx)
		switch {
		case err == nil:
			d.mu.Lock()
			d.overdue = overdue
			d.mu.Unlock()
			lastErr = ""
		case ctx.Err() == nil && err.Error() != lastErr:
			// Logged when it changes, not every minute.
			d.logger.Error("deadline pass failed", "err", err)
			lastErr = err.Error()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Close stops the worker and waits for the pass in flight.
func (d *Deadlines) Close() error {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	return nil
}

// Overdue returns, per department, the open tickets past their resolve
// deadline at the last successful pass (nil before the first).
func (d *Deadlines) Overdue() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.overdue)
}

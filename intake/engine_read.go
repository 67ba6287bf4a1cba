package intake

import (
	"context"
	"errors"
	"fmt"
)

// ErrBadPhone means a phone number is not a mobile number.
var ErrBadPhone = errors.New("not a mobile number")

// Tickets lists tickets for the API and the CLI.
func (e *Engine) Tickets(ctx context.Context, f TicketFilter) ([]Ticket, error) {
	var ts []Ticket
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		ts, err = tx.Tickets(f)
		return err
	})
	return ts, err
}

// TicketDetail returns a ticket with its events and attachments.
func (e *Engine) TicketDetail(ctx context.Context, number string) (*Ticket, error) {
	var t *Ticket
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		t, err = tx.TicketDetail(number)
		return err
	})
	return t, err
}

// CountInbound counts stored inbound messages of a channel ("" for all).
func (e *Engine) CountInbound(ctx context.Context, channel string) (int, error) {
	var n int
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		n, err = tx.CountInbound(channel)
		return err
	})
	return n, err
}

// Conversation returns a phone's messages in and out, oldest first.
func (e *Engine) Conversation(ctx context.Context, phone string, limit int) ([]ConversationItem, error) {
	var items []ConversationItem
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		items, err = tx.Conversation(phone, limit)
		return err
	})
	return items, err
}

// Queue puts an SMS from an operator (sambatd send) in the outbox, to go at
// once on the first healthy channel.
func (e *Engine) Queue(ctx context.Context, to, text, kind string) (Outgoing, error) {
	phone, k := NormalizePhone(to)
	if k != AddrMobile {
		return Outgoing{}, fmt.Errorf("queue to %q: %w", to, ErrBadPhone)
	}
	now := e.clock.Now()
	o := Outgoing{To: phone, Phone: phone, Text: smsText(text), Kind: kind, Status: OutQueued, NextAt: now, CreatedAt: now}
	res := &Result{Replies: []Outgoing{o}}
	err := e.update(ctx, func(tx Tx) error { return tx.Enqueue(&o) }, res)
	return o, err
}

// Notify queues a message nobody asked for (an alert to the admins, a
// reminder) to each phone, after the quiet hours and unless it sent STOP.
func (e *Engine) Notify(ctx context.Context, phones []string, text, kind string) error {
	res := &Result{}
	return e.update(ctx, func(tx Tx) error {
		c := &conv{e: e, r: e.rules.Load(), tx: tx, m: &Message{}, res: res, now: e.clock.Now()}
		for _, p := range phones {
			if err := c.notifyText(p, smsText(text), kind, ""); err != nil {
				return err
			}
		}
		return nil
	}, res)
}

// Render writes the config's template of that name (for texts other
// parts of the daemon send, such as the modems' alerts to the admins).
func (e *Engine) Render(name string, d TemplateData) (string, error) {
	return e.rules.Load().texts.Render(name, d)
}

// Counter increments a named durable counter (a modem's concatenation
// reference, which must not repeat after a restart) and returns it.
func (e *Engine) Counter(ctx context.Context, name string) (int64, error) {
	var n int64
	err := e.store.Update(ctx, func(tx Tx) error {
		var err error
		n, err = tx.Counter(name)
		return err
	})
	return n, err
}

// smsText cleans a text that did not come from a template (an operator's
// message, an alert) as Render cleans replies: GSM-7, at most three
// segments.
func smsText(text string) string {
	text = ToGSM7(text)
	if Segments(text) > MaxReplySegments {
		text = TruncateSegments(text, MaxReplySegments)
	}
	return text
}

package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Engine turns inbound messages into ticket changes and replies, each
// message in one store transaction.
type Engine struct {
	store  Store
	clock  Clock
	logger *slog.Logger
	rules  atomic.Pointer[rules]

	pending *pending // accepted messages (Accept, RunPending)

	// OnQueued, when set, is called after a commit that queued outbox rows
	// (the daemon wires it to wake the outbox workers).
	OnQueued func()
}

// rules is the settings with everything derived from them, replaced whole
// on a reload.
type rules struct {
	Settings
	catalog    *Catalog
	texts      *Texts
	volunteers map[string]Volunteer
	blocked    map[string]bool
	opds       map[string]OPD
}

// NewEngine builds an engine on a store with the given settings.
func NewEngine(st Store, s Settings, clock Clock, logger *slog.Logger) (*Engine, error) {
	if clock == nil {
		clock = SystemClock{}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{store: st, clock: clock, logger: logger.With("component", "intake"), pending: newPending()}
	if err := e.Reload(s); err != nil {
		return nil, err
	}
	return e, nil
}

// Reload replaces the settings. On error the running settings stay.
func (e *Engine) Reload(s Settings) error {
	texts, err := NewTexts(s.Templates)
	if err != nil {
		return fmt.Errorf("reload templates: %w", err)
	}
	if s.Location == nil {
		s.Location = time.UTC
	}
	if s.RepeatWindow == 0 {
		s.RepeatWindow = 10 * time.Minute
	}
	if s.SessionTimeout == 0 {
		s.SessionTimeout = 30 * time.Minute
	}
	if s.City == "" {
		s.City = "Kota Malang"
	}
	r := &rules{Settings: s, catalog: NewCatalog(s.Categories), texts: texts,
		volunteers: map[string]Volunteer{}, blocked: map[string]bool{}, opds: map[string]OPD{}}
	for _, v := range s.Volunteers {
		r.volunteers[v.Phone] = v
	}
	for _, p := range s.Blocklist {
		if n, _ := NormalizePhone(p); n != "" {
			r.blocked[n] = true
		}
	}
	for _, o := range s.OPDs {
		r.opds[o.Code] = o
	}
	e.rules.Store(r)
	return nil
}

// Settings returns the settings in force.
func (e *Engine) Settings() Settings { return e.rules.Load().Settings }

// Handle stores one inbound message and acts on it, in one transaction.
// A redelivery (same channel and external id) changes nothing.
func (e *Engine) Handle(ctx context.Context, m Message) (Result, error) {
	var res Result
	err := e.update(ctx, func(tx Tx) error {
		res = Result{}
		return e.handleTx(tx, &m, &res)
	}, &res)
	e.logInbound(m, res, err)
	return res, err
}

// logInbound logs one handled message: the text only at debug level, the
// sender always masked.
func (e *Engine) logInbound(m Message, res Result, err error) {
	if err != nil {
		e.logger.Error("inbound not stored", "channel", m.Channel, "from", MaskPhone(m.From), "error", err)
		return
	}
	e.logger.Debug("inbound", "channel", m.Channel, "from", MaskPhone(m.From), "duplicate", res.Duplicate,
		"ticket", res.Ticket, "replies", len(res.Replies), "text", m.Text)
}

// update runs fn in a store transaction and wakes the outbox when replies
// were queued.
func (e *Engine) update(ctx context.Context, fn func(Tx) error, res *Result) error {
	if err := e.store.Update(ctx, fn); err != nil {
		return err
	}
	if res != nil {
		e.queued(len(res.Replies))
	}
	return nil
}

// queued wakes the outbox when n replies were queued.
func (e *Engine) queued(n int) {
	if n > 0 && e.OnQueued != nil {
		e.OnQueued()
	}
}

// handleTx is Handle inside a transaction.
func (e *Engine) handleTx(tx Tx, m *Message, res *Result) error {
	kind := e.prepare(m)
	id, fresh, err := tx.InsertInbound(m)
	if err != nil {
		return fmt.Errorf("insert inbound: %w", err)
	}
	m.ID, res.InboundID = id, id
	if !fresh {
		res.Duplicate = true
		return nil
	}
	return e.act(tx, m, kind, res)
}

// prepare completes a message as a channel handed it over: the received
// time, valid UTF-8 text, and the E.164 phone of a mobile sender. It
// returns the kind of the sender's address.
func (e *Engine) prepare(m *Message) AddrKind {
	if m.Received.IsZero() {
		m.Received = e.clock.Now()
	}
	m.Text = strings.ToValidUTF8(m.Text, "\uFFFD")
	phone, kind := NormalizePhone(m.From)
	if kind == AddrMobile {
		m.Phone = phone
	}
	return kind
}

// act decides what a stored message means, acts on it and records the
// outcome on its inbound row.
func (e *Engine) act(tx Tx, m *Message, kind AddrKind, res *Result) error {
	c := &conv{e: e, r: e.rules.Load(), tx: tx, m: m, res: res, now: e.clock.Now()}
	note, err := c.dispatch(kind)
	if err != nil {
		return err
	}
	if m.Note != "" {
		note = m.Note + ";" + note
	}
	return tx.MarkInbound(m.ID, res.Ticket, note)
}

// conv is the handling of one inbound message.
type conv struct {
	e   *Engine
	r   *rules
	tx  Tx
	m   *Message
	res *Result
	now time.Time
	// screen, set for a USSD request, receives the answer shown on the
	// phone's screen instead of an SMS.
	screen *USSDResponse
}

// dispatch decides what the message means and acts. It returns the note
// kept on the inbound row.
func (c *conv) dispatch(kind AddrKind) (string, error) {
	if note := c.unanswered(kind); note != "" {
		return note, nil
	}
	cmd := Parse(c.m.Text, c.r.catalog)
	if note, handled, err := c.dialog(cmd); handled || err != nil {
		return note, err
	}
	return c.command(cmd)
}

// unanswered says why the sender of the message gets no answer at all
// (the note kept on its inbound row), or "" when it does.
func (c *conv) unanswered(kind AddrKind) string {
	switch {
	case kind != AddrMobile:
		return "no_reply_sender"
	case c.r.blocked[c.m.Phone]:
		return "blocked"
	}
	return ""
}

// command handles a keyword command (or a message without one).
func (c *conv) command(cmd Command) (string, error) {
	switch cmd.Kind {
	case KindComplaint:
		return c.complaint(cmd, c.m.Phone, "", "")
	case KindKIM:
		return c.kim(cmd)
	case KindStatus:
		return c.status(cmd)
	case KindAdd, KindCancel, KindReopen:
		return c.change(cmd)
	case KindHelp:
		return "help", c.reply("help", "help", c.helpData())
	case KindMenu:
		return c.startMenu(false)
	case KindStop, KindStart:
		out := cmd.Kind == KindStop
		if err := c.tx.SetOptOut(c.m.Phone, out, c.now); err != nil {
			return "", fmt.Errorf("set opt-out: %w", err)
		}
		name := map[bool]string{true: "stopped", false: "started"}[out]
		return name, c.reply(name, name, TemplateData{})
	}
	return c.unknown(cmd)
}

// unknown answers a message without keyword as intake.unknown says, within
// the cap on unsolicited help replies.
func (c *conv) unknown(cmd Command) (string, error) {
	switch c.r.Unknown {
	case "complaint":
		if strings.TrimSpace(cmd.Text) != "" {
			cmd.Kind = KindComplaint
			cmd.Category, cmd.Location = c.inferCategory(cmd.Text), InferLocation(cmd.Text)
			return c.complaint(cmd, c.m.Phone, "", "")
		}
	case "menu":
		return c.startMenu(true)
	}
	capped, err := c.overHelpCap()
	if err != nil || capped {
		return "unknown_capped", err
	}
	return "unknown", c.reply("help", "help_auto", c.helpData())
}

// overHelpCap reports whether the sender already got intake.help_per_hour
// unsolicited help or menu starts in the last hour.
func (c *conv) overHelpCap() (bool, error) {
	if c.r.HelpPerHour <= 0 {
		return false, nil
	}
	n, err := c.tx.CountOutbox(c.m.Phone, []string{"help_auto", "menu_auto"}, c.now.Add(-time.Hour))
	if err != nil {
		return false, fmt.Errorf("count help replies: %w", err)
	}
	return n >= c.r.HelpPerHour, nil
}

func (c *conv) inferCategory(text string) string {
	if cat, ok := c.r.catalog.Infer(text); ok {
		return cat.Code
	}
	return ""
}

func (c *conv) helpData() TemplateData {
	var codes []string
	for _, cat := range c.r.catalog.All() {
		codes = append(codes, cat.Code)
	}
	return TemplateData{Categories: codes, Price: c.r.SMSPrice}
}

// reply queues an answer to the message being handled, to go at once on the
// channel it came in on.
func (c *conv) reply(template, kind string, d TemplateData) error {
	text, err := c.r.texts.Render(template, d)
	if err != nil {
		return fmt.Errorf("render %s: %w", template, err)
	}
	o := Outgoing{Channel: c.replyChannel(), To: c.m.From, Phone: c.m.Phone, Text: text, Kind: kind,
		Ticket: d.Ticket}
	if c.screen != nil {
		// USSD screens vanish: only a new ticket's number also goes by
		// SMS, on any channel, so to the E.164 number (never a repeat).
		*c.screen = USSDResponse{Text: text, End: true}
		if template != "ack" && template != "ack_kim" {
			return nil
		}
		o.To, o.InboundID, o.NextAt = c.m.Phone, c.m.ID, c.now
		return c.queue(o)
	}
	return c.answer(o)
}

// answer queues o as the answer to the message being handled, at once,
// its text kept from repeating the last SMS the sender got (vary).
func (c *conv) answer(o Outgoing) error {
	text, err := c.vary(o.Text)
	if err != nil {
		return err
	}
	o.Text, o.InboundID, o.NextAt = text, c.m.ID, c.now
	return c.queue(o)
}

// repeatWindow is how far back vary looks for the reply a number got last.
const repeatWindow = 24 * time.Hour

// vary keeps an answer from repeating word for word the last SMS this
// number got (a resident would take it for an echo, or think nothing
// happened): the same text again is marked " (ke-2)", then " (ke-3)"…
// A text the mark would make one SMS longer stays as it is: a reply (and
// a menu prompt) that fits one SMS keeps fitting.
func (c *conv) vary(text string) (string, error) {
	last, err := c.tx.LastOutboxText(c.m.Phone, c.now.Add(-repeatWindow))
	if errors.Is(err, ErrNotFound) {
		return text, nil
	}
	if err != nil {
		return "", err
	}
	n := 1 // how many times in a row text went out already
	if last != text {
		base, k, ok := cutRepeatMark(last)
		if !ok || base != text {
			return text, nil
		}
		n = k
	}
	if v := fmt.Sprintf("%s (ke-%d)", text, n+1); Segments(v) == Segments(text) {
		return v, nil
	}
	return text, nil
}

// cutRepeatMark splits "text (ke-N)" into text and N.
func cutRepeatMark(s string) (string, int, bool) {
	i := strings.LastIndex(s, " (ke-")
	if i < 0 || !strings.HasSuffix(s, ")") {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+len(" (ke-") : len(s)-1])
	if err != nil || n < 2 {
		return "", 0, false
	}
	return s[:i], n, true
}

// queue adds an outbox row.
func (c *conv) queue(o Outgoing) error {
	o.Status, o.CreatedAt = OutQueued, c.now
	if err := c.tx.Enqueue(&o); err != nil {
		return fmt.Errorf("enqueue %s: %w", o.Kind, err)
	}
	c.res.Replies = append(c.res.Replies, o)
	return nil
}

// notify queues a message nobody asked for right now (it waits for the end
// of the quiet hours) to phone, unless phone sent STOP. Channel "" lets the
// outbox pick the first healthy channel.
func (c *conv) notify(phone, template, kind string, d TemplateData) error {
	text, err := c.r.texts.Render(template, d)
	if err != nil {
		return fmt.Errorf("render %s: %w", template, err)
	}
	return c.notifyText(phone, text, kind, d.Ticket)
}

// notifyText queues an unsolicited text; see notify.
func (c *conv) notifyText(phone, text, kind, ticket string) error {
	if phone == "" {
		return nil
	}
	out, err := c.tx.OptedOut(phone)
	if err != nil || out {
		return err
	}
	return c.queue(Outgoing{To: phone, Phone: phone, Text: text, Kind: kind, Ticket: ticket,
		NextAt: c.r.QuietUntil(c.now)})
}

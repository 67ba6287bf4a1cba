package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

func (c *conv) dialogEnv(limit int) DialogEnv {
	_, vol := c.r.volunteers[c.m.Phone]
	return DialogEnv{Categories: c.r.catalog.All(), Volunteer: vol, Limit: limit, Texts: c.r.texts}
}

func smsSessionKey(phone string) string { return "sms:" + phone }

// smsSession is what an SMS session stores: the dialog, and whether it
// started unsolicited (a message without keyword).
type smsSession struct {
	DialogState
	Auto bool `json:"auto,omitempty"`
}

// dialog continues an SMS menu session if the sender has one. A message
// with a keyword ends the session and is handled as that command.
func (c *conv) dialog(cmd Command) (note string, handled bool, err error) {
	key := smsSessionKey(c.m.Phone)
	s, err := c.tx.Session(key)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("load session: %w", err)
	}
	var st smsSession
	if err := json.Unmarshal([]byte(s.State), &st); err != nil {
		c.e.logger.Warn("dropping unreadable session", "error", err)
		return "", false, c.tx.DeleteSession(key)
	}
	if !c.now.Before(s.Expires) || interrupts(cmd, c.m.Text, st.Step) {
		return "", false, c.tx.DeleteSession(key)
	}
	out := StepDialog(c.dialogEnv(LimitSMS), st.DialogState, c.m.Text)
	if st.Auto && st.Step == StepMain && out.State.Step == StepMain && !out.End {
		// No answer to a menu nobody asked for: perhaps a robot answering
		// our prompt. It leaves the dialog and counts as unsolicited, so
		// two robots can't keep each other busy.
		return "", false, c.tx.DeleteSession(key)
	}
	note, err = c.dialogOutput(out, st.Auto && out.State.Step == StepMain)
	return note, true, err
}

// interrupts reports whether a message inside a dialog is a command that
// ends it. At the steps that take free text (location, description) only
// an unmistakable command does: an exact keyword alone ("CEK", "STOP",
// "?") or with a ticket number ("CEK 4821303"); anything else there,
// "status jalan masih rusak" or "Lapor pak, …" included, is the answer.
func interrupts(cmd Command, text, step string) bool {
	switch {
	case cmd.Kind == KindNone:
		return false
	case step != StepLocation && step != StepDescription:
		return true
	case cmd.Typo || cmd.Kind == KindComplaint || cmd.Kind == KindKIM:
		return false
	case len(cmd.Ticket) >= 7:
		return true
	}
	bare := strings.Trim(strings.TrimSpace(text), ".!?#*,: ")
	return bare == "" || strings.EqualFold(bare, cmd.Keyword)
}

// startMenu opens a menu session. auto is set when the message had no
// keyword: such starts count against the cap on unsolicited replies.
func (c *conv) startMenu(auto bool) (string, error) {
	kind := "menu"
	if auto {
		capped, err := c.overHelpCap()
		if err != nil || capped {
			return "unknown_capped", err
		}
		kind = "menu_auto"
	}
	out := StartDialog(c.dialogEnv(LimitSMS))
	if err := c.saveSession(out.State, auto); err != nil {
		return "", err
	}
	return "menu", c.answer(Outgoing{Channel: c.m.Channel, To: c.m.From, Phone: c.m.Phone,
		Text: out.Text, Kind: kind})
}

func (c *conv) saveSession(st DialogState, auto bool) error {
	b, err := json.Marshal(smsSession{DialogState: st, Auto: auto})
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	s := &Session{Key: smsSessionKey(c.m.Phone), Phone: c.m.Phone, State: string(b),
		Updated: c.now, Expires: c.now.Add(c.r.SessionTimeout)}
	if err := c.tx.PutSession(s); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// dialogOutput acts on one step of an SMS dialog: the next prompt, or the
// action that ends it. auto keeps the session marked unsolicited while it
// has not left the main menu.
func (c *conv) dialogOutput(out DialogOutput, auto bool) (string, error) {
	if out.End {
		if err := c.tx.DeleteSession(smsSessionKey(c.m.Phone)); err != nil {
			return "", fmt.Errorf("end session: %w", err)
		}
	} else if err := c.saveSession(out.State, auto); err != nil {
		return "", err
	}
	if note, acted, err := c.dialogAction(out); acted || err != nil {
		return note, err
	}
	return "menu_step", c.answer(Outgoing{Channel: c.replyChannel(), To: c.m.From, Phone: c.m.Phone,
		Text: out.Text, Kind: "menu"})
}

// dialogAction carries out what a finished dialog asked for.
func (c *conv) dialogAction(out DialogOutput) (note string, acted bool, err error) {
	st := out.State
	switch out.Action {
	case ActionFile:
		cmd := Command{Kind: KindComplaint, Keyword: "MENU", Category: st.Category,
			Location: st.Location, Text: st.Description, Structured: true}
		if !st.ForResident {
			note, err = c.complaint(cmd, c.m.Phone, "", "")
			return note, true, err
		}
		cmd.Resident, cmd.ResidentName = st.Resident, st.ResidentName
		if cmd.Resident == "" {
			cmd.Resident = "-"
		}
		note, err = c.kim(cmd)
		return note, true, err
	case ActionStatus:
		note, err = c.status(Command{Kind: KindStatus, Keyword: "CEK", Ticket: out.Ticket})
		return note, true, err
	case ActionHelp:
		return "help", true, c.reply("help", "help", c.helpData())
	}
	return "", false, nil
}

// replyChannel is the channel answers go out on: the one the message came
// in on, except USSD, whose answers are screens (an SMS copy goes on any
// SMS channel).
func (c *conv) replyChannel() string {
	if c.m.Channel == ChannelUSSD {
		return ""
	}
	return c.m.Channel
}

// USSD answers one request of a USSD gateway. The dialog is replayed from
// the inputs the gateway sends each time, so a session needs no stored
// state and a repeated request gets the same answer; the request is kept
// as an inbound message keyed by session and inputs, so a repeat never
// files a second ticket.
func (e *Engine) USSD(ctx context.Context, r USSDRequest) (USSDResponse, error) {
	var resp USSDResponse
	res := &Result{}
	m := Message{Channel: ChannelUSSD, ExternalID: r.SessionID + "|" + r.Text, From: r.Phone,
		To: r.ServiceCode, Text: lastInput(r.Text), Raw: ussdRaw(r), Received: e.clock.Now()}
	err := e.update(ctx, func(tx Tx) error {
		res.Replies, resp = nil, USSDResponse{}
		return e.ussdTx(tx, &m, r, res, &resp)
	}, res)
	return resp, err
}

func (e *Engine) ussdTx(tx Tx, m *Message, r USSDRequest, res *Result, resp *USSDResponse) error {
	kind := e.prepare(m)
	id, fresh, err := tx.InsertInbound(m)
	if err != nil {
		return fmt.Errorf("insert inbound: %w", err)
	}
	m.ID, res.InboundID, res.Duplicate = id, id, !fresh
	c := &conv{e: e, r: e.rules.Load(), tx: tx, m: m, res: res, now: e.clock.Now(), screen: resp}
	if note := c.unanswered(kind); note != "" {
		return c.ussdRefuse(kind, note)
	}
	if !fresh {
		return c.ussdRepeat(r)
	}
	out := ReplayUSSD(c.dialogEnv(LimitUSSD), r.Text)
	*resp = USSDResponse{Text: out.Text, End: out.End}
	note, _, err := c.dialogAction(out)
	if err != nil {
		return err
	}
	if note == "" {
		note = "ussd_step"
	}
	return tx.MarkInbound(id, res.Ticket, note)
}

// Built-in texts of the USSD screens that are no dialog step, the defaults
// of their templates (added in dialog.go).
const (
	ussdUnknownNumberText = "Nomor tidak dikenal."
	ussdUnavailableText   = "Layanan tidak tersedia."
)

// ussdRefuse ends at once the session of a sender that SMS would never
// answer: an address that is no mobile number, or a blocklisted one. The
// gateway needs a screen, so it gets a terse END; no dialog step runs and
// nothing is queued. The request is already kept; note says why.
func (c *conv) ussdRefuse(kind AddrKind, note string) error {
	name, fallback := "ussd_unavailable", ussdUnavailableText
	if kind != AddrMobile {
		name, fallback, note = "ussd_unknown_number", ussdUnknownNumberText, "not_mobile"
	}
	*c.screen = USSDResponse{Text: c.e.ussdScreen(c.r, name, fallback), End: true}
	return c.tx.MarkInbound(c.m.ID, "", note)
}

// USSDFailText is the screen for a USSD request that can't be answered
// (the store failed, or the answer came too late): the menu_fail template.
// It needs neither the store nor the request, so the gateway endpoint can
// show it whatever went wrong.
func (e *Engine) USSDFailText() string {
	return e.ussdScreen(e.rules.Load(), "menu_fail", dialogFailText)
}

// ussdScreen renders a template that takes no data, cut to one USSD
// screen, or fallback when it fails.
func (e *Engine) ussdScreen(r *rules, name, fallback string) string {
	text, err := r.texts.Render(name, TemplateData{})
	if err != nil || text == "" {
		e.logger.Warn("ussd screen template failed, using the built-in text", "template", name, "error", err)
		text = fallback
	}
	return cutSeptets(text, LimitUSSD)
}

// ussdRepeat answers a repeated gateway request with what the first one got.
func (c *conv) ussdRepeat(r USSDRequest) error {
	prev, err := c.tx.Inbound(ChannelUSSD, c.m.ExternalID)
	if err != nil {
		return fmt.Errorf("load repeated request: %w", err)
	}
	if prev.Ticket != "" {
		t, err := c.tx.Ticket(prev.Ticket)
		if err != nil {
			return err
		}
		text, err := c.r.texts.Render("ack", c.ticketData(t))
		*c.screen = USSDResponse{Text: text, End: true}
		return err
	}
	out := ReplayUSSD(c.dialogEnv(LimitUSSD), r.Text)
	*c.screen = USSDResponse{Text: out.Text, End: out.End}
	if out.Action == ActionStatus {
		_, err = c.status(Command{Kind: KindStatus, Keyword: "CEK", Ticket: out.Ticket})
	}
	return err
}

func lastInput(text string) string {
	if i := strings.LastIndexByte(text, '*'); i >= 0 {
		return text[i+1:]
	}
	return text
}

// ussdRaw is the request to keep: as the gateway sent it, or its fields
// when the caller (a test, an in-process client) gave no Raw.
func ussdRaw(r USSDRequest) []byte {
	if r.Raw != "" {
		return []byte(r.Raw)
	}
	b, _ := json.Marshal(map[string]string{"sessionId": r.SessionID, "serviceCode": r.ServiceCode,
		"phoneNumber": r.Phone, "networkCode": r.NetworkCode, "text": r.Text})
	return b
}

package intake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// reopenWindow is how long after selesai a resident may still say BELUM.
const reopenWindow = 14 * 24 * time.Hour

// complaint files a complaint from the command. complainant is the
// resident's phone ("" for none), submitter the volunteer's ("" when
// self-filed).
func (c *conv) complaint(cmd Command, complainant, submitter, name string) (string, error) {
	if strings.TrimSpace(cmd.Text) == "" {
		return "empty_complaint", c.reply("empty_complaint", "error", TemplateData{Keyword: cmd.Keyword})
	}
	fp := Fingerprint(complainant + " " + cmd.Text)
	if prev, err := c.tx.RecentComplaint(c.m.Phone, fp, c.now.Add(-c.r.RepeatWindow)); err == nil {
		c.res.Ticket = prev.Number
		return "repeat", c.reply("repeat", "ack", c.ticketData(prev))
	} else if !errors.Is(err, ErrUnknownTicket) {
		return "", fmt.Errorf("find repeat: %w", err)
	}
	if _, vol := c.r.volunteers[c.m.Phone]; !vol && c.r.MaxPerDay > 0 {
		n, err := c.tx.CountComplaints(c.m.Phone, c.startOfDay())
		if err != nil {
			return "", fmt.Errorf("count complaints: %w", err)
		}
		if n >= c.r.MaxPerDay {
			return "over_limit", c.reply("over_limit", "error", TemplateData{Max: c.r.MaxPerDay})
		}
	}
	t, err := c.createTicket(cmd, complainant, submitter, name, fp)
	if err != nil {
		return "", err
	}
	c.res.Ticket = t.Number
	d := c.ticketData(t)
	if submitter == "" {
		return "ticket", c.reply("ack", "ack", d)
	}
	d.Phone = MaskPhone(complainant)
	d.Name = name
	if err := c.reply("ack_kim", "ack", d); err != nil {
		return "", err
	}
	// The resident learns who filed for them: the volunteer, by name or
	// else by masked number.
	d.Name, d.Phone = c.r.volunteers[submitter].Name, MaskPhone(submitter)
	return "ticket_kim", c.notify(complainant, "ack_resident_kim", "notify", d)
}

// createTicket writes a new ticket and its first event.
func (c *conv) createTicket(cmd Command, complainant, submitter, name, fp string) (*Ticket, error) {
	cat, ok := c.r.catalog.Get(cmd.Category)
	if !ok {
		cat = c.r.fallbackCategory()
	}
	seq, err := c.tx.NextTicketSeq()
	if err != nil {
		return nil, fmt.Errorf("next ticket number: %w", err)
	}
	t := &Ticket{
		Number: TicketNumber(c.r.TicketPrefix, seq), Seq: seq, Status: Diterima,
		Category: cat.Code, OPD: cat.OPD, Location: strings.TrimSpace(cmd.Location),
		Description: strings.TrimSpace(cmd.Text), Complainant: complainant, ComplainantName: name,
		SubmittedBy: submitter, Confidential: cmd.Confidential, Channel: c.m.Channel,
		ReplyAddress: c.m.From, InboundID: c.m.ID, Fingerprint: fp,
		CreatedAt: c.now, UpdatedAt: c.now, Attachments: c.m.Attachments,
	}
	if c.r.CentralSync {
		t.SyncState = SyncPending
	}
	if err := c.tx.CreateTicket(t); err != nil {
		return nil, fmt.Errorf("create ticket: %w", err)
	}
	if err := c.queueCentralCreate(t); err != nil {
		return nil, err
	}
	note := "diterima via " + c.m.Channel
	if submitter != "" {
		note += " (KIM)"
	}
	if err := c.tx.AddEvent(&Event{Ticket: t.Number, Time: c.now, Status: Diterima, Source: "sms", Note: note}); err != nil {
		return nil, fmt.Errorf("add event: %w", err)
	}
	return t, nil
}

// fallbackCategory is where a complaint without a recognisable category
// goes: LAINNYA (triage), else the last configured category.
func (r *rules) fallbackCategory() Category {
	if cat, ok := r.catalog.Get("LAINNYA"); ok {
		return cat
	}
	all := r.catalog.All()
	if len(all) == 0 {
		return Category{Code: "LAINNYA", Name: "Lainnya"}
	}
	return all[len(all)-1]
}

// kim files a complaint for a resident on behalf of a registered volunteer.
func (c *conv) kim(cmd Command) (string, error) {
	if _, ok := c.r.volunteers[c.m.Phone]; !ok {
		return "kim_unregistered", c.reply("kim_refused", "error", TemplateData{})
	}
	resident := ""
	if r := strings.TrimSpace(cmd.Resident); r != "-" {
		p, kind := NormalizePhone(r)
		if kind != AddrMobile {
			return "kim_bad_phone", c.reply("kim_bad_phone", "error", TemplateData{Phone: r, Text: r})
		}
		resident = p
	}
	if cmd.Category == "" {
		cmd.Category = c.inferCategory(cmd.Text)
	}
	return c.complaint(cmd, resident, c.m.Phone, cmd.ResidentName)
}

// startOfDay is midnight of today in the config's zone.
func (c *conv) startOfDay() time.Time {
	t := c.now.In(c.r.loc())
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// ticketData fills the template fields that describe a ticket.
func (c *conv) ticketData(t *Ticket) TemplateData {
	return c.r.ticketData(t)
}

func (r *rules) ticketData(t *Ticket) TemplateData {
	d := TemplateData{Ticket: t.Number, Category: t.Category, OPD: t.OPD,
		Status: strings.ToUpper(string(t.Status)), Location: shortLocation(t.Location, r.City)}
	if cat, ok := r.catalog.Get(t.Category); ok && cat.Name != "" {
		d.Category = cat.Name
	}
	if r.SLA.Resolve > 0 {
		d.Deadline = r.resolveDeadline(t).Format("02/01")
	}
	return d
}

// resolveDeadline is when t must be resolved: sla.resolve working days
// from its filing, or from when it was last opened again.
func (r *rules) resolveDeadline(t *Ticket) time.Time {
	start := t.CreatedAt
	if t.ReopenedAt.After(start) {
		start = t.ReopenedAt
	}
	return r.SLA.Deadline(start, r.SLA.Resolve, r.loc())
}

// shortLocation keeps status texts short: the first 30 characters of the
// location, or the city when none was given.
func shortLocation(loc, city string) string {
	loc = strings.TrimSpace(loc)
	if loc == "" {
		return city
	}
	if r := []rune(loc); len(r) > 30 {
		return strings.TrimSpace(string(r[:30]))
	}
	return loc
}

// own looks up a ticket the sender may see: their own as complainant or as
// the volunteer who filed it. Anyone else gets ErrUnknownTicket, exactly as
// for a number that does not exist.
func (c *conv) own(number string) (*Ticket, error) {
	t, err := c.tx.Ticket(number)
	if err != nil {
		return nil, err
	}
	if c.m.Phone == "" || (t.Complainant != c.m.Phone && t.SubmittedBy != c.m.Phone) {
		return nil, fmt.Errorf("ticket %s: %w", number, ErrUnknownTicket)
	}
	return t, nil
}

// lookup validates the number a resident typed and finds their ticket. It
// queues the answer for a bad or unknown number itself and then returns
// handled=true.
func (c *conv) lookup(cmd Command) (t *Ticket, note string, err error) {
	if cmd.Ticket == "" {
		return nil, "missing_ticket", c.reply("missing_ticket", "error", TemplateData{Keyword: cmd.Keyword})
	}
	if CheckTicket(c.r.TicketPrefix, cmd.Ticket) != nil {
		return nil, "invalid_ticket", c.reply("invalid_ticket", "error", TemplateData{Ticket: cmd.Ticket})
	}
	t, err = c.own(cmd.Ticket)
	if errors.Is(err, ErrUnknownTicket) {
		return nil, "unknown_ticket", c.reply("unknown_ticket", "error", TemplateData{Ticket: cmd.Ticket})
	}
	return t, "", err
}

// status answers CEK/STATUS.
func (c *conv) status(cmd Command) (string, error) {
	if cmd.Ticket == "" {
		return c.statusList()
	}
	t, note, err := c.lookup(cmd)
	if t == nil || err != nil {
		return note, err
	}
	c.res.Ticket = t.Number
	return "status", c.reply("status", "status", c.statusData(t))
}

// statusData is ticketData plus the latest note of the department.
func (c *conv) statusData(t *Ticket) TemplateData {
	d := c.ticketData(t)
	if !t.Status.Open() {
		d.Deadline = ""
	}
	return d
}

// statusList answers a bare CEK: the sender's latest three open tickets
// (for a volunteer, also those they filed).
func (c *conv) statusList() (string, error) {
	ts, err := c.tx.Tickets(TicketFilter{Phone: c.m.Phone, Open: true, Limit: 3})
	if err != nil {
		return "", fmt.Errorf("list tickets: %w", err)
	}
	var lines []TicketLine
	for i := range ts {
		d := c.ticketData(&ts[i])
		lines = append(lines, TicketLine{Ticket: d.Ticket, Category: d.Category, Status: d.Status})
	}
	if len(lines) == 0 {
		return "status_none", c.reply("status_none", "status", TemplateData{})
	}
	return "status_list", c.reply("status_list", "status", TemplateData{Tickets: lines, Count: len(lines)})
}

// change handles TAMBAH, BATAL and BELUM on the sender's own ticket.
func (c *conv) change(cmd Command) (string, error) {
	t, note, err := c.lookup(cmd)
	if t == nil || err != nil {
		return note, err
	}
	c.res.Ticket = t.Number
	switch cmd.Kind {
	case KindAdd:
		return c.add(t, strings.TrimSpace(cmd.Text))
	case KindCancel:
		return c.cancel(t)
	}
	return c.reopen(t, strings.TrimSpace(cmd.Text))
}

// add handles TAMBAH: the text goes to the department only, so only the
// sender is answered.
func (c *conv) add(t *Ticket, text string) (string, error) {
	d := c.ticketData(t)
	if !t.Status.Open() {
		return "add_closed", c.reply("add_closed", "error", d)
	}
	if text == "" {
		return "missing_text", c.reply("missing_text", "error", d)
	}
	ev := &Event{Ticket: t.Number, Time: c.now, Source: "sms", Note: "TAMBAH: " + text}
	if err := c.tx.AddEvent(ev); err != nil {
		return "", fmt.Errorf("add event: %w", err)
	}
	if err := c.tellDepartment(t, "OPEN", ev.Note); err != nil {
		return "", err
	}
	return "added", c.reply("added", "ack", d)
}

// tellDepartment passes a resident's addition or reopening to the
// department: through the central store where it carries such changes,
// else by SMS to its humas. They also see it among the ticket's events in
// the API.
func (c *conv) tellDepartment(t *Ticket, centralStatus, note string) error {
	if c.viaCentral(t) {
		return c.queueCentralChange(t, centralStatus, note)
	}
	d := c.statusData(t)
	d.Note = note
	for _, p := range c.r.opds[t.OPD].Humas {
		if err := c.notify(p, "forward", "reminder", d); err != nil {
			return err
		}
	}
	return nil
}

// cancel handles BATAL.
func (c *conv) cancel(t *Ticket) (string, error) {
	if !t.Status.Open() {
		return "cancel_closed", c.reply("cancel_closed", "error", c.ticketData(t))
	}
	note := "dibatalkan oleh " + c.changedBy(t)
	if err := c.transition(t, Dibatalkan, "sms", note); err != nil {
		return "", err
	}
	if err := c.queueCentralChange(t, "CLOSED", "BATAL: "+note); err != nil {
		return "", err
	}
	if err := c.reply("cancelled", "ack", c.ticketData(t)); err != nil {
		return "", err
	}
	return "cancelled", c.notifyStatus(t, note, c.m.Phone)
}

// reopen handles BELUM: once, within reopenWindow after selesai.
func (c *conv) reopen(t *Ticket, text string) (string, error) {
	if t.Status != Selesai || t.Reopened > 0 || c.now.Sub(t.ClosedAt) > reopenWindow {
		return "reopen_denied", c.reply("reopen_denied", "error", c.ticketData(t))
	}
	t.Reopened++
	note := strings.TrimSpace("BELUM: " + text)
	if err := c.transition(t, Diproses, "sms", note); err != nil {
		return "", err
	}
	if err := c.tellDepartment(t, "OPEN", note); err != nil {
		return "", err
	}
	if err := c.reply("reopened", "ack", c.ticketData(t)); err != nil {
		return "", err
	}
	other := "dibuka lagi oleh " + c.changedBy(t)
	if text != "" {
		other += ": " + text
	}
	return "reopened", c.notifyStatus(t, other, c.m.Phone)
}

// changedBy names the sender of a change to the ticket's other number and
// in the event: the volunteer who filed it, or the resident.
func (c *conv) changedBy(t *Ticket) string {
	switch {
	case c.m.Phone != t.Complainant:
		return "relawan KIM"
	case t.SubmittedBy != "":
		return "warga"
	}
	return "pelapor"
}

// allowed reports whether a ticket may move from one status to another.
func allowed(from, to Status) bool {
	switch {
	case !to.Valid() || from == to:
		return false
	case from.Open():
		return to != Diterima
	case from == Selesai:
		return to == Diproses // BELUM or a reopen from the central store
	}
	return false
}

// transition changes a ticket's status with an event and saves it.
func (c *conv) transition(t *Ticket, to Status, source, note string) error {
	if !allowed(t.Status, to) {
		return fmt.Errorf("ticket %s %s → %s: %w", t.Number, t.Status, to, ErrTransition)
	}
	t.Status, t.UpdatedAt = to, c.now
	if t.RespondedAt.IsZero() && (to == Diproses || to == Ditolak || to == Selesai) && source != "sms" {
		t.RespondedAt = c.now
	}
	switch {
	case to.Open() && !t.ClosedAt.IsZero():
		// Opened again: the department gets a new resolve deadline, and
		// its reminders, from now.
		t.ClosedAt, t.ReopenedAt = time.Time{}, c.now
	case to.Open():
	default:
		t.ClosedAt = c.now
	}
	if err := c.tx.SaveTicket(t); err != nil {
		return fmt.Errorf("save ticket: %w", err)
	}
	if err := c.tx.AddEvent(&Event{Ticket: t.Number, Time: c.now, Status: to, Source: source, Note: note}); err != nil {
		return fmt.Errorf("add event: %w", err)
	}
	return nil
}

// SetStatus changes a ticket's status on behalf of an officer, the CLI or
// the central store, adds the event and queues the status SMS to the
// ticket's numbers (complainant and volunteer), unless they sent STOP.
func (e *Engine) SetStatus(ctx context.Context, number string, to Status, source, note string) error {
	res := &Result{}
	return e.update(ctx, func(tx Tx) error {
		res.Replies = nil
		c := &conv{e: e, r: e.rules.Load(), tx: tx, m: &Message{}, res: res, now: e.clock.Now()}
		t, err := tx.Ticket(number)
		if err != nil {
			return err
		}
		if err := c.transition(t, to, source, note); err != nil {
			return err
		}
		return c.notifyStatus(t, note, "")
	}, res)
}

// notifyStatus queues the status change to the ticket's own numbers
// (complainant and volunteer) but except, who made the change and gets an
// answer of their own.
func (c *conv) notifyStatus(t *Ticket, note, except string) error {
	d := c.statusData(t)
	d.Note = note
	for _, p := range uniquePhones(t.Complainant, t.SubmittedBy) {
		if p == except {
			continue
		}
		if err := c.notify(p, "notify_status", "notify", d); err != nil {
			return err
		}
	}
	return nil
}

func uniquePhones(ps ...string) []string {
	var out []string
	for _, p := range ps {
		if p == "" || (len(out) > 0 && out[0] == p) {
			continue
		}
		out = append(out, p)
	}
	return out
}

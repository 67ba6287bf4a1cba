package store

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// ticketCols lists the tickets columns in the order scanTicket reads them.
const ticketCols = `number, seq, status, category, opd, location, description, complainant,
	complainant_name, submitted_by, confidential, channel, reply_address, inbound_id, fingerprint,
	reopened, central_id, sync_state, sync_error, created_at, updated_at, responded_at, closed_at,
	reopened_at`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect reads rows with scan and closes them.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanTicketRow is scanTicket for collect.
func scanTicketRow(s scanner) (intake.Ticket, error) {
	t, err := scanTicket(s)
	if err != nil {
		return intake.Ticket{}, err
	}
	return *t, nil
}

// scanTicket reads one row of ticketCols.
func scanTicket(s scanner) (*intake.Ticket, error) {
	var t intake.Ticket
	err := s.Scan(&t.Number, &t.Seq, &t.Status, &t.Category, &t.OPD, &t.Location, &t.Description,
		&t.Complainant, &t.ComplainantName, &t.SubmittedBy, &t.Confidential, &t.Channel,
		&t.ReplyAddress, &t.InboundID, &t.Fingerprint, &t.Reopened, &t.CentralID, &t.SyncState,
		&t.SyncError, tm(&t.CreatedAt), tm(&t.UpdatedAt), tm(&t.RespondedAt), tm(&t.ClosedAt),
		tm(&t.ReopenedAt))
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// CreateTicket stores a new ticket and its attachments. A zero CreatedAt is
// set from the clock, a zero UpdatedAt to CreatedAt, an empty Status to
// diterima; the values used are written back to t.
func (t *tx) CreateTicket(tk *intake.Ticket) error {
	if tk.CreatedAt.IsZero() {
		tk.CreatedAt = t.now()
	}
	if tk.UpdatedAt.IsZero() {
		tk.UpdatedAt = tk.CreatedAt
	}
	if tk.Status == "" {
		tk.Status = intake.Diterima
	}
	_, err := t.exec(`INSERT INTO tickets (`+ticketCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tk.Number, tk.Seq, tk.Status, tk.Category, tk.OPD, tk.Location, tk.Description,
		tk.Complainant, tk.ComplainantName, tk.SubmittedBy, tk.Confidential, tk.Channel,
		tk.ReplyAddress, tk.InboundID, tk.Fingerprint, tk.Reopened, tk.CentralID, tk.SyncState,
		tk.SyncError, tk.CreatedAt.UnixMilli(), tk.UpdatedAt.UnixMilli(),
		msOrNull(tk.RespondedAt), msOrNull(tk.ClosedAt), msOrNull(tk.ReopenedAt))
	if err != nil {
		return fmt.Errorf("create ticket %s: %w", tk.Number, err)
	}
	for _, a := range tk.Attachments {
		_, err := t.exec("INSERT INTO attachments (ticket, url, content_type) VALUES (?, ?, ?)",
			tk.Number, a.URL, a.ContentType)
		if err != nil {
			return fmt.Errorf("create ticket %s: attachment: %w", tk.Number, err)
		}
	}
	return nil
}

// Ticket returns a ticket with its attachments (no events) or ErrUnknownTicket.
func (t *tx) Ticket(number string) (*intake.Ticket, error) {
	tk, err := scanTicket(t.q.QueryRowContext(t.ctx,
		"SELECT "+ticketCols+" FROM tickets WHERE number = ?", number))
	if errNoRows(err) {
		return nil, fmt.Errorf("ticket %s: %w", number, intake.ErrUnknownTicket)
	}
	if err != nil {
		return nil, fmt.Errorf("read ticket %s: %w", number, err)
	}
	if tk.Attachments, err = t.attachments(number); err != nil {
		return nil, err
	}
	return tk, nil
}

// attachments returns the attachments of a ticket in insertion order.
func (t *tx) attachments(number string) ([]intake.Attachment, error) {
	rows, err := t.q.QueryContext(t.ctx,
		"SELECT url, content_type FROM attachments WHERE ticket = ? ORDER BY id", number)
	if err != nil {
		return nil, fmt.Errorf("read attachments of %s: %w", number, err)
	}
	defer rows.Close()
	var as []intake.Attachment
	for rows.Next() {
		var a intake.Attachment
		if err := rows.Scan(&a.URL, &a.ContentType); err != nil {
			return nil, fmt.Errorf("read attachments of %s: %w", number, err)
		}
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read attachments of %s: %w", number, err)
	}
	return as, nil
}

// TicketDetail returns a ticket with its attachments and events (oldest first).
func (t *tx) TicketDetail(number string) (*intake.Ticket, error) {
	tk, err := t.Ticket(number)
	if err != nil {
		return nil, err
	}
	rows, err := t.q.QueryContext(t.ctx,
		"SELECT id, time, status, source, note FROM events WHERE ticket = ? ORDER BY time, id", number)
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", number, err)
	}
	defer rows.Close()
	for rows.Next() {
		e := intake.Event{Ticket: number}
		if err := rows.Scan(&e.ID, tm(&e.Time), &e.Status, &e.Source, &e.Note); err != nil {
			return nil, fmt.Errorf("read events of %s: %w", number, err)
		}
		tk.Events = append(tk.Events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events of %s: %w", number, err)
	}
	return tk, nil
}

// SaveTicket writes the mutable fields of tk. updated_at is always set from
// the clock (and written back to tk) so a save can never leave it stale.
func (t *tx) SaveTicket(tk *intake.Ticket) error {
	tk.UpdatedAt = t.now()
	n, err := t.exec(`UPDATE tickets SET status = ?, category = ?, opd = ?, location = ?,
		description = ?, reopened = ?, central_id = ?, sync_state = ?, sync_error = ?,
		responded_at = ?, closed_at = ?, reopened_at = ?, updated_at = ? WHERE number = ?`,
		tk.Status, tk.Category, tk.OPD, tk.Location, tk.Description, tk.Reopened, tk.CentralID,
		tk.SyncState, tk.SyncError, msOrNull(tk.RespondedAt), msOrNull(tk.ClosedAt), msOrNull(tk.ReopenedAt),
		tk.UpdatedAt.UnixMilli(), tk.Number)
	if err != nil {
		return fmt.Errorf("save ticket %s: %w", tk.Number, err)
	}
	if n == 0 {
		return fmt.Errorf("save ticket %s: %w", tk.Number, intake.ErrUnknownTicket)
	}
	return nil
}

// AddEvent stores an event and sets e.ID; a zero Time is set from the clock.
func (t *tx) AddEvent(e *intake.Event) error {
	if e.Time.IsZero() {
		e.Time = t.now()
	}
	res, err := t.q.ExecContext(t.ctx, "INSERT INTO events (ticket, time, status, source, note) VALUES (?, ?, ?, ?, ?)",
		e.Ticket, e.Time.UnixMilli(), e.Status, e.Source, e.Note)
	if isForeignKey(err) {
		return fmt.Errorf("add event: ticket %s: %w", e.Ticket, intake.ErrUnknownTicket)
	}
	if err != nil {
		return fmt.Errorf("add event to %s: %w", e.Ticket, err)
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("add event to %s: %w", e.Ticket, err)
	}
	return nil
}

// Tickets lists tickets matching f, newest first (without attachments or
// events). Limit defaults to 50, at most 500.
func (t *tx) Tickets(f intake.TicketFilter) ([]intake.Ticket, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.Category != "" {
		add("category = ?", f.Category)
	}
	if f.OPD != "" {
		add("opd = ?", f.OPD)
	}
	if f.Phone != "" {
		add("(complainant = ? OR submitted_by = ?)", f.Phone, f.Phone)
	}
	if f.Open {
		add("status IN (?, ?, ?)", intake.Diterima, intake.Diteruskan, intake.Diproses)
	}
	if f.Central {
		add("central_id != ''")
	}
	q := "SELECT " + ticketCols + " FROM tickets"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?"
	args = append(args, clampLimit(f.Limit, 50, 500), max(f.Offset, 0))
	rows, err := t.q.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	ts, err := collect(rows, scanTicketRow)
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	return ts, nil
}

// RecentComplaint returns the newest ticket filed by phone (as complainant
// or volunteer) with fingerprint, created at or after since.
func (t *tx) RecentComplaint(phone, fingerprint string, since time.Time) (*intake.Ticket, error) {
	if phone == "" {
		// No number, no identity: anonymous tickets are not one sender's.
		return nil, fmt.Errorf("recent complaint: %w", intake.ErrUnknownTicket)
	}
	tk, err := scanTicket(t.q.QueryRowContext(t.ctx, "SELECT "+ticketCols+` FROM tickets
		WHERE (complainant = ?1 OR submitted_by = ?1) AND fingerprint = ?2 AND created_at >= ?3
		ORDER BY created_at DESC LIMIT 1`, phone, fingerprint, since.UnixMilli()))
	if errNoRows(err) {
		return nil, fmt.Errorf("recent complaint: %w", intake.ErrUnknownTicket)
	}
	if err != nil {
		return nil, fmt.Errorf("recent complaint: %w", err)
	}
	return tk, nil
}

// CountComplaints counts self-filed tickets of phone created at or after
// since; an empty phone has filed none.
func (t *tx) CountComplaints(phone string, since time.Time) (int, error) {
	if phone == "" {
		return 0, nil
	}
	var n int
	err := t.q.QueryRowContext(t.ctx, `SELECT COUNT(*) FROM tickets
		WHERE complainant = ? AND +submitted_by = '' AND created_at >= ?`, phone, since.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count complaints: %w", err)
	}
	return n, nil
}

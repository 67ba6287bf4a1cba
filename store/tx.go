package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kotamalang/sambatd/intake"
	sqlite3 "github.com/mattn/go-sqlite3"
)

// querier is what a tx needs from *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx implements intake.Tx on one SQL transaction (a savepoint of the
// writer's batch, or a read-only snapshot).
type tx struct {
	ctx   context.Context
	q     querier
	clock intake.Clock
}

// now returns the clock's time.
func (t *tx) now() time.Time { return t.clock.Now() }

// exec runs a statement and returns the number of rows it changed.
func (t *tx) exec(query string, args ...any) (int64, error) {
	res, err := t.q.ExecContext(t.ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// SetOptOut records whether phone has opted out of messages.
func (t *tx) SetOptOut(phone string, out bool, at time.Time) error {
	if at.IsZero() {
		at = t.now()
	}
	_, err := t.exec(`INSERT INTO optouts (phone, opted_out, updated_at) VALUES (?, ?, ?)
		ON CONFLICT(phone) DO UPDATE SET opted_out = excluded.opted_out, updated_at = excluded.updated_at`,
		phone, out, at.UnixMilli())
	if err != nil {
		return fmt.Errorf("set opt-out: %w", err)
	}
	return nil
}

// OptedOut reports whether phone has opted out; unknown phones have not.
func (t *tx) OptedOut(phone string) (bool, error) {
	var out bool
	err := t.q.QueryRowContext(t.ctx, "SELECT opted_out FROM optouts WHERE phone = ?", phone).Scan(&out)
	if errNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read opt-out: %w", err)
	}
	return out, nil
}

// Session returns a stored dialog session, expired or not, or ErrNotFound.
func (t *tx) Session(key string) (*intake.Session, error) {
	s := &intake.Session{Key: key}
	err := t.q.QueryRowContext(t.ctx, "SELECT phone, state, updated, expires FROM sessions WHERE key = ?", key).
		Scan(&s.Phone, &s.State, tm(&s.Updated), tm(&s.Expires))
	if errNoRows(err) {
		return nil, fmt.Errorf("session: %w", intake.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	return s, nil
}

// PutSession creates or replaces a session; a zero Updated is set from the clock.
func (t *tx) PutSession(s *intake.Session) error {
	if s.Updated.IsZero() {
		s.Updated = t.now()
	}
	_, err := t.exec(`INSERT INTO sessions (key, phone, state, updated, expires) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET phone = excluded.phone, state = excluded.state,
			updated = excluded.updated, expires = excluded.expires`,
		s.Key, s.Phone, s.State, s.Updated.UnixMilli(), msOrNull(s.Expires))
	if err != nil {
		return fmt.Errorf("put session: %w", err)
	}
	return nil
}

// DeleteSession removes a session; removing a missing one is not an error.
func (t *tx) DeleteSession(key string) error {
	if _, err := t.exec("DELETE FROM sessions WHERE key = ?", key); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Counter increments the named counter (starting at 1) and returns it.
func (t *tx) Counter(name string) (int64, error) {
	return t.counter(name, 1)
}

// ticketCounter is the counter behind NextTicketSeq.
const ticketCounter = "ticket"

// firstTicketSeq is the first ticket sequence, so numbers have no leading zeros.
const firstTicketSeq = 100000

// NextTicketSeq returns the next ticket sequence, starting at 100000.
func (t *tx) NextTicketSeq() (int64, error) {
	return t.counter(ticketCounter, firstTicketSeq)
}

// counter increments name, creating it at first when missing.
func (t *tx) counter(name string, first int64) (int64, error) {
	var v int64
	err := t.q.QueryRowContext(t.ctx, `INSERT INTO counters (name, value) VALUES (?, ?)
		ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value`, name, first).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("counter %s: %w", name, err)
	}
	return v, nil
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// isForeignKey reports whether err is a foreign-key violation.
func isForeignKey(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintForeignKey
}

// clampLimit applies a default and a maximum to a listing limit.
func clampLimit(n, def, max int) int {
	if n <= 0 {
		return def
	}
	if n > max {
		return max
	}
	return n
}

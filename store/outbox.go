package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// outboxCols lists the outbox columns in the order scanOutgoing reads them.
const outboxCols = `id, channel, address, phone, text, kind, ticket, inbound_id, status, attempts,
	next_at, last_error, provider_id, sent_via, created_at, sent_at`

// scanOutgoing reads one row of outboxCols.
func scanOutgoing(s scanner) (intake.Outgoing, error) {
	var o intake.Outgoing
	err := s.Scan(&o.ID, &o.Channel, &o.To, &o.Phone, &o.Text, &o.Kind, &o.Ticket, &o.InboundID,
		&o.Status, &o.Attempts, tm(&o.NextAt), &o.LastError, &o.ProviderID, &o.SentVia,
		tm(&o.CreatedAt), tm(&o.SentAt))
	return o, err
}

// Enqueue adds an outbox row and sets o.ID. A zero CreatedAt is set from the
// clock, a zero NextAt to CreatedAt (due at once), an empty Status to queued.
func (t *tx) Enqueue(o *intake.Outgoing) error {
	if o.CreatedAt.IsZero() {
		o.CreatedAt = t.now()
	}
	if o.NextAt.IsZero() {
		o.NextAt = o.CreatedAt
	}
	if o.Status == "" {
		o.Status = intake.OutQueued
	}
	res, err := t.q.ExecContext(t.ctx, `INSERT INTO outbox (channel, address, phone, text, kind, ticket,
		inbound_id, status, attempts, next_at, last_error, provider_id, sent_via, created_at, sent_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.Channel, o.To, o.Phone, o.Text, o.Kind, o.Ticket, o.InboundID, o.Status, o.Attempts,
		o.NextAt.UnixMilli(), o.LastError, o.ProviderID, o.SentVia, o.CreatedAt.UnixMilli(),
		msOrNull(o.SentAt), o.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	if o.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	return nil
}

// CountOutbox counts rows to phone of the given kinds (any kind when kinds
// is empty) created at or after since.
func (t *tx) CountOutbox(phone string, kinds []string, since time.Time) (int, error) {
	q := "SELECT COUNT(*) FROM outbox WHERE phone = ? AND created_at >= ?"
	args := []any{phone, since.UnixMilli()}
	if len(kinds) > 0 {
		q += " AND kind IN (" + placeholders(len(kinds)) + ")"
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	var n int
	if err := t.q.QueryRowContext(t.ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return n, nil
}

// LastOutboxText returns the text of the newest row to phone created since
// t (the outbox_phone index), or intake.ErrNotFound.
func (t *tx) LastOutboxText(phone string, since time.Time) (string, error) {
	var text string
	err := t.q.QueryRowContext(t.ctx, `SELECT text FROM outbox WHERE phone = ? AND created_at >= ?
		ORDER BY created_at DESC, id DESC LIMIT 1`, phone, since.UnixMilli()).Scan(&text)
	if errNoRows(err) {
		return "", fmt.Errorf("last outbox text: %w", intake.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("last outbox text: %w", err)
	}
	return text, nil
}

// Claim marks up to limit queued rows due at now on one of channels as
// sending (attempts+1) and returns them by id. The rows taken are the
// earliest due (next_at, then id: first come, first sent). "" in channels
// claims the rows that may go on any channel. limit defaults to 10.
func (d *DB) Claim(ctx context.Context, channels []string, now time.Time, limit int) ([]intake.Outgoing, error) {
	if len(channels) == 0 {
		return nil, nil
	}
	limit = clampLimit(limit, 10, 500)
	args := []any{d.clock.Now().UnixMilli(), now.UnixMilli()}
	for _, c := range channels {
		args = append(args, c)
	}
	args = append(args, limit)
	q := `UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ?
		WHERE id IN (SELECT id FROM outbox WHERE status = 'queued' AND next_at <= ?
			AND channel IN (` + placeholders(len(channels)) + `) ORDER BY next_at, id LIMIT ?)
		RETURNING ` + outboxCols
	var claimed []intake.Outgoing
	err := d.doBulk(ctx, func(stx querier) error {
		rows, err := stx.QueryContext(context.Background(), q, args...)
		if err != nil {
			return err
		}
		claimed, err = collect(rows, scanOutgoing)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	sort.Slice(claimed, func(i, j int) bool { return claimed[i].ID < claimed[j].ID })
	return claimed, nil
}

// MarkSent records that row id left via a channel with a provider id. A row
// a delivery report already reached keeps its delivery status.
func (d *DB) MarkSent(ctx context.Context, id int64, via, providerID string, at time.Time) error {
	if at.IsZero() {
		at = d.clock.Now()
	}
	return d.updateRow(ctx, "mark sent", id, `UPDATE outbox SET
		status = CASE WHEN status IN ('delivered', 'undelivered') THEN status ELSE 'sent' END,
		sent_via = ?, provider_id = ?, sent_at = ?, updated_at = ? WHERE id = ?`,
		via, providerID, at.UnixMilli(), d.clock.Now().UnixMilli(), id)
}

// MarkRetry puts row id back in the queue, not before next.
func (d *DB) MarkRetry(ctx context.Context, id int64, reason string, next time.Time) error {
	return d.updateRow(ctx, "mark retry", id,
		"UPDATE outbox SET status = 'queued', next_at = ?, last_error = ?, updated_at = ? WHERE id = ?",
		next.UnixMilli(), reason, d.clock.Now().UnixMilli(), id)
}

// MarkFailed gives up on row id.
func (d *DB) MarkFailed(ctx context.Context, id int64, reason string, at time.Time) error {
	if at.IsZero() {
		at = d.clock.Now()
	}
	return d.updateRow(ctx, "mark failed", id,
		"UPDATE outbox SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
		reason, at.UnixMilli(), id)
}

// updateRow runs a one-row update (of the outbox or the jobs) through the
// writer; ErrNotFound when no row has that id.
func (d *DB) updateRow(ctx context.Context, what string, id int64, q string, args ...any) error {
	err := d.doBulk(ctx, func(stx querier) error {
		res, err := stx.ExecContext(context.Background(), q, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return firstErr(err, intake.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s %d: %w", what, id, err)
	}
	return nil
}

// deliveryStatuses are the outcomes a delivery report may record.
var deliveryStatuses = []string{intake.OutDelivered, intake.OutUndelivered, intake.OutFailed}

// MarkDelivery records a delivery report on the newest row sent via that
// channel with providerID. A delivered row stays delivered (reports may
// arrive out of order). ErrNotFound when no row matches. It is not bulk
// work: a report is a webhook or a SIM entry waiting for this commit.
func (d *DB) MarkDelivery(ctx context.Context, via, providerID, status string, at time.Time) error {
	if !slices.Contains(deliveryStatuses, status) {
		return fmt.Errorf("mark delivery: status %q is not one of %v", status, deliveryStatuses)
	}
	if providerID == "" {
		return fmt.Errorf("mark delivery: empty provider id: %w", intake.ErrNotFound)
	}
	if at.IsZero() {
		at = d.clock.Now()
	}
	err := d.do(ctx, func(stx querier) error {
		var id int64
		var cur string
		err := stx.QueryRowContext(context.Background(), `SELECT id, status FROM outbox
			WHERE sent_via = ? AND provider_id = ? ORDER BY id DESC LIMIT 1`, via, providerID).Scan(&id, &cur)
		if errNoRows(err) {
			return intake.ErrNotFound
		}
		if err != nil || cur == intake.OutDelivered {
			return err
		}
		_, err = stx.ExecContext(context.Background(),
			"UPDATE outbox SET status = ?, updated_at = ? WHERE id = ?", status, at.UnixMilli(), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark delivery %s/%s: %w", via, providerID, err)
	}
	return nil
}

// RequeueInflight turns every row left "sending" back to "queued" and
// returns how many there were.
func (d *DB) RequeueInflight(ctx context.Context) (int, error) {
	var n int64
	err := d.do(ctx, func(stx querier) error {
		res, err := stx.ExecContext(context.Background(),
			"UPDATE outbox SET status = 'queued', updated_at = ? WHERE status = 'sending'", d.clock.Now().UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("requeue inflight: %w", err)
	}
	return int(n), nil
}

// OutboxFilter selects outbox rows for operators.
type OutboxFilter struct {
	Status string // "" for any
	Limit  int    // default 50, at most 500
}

// Outbox lists outbox rows, newest first.
func (d *DB) Outbox(ctx context.Context, f OutboxFilter) ([]intake.Outgoing, error) {
	q := "SELECT " + outboxCols + " FROM outbox"
	var args []any
	if f.Status != "" {
		q += " WHERE status = ?"
		args = append(args, f.Status)
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, clampLimit(f.Limit, 50, 500))
	rows, err := d.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	out, err := collect(rows, scanOutgoing)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return out, nil
}

// RetryOutbox queues a failed, cancelled or queued row to go now.
// ErrNotFound when no row has that id, ErrTransition for any other status.
func (d *DB) RetryOutbox(ctx context.Context, id int64) error {
	now := d.clock.Now().UnixMilli()
	return d.transition(ctx, "retry outbox", id,
		[]string{intake.OutFailed, intake.OutCancelled, intake.OutQueued},
		"UPDATE outbox SET status = 'queued', next_at = ?, updated_at = ? WHERE id = ?", now, now, id)
}

// CancelOutbox cancels a queued or failed row. ErrNotFound when no row has
// that id, ErrTransition for any other status.
func (d *DB) CancelOutbox(ctx context.Context, id int64) error {
	return d.transition(ctx, "cancel outbox", id, []string{intake.OutQueued, intake.OutFailed},
		"UPDATE outbox SET status = 'cancelled', updated_at = ? WHERE id = ?", d.clock.Now().UnixMilli(), id)
}

// transition runs q on row id if its status is one of from.
func (d *DB) transition(ctx context.Context, what string, id int64, from []string, q string, args ...any) error {
	err := d.do(ctx, func(stx querier) error {
		var cur string
		err := stx.QueryRowContext(context.Background(), "SELECT status FROM outbox WHERE id = ?", id).Scan(&cur)
		if errNoRows(err) {
			return intake.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !slices.Contains(from, cur) {
			return fmt.Errorf("row is %s: %w", cur, intake.ErrTransition)
		}
		_, err = stx.ExecContext(context.Background(), q, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %d: %w", what, id, err)
	}
	return nil
}

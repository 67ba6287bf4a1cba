package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// JobLease is how long a claimed job is kept from being claimed again. It
// outlasts any request to the central store, so only a crash mid-job makes
// a job wait for it.
const JobLease = 5 * time.Minute

// jobCols lists the jobs columns in the order scanJob reads them.
const jobCols = `id, kind, ticket, payload, status, attempts, next_at, last_error, created_at, updated_at`

// scanJob reads one row of jobCols.
func scanJob(s scanner) (intake.Job, error) {
	var j intake.Job
	err := s.Scan(&j.ID, &j.Kind, &j.Ticket, &j.Payload, &j.Status, &j.Attempts, tm(&j.NextAt),
		&j.LastError, tm(&j.CreatedAt), tm(&j.UpdatedAt))
	return j, err
}

// EnqueueJob queues a central store job and sets j.ID. A second create job
// for the same ticket changes nothing: it returns fresh=false with the
// existing job's id. A zero CreatedAt is set from the clock, a zero NextAt
// to CreatedAt, an empty Status to queued.
func (t *tx) EnqueueJob(j *intake.Job) (bool, error) {
	if j.CreatedAt.IsZero() {
		j.CreatedAt = t.now()
	}
	if j.NextAt.IsZero() {
		j.NextAt = j.CreatedAt
	}
	if j.Status == "" {
		j.Status = intake.JobQueued
	}
	j.UpdatedAt = j.CreatedAt
	res, err := t.q.ExecContext(t.ctx, `INSERT INTO jobs (kind, ticket, payload, status, attempts, next_at,
		last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		j.Kind, j.Ticket, j.Payload, j.Status, j.Attempts, j.NextAt.UnixMilli(), j.LastError,
		j.CreatedAt.UnixMilli(), j.UpdatedAt.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("enqueue %s job for %s: %w", j.Kind, j.Ticket, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		err = firstErr(err, t.q.QueryRowContext(t.ctx, "SELECT id FROM jobs WHERE kind = ? AND ticket = ?",
			j.Kind, j.Ticket).Scan(&j.ID))
		if err != nil {
			return false, fmt.Errorf("enqueue %s job for %s: existing: %w", j.Kind, j.Ticket, err)
		}
		return false, nil
	}
	if j.ID, err = res.LastInsertId(); err != nil {
		return false, fmt.Errorf("enqueue %s job for %s: %w", j.Kind, j.Ticket, err)
	}
	return true, nil
}

// Seen records that (kind, key) was handled at at and reports whether it is
// new. It is how central updates are deduplicated and how each reminder is
// sent once.
func (t *tx) Seen(kind, key string, at time.Time) (bool, error) {
	if at.IsZero() {
		at = t.now()
	}
	n, err := t.exec("INSERT INTO seen (kind, key, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		kind, key, at.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("seen %s: %w", kind, err)
	}
	return n == 1, nil
}

// TicketByCentralID returns the ticket the central store knows by id, or
// ErrUnknownTicket.
func (t *tx) TicketByCentralID(id string) (*intake.Ticket, error) {
	if id == "" {
		return nil, fmt.Errorf("central id %q: %w", id, intake.ErrUnknownTicket)
	}
	var number string
	err := t.q.QueryRowContext(t.ctx,
		"SELECT number FROM tickets WHERE central_id = ? ORDER BY seq DESC LIMIT 1", id).Scan(&number)
	if errNoRows(err) {
		return nil, fmt.Errorf("central id %q: %w", id, intake.ErrUnknownTicket)
	}
	if err != nil {
		return nil, fmt.Errorf("ticket by central id %q: %w", id, err)
	}
	return t.Ticket(number)
}

// ClaimJobs leases up to limit queued jobs due at now, oldest first,
// leaving out every job behind an earlier queued job of the same ticket
// (so an update never overtakes the ticket's creation). A leased job is due
// again only after JobLease. limit defaults to 20.
func (d *DB) ClaimJobs(ctx context.Context, now time.Time, limit int) ([]intake.Job, error) {
	q := `UPDATE jobs SET next_at = ?, updated_at = ?
		WHERE id IN (SELECT j.id FROM jobs j WHERE j.status = 'queued' AND j.next_at <= ?
			AND NOT EXISTS (SELECT 1 FROM jobs p WHERE p.ticket = j.ticket AND p.status = 'queued' AND p.id < j.id)
			ORDER BY j.id LIMIT ?)
		RETURNING ` + jobCols
	args := []any{now.Add(JobLease).UnixMilli(), d.clock.Now().UnixMilli(), now.UnixMilli(),
		clampLimit(limit, 20, 500)}
	var claimed []intake.Job
	err := d.doBulk(ctx, func(stx querier) error {
		rows, err := stx.QueryContext(context.Background(), q, args...)
		if err != nil {
			return err
		}
		claimed, err = collect(rows, scanJob)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	sort.Slice(claimed, func(i, j int) bool { return claimed[i].ID < claimed[j].ID })
	return claimed, nil
}

// FinishJob records the outcome of job id: lastErr "" marks it done; else
// it counts an attempt and is failed for good when next is zero, queued
// again at next otherwise. ErrNotFound when no job has that id.
func (d *DB) FinishJob(ctx context.Context, id int64, lastErr string, next time.Time) error {
	now := d.clock.Now().UnixMilli()
	switch {
	case lastErr == "":
		return d.updateRow(ctx, "finish job", id,
			"UPDATE jobs SET status = 'done', last_error = '', updated_at = ? WHERE id = ?", now, id)
	case next.IsZero():
		return d.updateRow(ctx, "fail job", id, `UPDATE jobs SET status = 'failed', attempts = attempts + 1,
			last_error = ?, updated_at = ? WHERE id = ?`, lastErr, now, id)
	}
	return d.updateRow(ctx, "retry job", id, `UPDATE jobs SET status = 'queued', attempts = attempts + 1,
		next_at = ?, last_error = ?, updated_at = ? WHERE id = ?`, next.UnixMilli(), lastErr, now, id)
}

// ReleaseJobs makes claimed jobs that were not tried due at next, without
// counting an attempt. Jobs no longer queued are left alone.
func (d *DB) ReleaseJobs(ctx context.Context, ids []int64, next time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{next.UnixMilli(), d.clock.Now().UnixMilli()}
	for _, id := range ids {
		args = append(args, id)
	}
	err := d.doBulk(ctx, func(stx querier) error {
		_, err := stx.ExecContext(context.Background(), `UPDATE jobs SET next_at = ?, updated_at = ?
			WHERE status = 'queued' AND id IN (`+placeholders(len(ids))+`)`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("release jobs: %w", err)
	}
	return nil
}

// SetJobPayload replaces the payload of job id. ErrNotFound when no job has
// that id.
func (d *DB) SetJobPayload(ctx context.Context, id int64, payload string) error {
	return d.updateRow(ctx, "set job payload", id, "UPDATE jobs SET payload = ?, updated_at = ? WHERE id = ?",
		payload, d.clock.Now().UnixMilli(), id)
}

// RetryFailedJobs queues every failed job again, due now, for an operator
// who fixed what made the central store refuse them. It returns how many.
func (d *DB) RetryFailedJobs(ctx context.Context) (int, error) {
	var n int64
	now := d.clock.Now().UnixMilli()
	err := d.do(ctx, func(stx querier) error {
		res, err := stx.ExecContext(context.Background(),
			"UPDATE jobs SET status = 'queued', next_at = ?, updated_at = ? WHERE status = 'failed'", now, now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("retry failed jobs: %w", err)
	}
	return int(n), nil
}

// Jobs lists the jobs of a ticket ("" for every ticket), oldest first, at
// most 500.
func (d *DB) Jobs(ctx context.Context, ticket string) ([]intake.Job, error) {
	q := "SELECT " + jobCols + " FROM jobs"
	var args []any
	if ticket != "" {
		q += " WHERE ticket = ?"
		args = append(args, ticket)
	}
	rows, err := d.rdb.QueryContext(ctx, q+" ORDER BY id LIMIT 500", args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	js, err := collect(rows, scanJob)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return js, nil
}

// JobStats counts queued and failed jobs, with the oldest queued job's age
// and the newest error, from the read pool.
func (d *DB) JobStats(ctx context.Context) (intake.JobStats, error) {
	var s intake.JobStats
	var oldest sql.NullInt64
	err := d.rdb.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(status = 'queued'), 0), COALESCE(SUM(status = 'failed'), 0),
		MIN(CASE WHEN status = 'queued' THEN created_at END) FROM jobs WHERE status IN ('queued', 'failed')`).
		Scan(&s.Queued, &s.Failed, &oldest)
	if err != nil {
		return s, fmt.Errorf("job stats: %w", err)
	}
	if oldest.Valid {
		s.OldestQueued = time.UnixMilli(oldest.Int64).UTC()
	}
	err = d.rdb.QueryRowContext(ctx, `SELECT last_error FROM jobs
		WHERE status IN ('queued', 'failed') AND last_error != '' ORDER BY updated_at DESC, id DESC LIMIT 1`).
		Scan(&s.LastError)
	if err != nil && !errNoRows(err) {
		return s, fmt.Errorf("job stats: %w", err)
	}
	return s, nil
}

// The state table's statements, shared with the erasure's cursors.
const (
	selectState = "SELECT value FROM state WHERE key = ?"
	upsertState = `INSERT INTO state (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
)

// State returns the value stored under key, or ErrNotFound.
func (d *DB) State(ctx context.Context, key string) (string, error) {
	var v string
	err := d.rdb.QueryRowContext(ctx, selectState, key).Scan(&v)
	if errNoRows(err) {
		return "", fmt.Errorf("state %s: %w", key, intake.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read state %s: %w", key, err)
	}
	return v, nil
}

// SetState stores value under key.
func (d *DB) SetState(ctx context.Context, key, value string) error {
	now := d.clock.Now().UnixMilli()
	err := d.do(ctx, func(stx querier) error {
		_, err := stx.ExecContext(context.Background(), upsertState, key, value, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("set state %s: %w", key, err)
	}
	return nil
}

// DB must satisfy the central store worker's interface.
var _ intake.JobStore = (*DB)(nil)

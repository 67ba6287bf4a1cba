package store

import (
	"context"
	"fmt"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// Erased counts what one erasure run changed.
type Erased struct {
	Tickets  int // tickets closed before the cut-off, with their messages and replies
	Inbound  int // other messages blanked
	Outbox   int // other outbox rows blanked
	Parts    int // parts of long messages deleted
	Sessions int // dialog sessions deleted
	Records  int // bookkeeping deleted: reminders and digests sent, central jobs done
}

// ErasePastRetention erases the personal data kept since before (now
// minus store.retention): first the tickets closed before it
// (EraseClosedPhones), then every row older than it that no ticket still
// kept whole leads to, i.e. no ticket open or closed after before:
//   - inbound messages received before it lose phone, sender, raw bytes
//     and external id ("erased:<id>"; a modem's dedup key holds the
//     sender), keeping text, note and ticket. Messages not yet acted on
//     (pending) wait.
//   - outbox rows created before it lose phone and address, keeping text
//     and outcome; a row being sent keeps them until it has an outcome,
//     and one still queued is given up (failed, expired).
//   - parts of long messages received before it are deleted, joined or
//     not: they serve to recognise a redelivery or to join a message, and
//     a year later they do neither.
//   - dialog sessions that expired before it are deleted.
//   - bookkeeping: records of digests, of reminders about closed tickets,
//     and central jobs done for tickets closed before it, are deleted.
//
// Each step works in chunks of eraseChunk rows, one short transaction
// each, so a large first run never holds the writer for long.
func (d *DB) ErasePastRetention(ctx context.Context, before time.Time) (Erased, error) {
	var e Erased
	var err error
	if e.Tickets, err = d.EraseClosedPhones(ctx, before); err != nil {
		return e, err
	}
	ms := before.UnixMilli()
	closed := []any{intake.Selesai, intake.Ditolak, intake.Dibatalkan}
	if e.Inbound, err = d.eraseWalk(ctx, looseInbound, ms, closed...); err != nil {
		return e, fmt.Errorf("erase past retention: messages: %w", err)
	}
	if e.Outbox, err = d.eraseWalk(ctx, looseOutbox, ms,
		append(closed, intake.OutQueued, intake.OutSending, d.clock.Now().UnixMilli())...); err != nil {
		return e, fmt.Errorf("erase past retention: outbox: %w", err)
	}
	if e.Parts, err = d.eraseChunks(ctx, erasePartsQuery, func() []any { return []any{ms, eraseChunk} }); err != nil {
		return e, fmt.Errorf("erase past retention: parts: %w", err)
	}
	if e.Sessions, err = d.eraseChunks(ctx, eraseSessionsQuery, func() []any { return []any{ms, eraseChunk} }); err != nil {
		return e, fmt.Errorf("erase past retention: sessions: %w", err)
	}
	for _, q := range []struct {
		what string
		q    string
		args []any
	}{
		{"digests", pruneDigestsQuery, []any{ms, eraseChunk, intake.SeenDigest}},
		{"reminders", pruneRemindersQuery, append([]any{ms, eraseChunk}, anySlice(intake.ReminderKinds)...)},
		{"jobs", pruneJobsQuery, append([]any{ms, eraseChunk, intake.JobDone}, closed...)},
	} {
		n, err := d.eraseChunks(ctx, q.q, func() []any { return q.args })
		e.Records += n
		if err != nil {
			return e, fmt.Errorf("erase past retention: %s: %w", q.what, err)
		}
	}
	return e, nil
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// eraseChunks runs q, which changes at most eraseChunk rows, in one
// transaction after another until a run changes fewer, and returns how
// many rows it changed. args is called for each run (the clock moves).
func (d *DB) eraseChunks(ctx context.Context, q string, args func() []any) (int, error) {
	total := 0
	for {
		var n int64
		err := d.do(ctx, func(stx querier) error {
			res, err := stx.ExecContext(context.Background(), q, args()...)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		total += int(n)
		if err != nil {
			return total, err
		}
		if n < eraseChunk {
			return total, nil
		}
	}
}

// walk is a table whose rows past retention are erased in id order,
// behind a cursor kept in the state table. Rows are stored in time order
// (ids and times rise together), so the rows past retention are the
// oldest ids: no index on time is needed, and an insert, the hot path of
// intake, maintains nothing more.
type walk struct {
	cursor string // state key of the last id walked past
	// window reads up to ?2 rows after id ?1 in id order: id, and
	// whether the row must wait (too young for cut-off ?3, or still in
	// use: a message not yet acted on, a reply not yet sent).
	window string
	// erase erases the rows with ids in (?1, ?2] that are past cut-off
	// ?3 and that no ticket kept whole holds; extra arguments follow.
	erase string
}

// eraseWalk erases the rows of w older than ms, one window of eraseChunk
// rows per transaction. The cursor stops before the first row that must
// wait, so a row still in use is never walked past; a row a ticket holds
// is walked past, as the ticket's own erasure (EraseClosedPhones) takes
// it when the ticket's time comes. extra are the erase query's arguments
// from ?4 on.
func (d *DB) eraseWalk(ctx context.Context, w walk, ms int64, extra ...any) (int, error) {
	total := 0
	for {
		var n int64
		more := false
		err := d.do(ctx, func(stx querier) error {
			n, more = 0, false
			var cur int64
			err := stx.QueryRowContext(context.Background(), selectState, w.cursor).Scan(&cur)
			if err != nil && !errNoRows(err) {
				return err
			}
			stop, last, rows, blocked, err := walkWindow(stx, w.window, cur, ms)
			if err != nil || rows == 0 {
				return err
			}
			args := append([]any{cur, last, ms}, extra...)
			res, err := stx.ExecContext(context.Background(), w.erase, args...)
			if err != nil {
				return err
			}
			if n, err = res.RowsAffected(); err != nil {
				return err
			}
			if stop != cur {
				_, err = stx.ExecContext(context.Background(), upsertState, w.cursor, stop, d.clock.Now().UnixMilli())
			}
			more = !blocked && rows == eraseChunk
			return err
		})
		total += int(n)
		if err != nil || !more {
			return total, err
		}
	}
}

// walkWindow reads the rows of a walk's window after cur: how many, the
// last id, and stop, the last id before the first row that must wait
// (blocked when there is one).
func walkWindow(stx querier, window string, cur, ms int64) (stop, last int64, n int, blocked bool, err error) {
	rows, err := stx.QueryContext(context.Background(), window, cur, eraseChunk, ms)
	if err != nil {
		return 0, 0, 0, false, err
	}
	defer rows.Close()
	stop = cur
	for rows.Next() {
		var wait bool
		if err := rows.Scan(&last, &wait); err != nil {
			return 0, 0, 0, false, err
		}
		n++
		blocked = blocked || wait
		if !blocked {
			stop = last
		}
	}
	return stop, last, n, blocked, rows.Err()
}

// heldByTicket is true for a row of a ticket still kept whole: open, or
// closed at or after ?3. With the closed statuses as ?4..?6, it is the
// tail of a "NOT EXISTS (SELECT 1 FROM tickets t WHERE <link> AND" clause.
const heldByTicket = `(t.status NOT IN (?4, ?5, ?6) OR t.closed_at IS NULL OR t.closed_at >= ?3))`

// looseInbound: messages lose phone, sender, raw bytes and external id
// (a modem's dedup key begins with the sender), keeping text, note and
// ticket. A message not yet acted on waits.
var looseInbound = walk{
	cursor: "erase_cursor:inbound",
	window: `SELECT id, received_at >= ?3 OR pending <> 0 FROM inbound WHERE id > ?1 ORDER BY id LIMIT ?2`,
	erase: `UPDATE inbound SET phone = '', sender = '', raw = x'', external_id = 'erased:' || id
		WHERE id > ?1 AND id <= ?2 AND received_at < ?3 AND pending = 0 AND substr(external_id, 1, 7) <> 'erased:'
		AND NOT EXISTS (SELECT 1 FROM tickets t WHERE (t.number = inbound.ticket OR t.inbound_id = inbound.id) AND ` +
		heldByTicket,
}

// looseOutbox: replies and alerts lose phone and address, keeping text,
// kind and outcome. One being sent (?8) waits for its outcome. One still
// queued (?7) so long after is given up: it becomes failed, "expired"
// (its channel may be gone from the config, so it would never leave and
// would hold the walk for good). ?9 is now.
var looseOutbox = walk{
	cursor: "erase_cursor:outbox",
	window: `SELECT id, created_at >= ?3 OR status = '` + string(intake.OutSending) + `'
		FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2`,
	erase: `UPDATE outbox SET phone = '', address = '', updated_at = ?9,
			status = CASE WHEN status = ?7 THEN '` + string(intake.OutFailed) + `' ELSE status END,
			last_error = CASE WHEN status = ?7 THEN '` + outboxExpired + `' ELSE last_error END
		WHERE id > ?1 AND id <= ?2 AND created_at < ?3 AND status <> ?8 AND (address <> '' OR phone <> '')
		AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.number = outbox.ticket AND ` + heldByTicket,
}

// outboxExpired is the last error of a reply given up by the erasure.
const outboxExpired = "expired: not sent within store.retention"

// erasePartsQuery deletes up to ?2 parts received before ?1.
const erasePartsQuery = `DELETE FROM parts WHERE id IN
	(SELECT id FROM parts WHERE received_at < ?1 ORDER BY received_at LIMIT ?2)`

// eraseSessionsQuery deletes up to ?2 sessions that expired before ?1.
const eraseSessionsQuery = `DELETE FROM sessions WHERE key IN
	(SELECT key FROM sessions WHERE expires < ?1 LIMIT ?2)`

// pruneDigestsQuery deletes up to ?2 records of digests (kind ?3) sent
// before ?1: a digest is keyed by its day, which never comes back.
const pruneDigestsQuery = `DELETE FROM seen WHERE rowid IN
	(SELECT rowid FROM seen WHERE kind = ?3 AND at < ?1 LIMIT ?2)`

// pruneRemindersQuery deletes up to ?2 records of reminders (kinds ?3..?8)
// sent before ?1 about tickets that are closed, or gone: a closed ticket
// gets none, and a reopened one is keyed anew ("number@reopening").
const pruneRemindersQuery = `DELETE FROM seen WHERE rowid IN
	(SELECT s.rowid FROM seen s WHERE s.kind IN (?3, ?4, ?5, ?6, ?7, ?8) AND s.at < ?1
		AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.number = substr(s.key, 1, instr(s.key || '@', '@') - 1)
			AND t.closed_at IS NULL)
		LIMIT ?2)`

// pruneJobsQuery deletes up to ?2 central jobs done (?3) before ?1 whose
// ticket was closed (?4..?6) before ?1 too: nothing queues them again.
const pruneJobsQuery = `DELETE FROM jobs WHERE id IN
	(SELECT j.id FROM jobs j WHERE j.status = ?3 AND j.updated_at < ?1
		AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.number = j.ticket
			AND (t.status NOT IN (?4, ?5, ?6) OR t.closed_at IS NULL OR t.closed_at >= ?1))
		LIMIT ?2)`

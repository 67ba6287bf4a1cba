package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// Backup writes a consistent copy of the database to path (VACUUM INTO),
// while writers keep running. It refuses to overwrite an existing file.
func (d *DB) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup to %s: %w", path, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	// VACUUM INTO writes a new file, which a query_only connection refuses,
	// so the backup gets a connection of its own (not the writer's).
	bdb, err := sql.Open("sqlite3", dsn(d.path, nil))
	if err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	defer bdb.Close()
	if _, err := bdb.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}

// eraseChunk is how many tickets one erasure transaction handles, so a
// large first run never holds the writer for long.
const eraseChunk = 200

// EraseClosedPhones blanks the phone numbers of tickets closed before
// before: complainant, name, volunteer and reply address on the ticket,
// phone, sender, raw bytes and external id (which may carry the number;
// it becomes "erased:<id>") on their inbound messages, phone and address
// on their outbox rows. Counts and texts are kept. It returns how many
// tickets were erased. ErasePastRetention also erases what no ticket
// leads to.
func (d *DB) EraseClosedPhones(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		n, err := d.eraseChunk(ctx, before)
		total += n
		if err != nil {
			return total, fmt.Errorf("erase closed phones: %w", err)
		}
		if n < eraseChunk {
			return total, nil
		}
	}
}

// eraseChunk erases up to eraseChunk tickets in one transaction.
func (d *DB) eraseChunk(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := d.do(ctx, func(stx querier) error {
		n = 0
		bg := context.Background()
		rows, err := stx.QueryContext(bg, `SELECT number, inbound_id FROM tickets
			WHERE status IN (?, ?, ?) AND closed_at IS NOT NULL AND closed_at < ?
			AND (complainant <> '' OR complainant_name <> '' OR submitted_by <> '' OR reply_address <> '')
			ORDER BY closed_at LIMIT ?`,
			intake.Selesai, intake.Ditolak, intake.Dibatalkan, before.UnixMilli(), eraseChunk)
		if err != nil {
			return err
		}
		type victim struct {
			number  string
			inbound int64
		}
		var vs []victim
		for rows.Next() {
			var v victim
			if err := rows.Scan(&v.number, &v.inbound); err != nil {
				rows.Close()
				return err
			}
			vs = append(vs, v)
		}
		if err := firstErr(rows.Err(), rows.Close()); err != nil {
			return err
		}
		now := d.clock.Now().UnixMilli()
		for _, v := range vs {
			if err := eraseTicket(bg, stx, v.number, v.inbound, now); err != nil {
				return err
			}
		}
		n = len(vs)
		return nil
	})
	return n, err
}

// eraseInbound blanks the numbers of a ticket's messages; the external id
// stays unique per channel as "erased:<id>". Saying that the ticket is not
// empty lets SQLite use the partial index inbound_ticket.
const eraseInbound = `UPDATE inbound SET phone = '', sender = '', raw = x'', external_id = 'erased:' || id
	WHERE (ticket = ? AND ticket <> '') OR id = ?`

// eraseTicket blanks the numbers of one ticket and its messages.
func eraseTicket(ctx context.Context, stx querier, number string, inboundID, now int64) error {
	stmts := []struct {
		q    string
		args []any
	}{
		{`UPDATE tickets SET complainant = '', complainant_name = '', submitted_by = '',
			reply_address = '', updated_at = ? WHERE number = ?`, []any{now, number}},
		{eraseInbound, []any{number, inboundID}},
		{`UPDATE outbox SET phone = '', address = '', updated_at = ? WHERE ticket = ?`, []any{now, number}},
	}
	for _, s := range stmts {
		if _, err := stx.ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("erase ticket %s: %w", number, err)
		}
	}
	return nil
}

// Stats is a snapshot of the store for metrics and operators.
type Stats struct {
	Tickets      map[intake.Status]int            // tickets by status
	TicketsByOPD map[string]map[intake.Status]int // tickets by department, then status
	Outbox       map[string]int                   // outbox rows by status
	OldestQueued time.Duration                    // how long the most overdue queued row has been due; 0 if none
	SyncBacklog  int                              // tickets with sync_state "pending"
	PartsWaiting int                              // stored parts of long messages not yet joined
	Pending      int                              // accepted messages the engine has not acted on yet
}

// Stats reads a consistent snapshot of counts from the read pool.
func (d *DB) Stats(ctx context.Context) (Stats, error) {
	s := Stats{
		Tickets:      map[intake.Status]int{},
		TicketsByOPD: map[string]map[intake.Status]int{},
		Outbox:       map[string]int{},
	}
	rtx, err := d.rdb.BeginTx(ctx, nil)
	if err != nil {
		return s, fmt.Errorf("stats: %w", err)
	}
	defer rtx.Rollback() //nolint:errcheck // read-only
	if err := d.ticketStats(ctx, rtx, &s); err != nil {
		return s, fmt.Errorf("stats: %w", err)
	}
	if err := d.outboxStats(ctx, rtx, &s); err != nil {
		return s, fmt.Errorf("stats: %w", err)
	}
	return s, nil
}

// ticketStats fills the ticket counts of s.
func (d *DB) ticketStats(ctx context.Context, rtx *sql.Tx, s *Stats) error {
	rows, err := rtx.QueryContext(ctx, "SELECT opd, status, COUNT(*) FROM tickets GROUP BY opd, status")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var opd string
		var st intake.Status
		var n int
		if err := rows.Scan(&opd, &st, &n); err != nil {
			return err
		}
		s.Tickets[st] += n
		if s.TicketsByOPD[opd] == nil {
			s.TicketsByOPD[opd] = map[intake.Status]int{}
		}
		s.TicketsByOPD[opd][st] = n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rtx.QueryRowContext(ctx, "SELECT COUNT(*) FROM tickets WHERE sync_state = 'pending'").Scan(&s.SyncBacklog)
}

// outboxStats fills the outbox, parts and pending counts of s.
func (d *DB) outboxStats(ctx context.Context, rtx *sql.Tx, s *Stats) error {
	rows, err := rtx.QueryContext(ctx, "SELECT status, COUNT(*) FROM outbox GROUP BY status")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		s.Outbox[st] = n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	now := d.clock.Now()
	var oldest sql.NullInt64
	err = rtx.QueryRowContext(ctx, "SELECT MIN(next_at) FROM outbox WHERE status = 'queued' AND next_at <= ?",
		now.UnixMilli()).Scan(&oldest)
	if err != nil {
		return err
	}
	if oldest.Valid {
		s.OldestQueued = max(now.Sub(time.UnixMilli(oldest.Int64)), 0)
	}
	err = rtx.QueryRowContext(ctx, "SELECT COUNT(*) FROM parts WHERE joined_at IS NULL").Scan(&s.PartsWaiting)
	if err != nil {
		return err
	}
	return rtx.QueryRowContext(ctx, "SELECT COUNT(*) FROM inbound WHERE pending = 1").Scan(&s.Pending)
}

// BaselineInsertRate measures what this disk gives without group commit: it
// creates a fresh SQLite file in dir with the store's pragmas (WAL,
// synchronous=FULL), runs n one-row INSERT transactions one after another
// and returns inserts per second. The file is removed afterwards.
func BaselineInsertRate(dir string, n int) (float64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("baseline insert rate: n must be positive, got %d", n)
	}
	tmp, err := os.MkdirTemp(dir, "baseline-")
	if err != nil {
		return 0, fmt.Errorf("baseline insert rate: %w", err)
	}
	defer os.RemoveAll(tmp)
	db, err := sql.Open("sqlite3", dsn(filepath.Join(tmp, "baseline.db"), map[string]string{"_journal_mode": "WAL"}))
	if err != nil {
		return 0, fmt.Errorf("baseline insert rate: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		return 0, fmt.Errorf("baseline insert rate: %w", err)
	}
	start := time.Now()
	for i := range n {
		if err := baselineInsert(ctx, db, i); err != nil {
			return 0, fmt.Errorf("baseline insert rate: %w", err)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// baselineInsert runs one BEGIN/INSERT/COMMIT.
func baselineInsert(ctx context.Context, db *sql.DB, i int) error {
	t, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback() //nolint:errcheck // no-op after Commit
	if _, err := t.ExecContext(ctx, "INSERT INTO t (v) VALUES (?)", fmt.Sprintf("row %d", i)); err != nil {
		return err
	}
	return t.Commit()
}

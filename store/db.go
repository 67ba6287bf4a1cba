// Package store keeps sambatd's state in SQLite: inbound messages, parts of
// long messages, tickets and their events, the outbox, opt-outs and dialog
// sessions. It is the only package with SQL.
//
// All writes go through one writer goroutine that groups concurrent Updates
// into one transaction (one fsync) with a savepoint per Update, so one
// caller's error never undoes another's work. Work that can wait (acting
// on accepted messages, outbox and central bookkeeping: UpdateBulk) yields
// to intake: while Updates keep coming it gets one turn per bulkEvery.
// Reads use a separate connection pool and never wait on the writer.
//
// Times are stored as INTEGER unix milliseconds UTC (NULL when unset) and
// returned as time.Time in UTC; sub-millisecond precision is dropped.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kotamalang/sambatd/intake"
	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// busyTimeout is how long a connection waits on a lock before SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// readConns is the size of the read pool.
const readConns = 4

// ErrClosed is returned by Update and the outbox methods after Close.
var ErrClosed = errors.New("store closed")

// DB is an open store. It implements intake.Store.
type DB struct {
	path   string
	clock  intake.Clock
	logger *slog.Logger

	wdb *sql.DB // one connection, used only by the writer goroutine
	w   *wconn  // that connection, held by the writer
	rdb *sql.DB // query-only pool for View and admin reads

	reqs      chan *request // Updates
	bulk      chan *request // UpdateBulk: yields to reqs
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// Open opens or creates the SQLite file at path, applies pending migrations
// and starts the writer goroutine. clock gives every time the store sets
// itself; nil means the system clock.
func Open(path string, clock intake.Clock) (*DB, error) {
	if clock == nil {
		clock = intake.SystemClock{}
	}
	d := &DB{
		path:   path,
		clock:  clock,
		logger: slog.Default().With("component", "store"),
		reqs:   make(chan *request),
		bulk:   make(chan *request),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	wdb, err := sql.Open("sqlite3", dsn(path, map[string]string{
		"_journal_mode": "WAL",
		"_txlock":       "immediate",
	}))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	d.wdb = wdb
	if err := d.migrate(context.Background()); err != nil {
		wdb.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite3", dsn(path, map[string]string{"_query_only": "on"}))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	rdb.SetMaxOpenConns(readConns)
	rdb.SetMaxIdleConns(readConns)
	d.rdb = rdb
	c, err := wdb.Conn(context.Background())
	if err != nil {
		rdb.Close()
		wdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	d.w = &wconn{c: c, stmts: map[string]*sql.Stmt{}}
	go d.writer()
	return d, nil
}

// dsn builds a go-sqlite3 data source name with the common pragmas plus extra.
func dsn(path string, extra map[string]string) string {
	v := url.Values{}
	v.Set("_synchronous", "FULL")
	v.Set("_foreign_keys", "on")
	v.Set("_busy_timeout", strconv.Itoa(int(busyTimeout/time.Millisecond)))
	for k, val := range extra {
		v.Set(k, val)
	}
	return path + "?" + v.Encode()
}

// Close stops the writer (after the batch it is running, if any) and closes
// the database. It is safe to call more than once.
func (d *DB) Close() error {
	var err error
	d.closeOnce.Do(func() {
		close(d.quit)
		<-d.done
		err = errors.Join(d.w.close(), d.rdb.Close(), d.wdb.Close())
		if err != nil {
			err = fmt.Errorf("close store: %w", err)
		}
	})
	return err
}

// Ping reports whether the store can be read and the writer is running.
func (d *DB) Ping(ctx context.Context) error {
	select {
	case <-d.done:
		return ErrClosed
	default:
	}
	var one int
	if err := d.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// View runs fn in a read-only transaction on the read pool: a consistent
// snapshot that never waits on the writer. Write methods of the Tx fail.
func (d *DB) View(ctx context.Context, fn func(intake.Tx) error) error {
	rtx, err := d.rdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer rtx.Rollback() //nolint:errcheck // read-only; nothing to keep
	return fn(&tx{ctx: ctx, q: rtx, clock: d.clock})
}

// migration is one embedded numbered SQL file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migration files in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a number and _", base)
		}
		body, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", base, err)
		}
		ms = append(ms, migration{version: v, name: base, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a number", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate applies every migration not yet recorded in schema_migrations,
// each in its own transaction.
func (d *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`
	if _, err := d.wdb.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := d.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration runs m unless it is already recorded.
func (d *DB) applyMigration(ctx context.Context, m migration) error {
	t, err := d.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration %s: %w", m.name, err)
	}
	defer t.Rollback() //nolint:errcheck // no-op after Commit
	var n int
	err = t.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n)
	if err != nil {
		return fmt.Errorf("check migration %s: %w", m.name, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := t.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("apply migration %s: %w", m.name, err)
	}
	_, err = t.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, d.clock.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("record migration %s: %w", m.name, err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit migration %s: %w", m.name, err)
	}
	return nil
}

// msOrNull turns a time into unix milliseconds, or NULL for the zero time.
func msOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// msTime scans a nullable unix-millisecond column into a UTC time.Time.
type msTime struct{ t *time.Time }

// Scan implements sql.Scanner.
func (m msTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*m.t = time.Time{}
	case int64:
		*m.t = time.UnixMilli(x).UTC()
	default:
		return fmt.Errorf("scan time: unexpected %T", v)
	}
	return nil
}

// tm returns a scanner that fills *t from a unix-millisecond column.
func tm(t *time.Time) msTime { return msTime{t: t} }

// DB must satisfy the store interface the engine and workers use.
var _ intake.Store = (*DB)(nil)

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/kotamalang/sambatd/intake"
)

// maxBatch caps how many requests share one commit.
const maxBatch = 128

// maxStmts caps the prepared statements the writer keeps; SQL texts built
// at run time (IN lists) beyond it run unprepared.
const maxStmts = 256

// request is one unit of work for the writer: fn runs inside a savepoint of
// the batch transaction and done receives the outcome once it is final.
type request struct {
	fn   func(querier) error
	done chan error
}

// wconn is the writer's one connection. Each SQL text is prepared once and
// kept: preparing costs more than running most of the store's statements.
// Only the writer goroutine uses it.
type wconn struct {
	c     *sql.Conn
	stmts map[string]*sql.Stmt
}

func (w *wconn) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := w.stmts[q]; ok {
		return s, nil
	}
	if len(w.stmts) >= maxStmts {
		return nil, nil
	}
	s, err := w.c.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	w.stmts[q] = s
	return s, nil
}

// ExecContext runs a statement, prepared once.
func (w *wconn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := w.stmt(ctx, q)
	switch {
	case err != nil:
		return nil, err
	case s == nil:
		return w.c.ExecContext(ctx, q, args...)
	}
	return s.ExecContext(ctx, args...)
}

// QueryContext runs a query, prepared once.
func (w *wconn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := w.stmt(ctx, q)
	switch {
	case err != nil:
		return nil, err
	case s == nil:
		return w.c.QueryContext(ctx, q, args...)
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext runs a one-row query, prepared once; a prepare error
// surfaces from Scan.
func (w *wconn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	s, err := w.stmt(ctx, q)
	if err != nil || s == nil {
		return w.c.QueryRowContext(ctx, q, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

func (w *wconn) close() error {
	for _, s := range w.stmts {
		s.Close()
	}
	return w.c.Close()
}

// Update runs fn in a write transaction and returns once its work is
// committed and synced, or with fn's error after undoing only fn's work.
// Concurrent Updates share one commit. fn must not call Update or an outbox
// method on the same DB (it would wait on itself), and a View inside fn does
// not see fn's writes. If ctx ends before the writer takes the request,
// Update returns ctx.Err(); once taken, the request completes.
func (d *DB) Update(ctx context.Context, fn func(intake.Tx) error) error {
	return d.do(ctx, func(q querier) error {
		return fn(&tx{ctx: context.Background(), q: q, clock: d.clock})
	})
}

// do hands fn to the writer and waits for the outcome.
func (d *DB) do(ctx context.Context, fn func(querier) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{fn: fn, done: make(chan error, 1)}
	select {
	case d.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-d.quit:
		return ErrClosed
	}
	return <-r.done
}

// writer is the one goroutine that writes. It takes every request waiting
// (up to maxBatch) and commits them together.
func (d *DB) writer() {
	defer close(d.done)
	batch := make([]*request, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-d.reqs:
			batch = append(batch, r)
		case <-d.quit:
			return
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-d.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		d.runBatch(batch)
	}
}

// runBatch runs one batch in one transaction and answers every caller after
// the commit (or its failure).
func (d *DB) runBatch(batch []*request) {
	ctx := context.Background()
	results := make([]error, len(batch))
	w := d.w
	if _, err := w.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		answer(batch, results, fmt.Errorf("begin: %w", err))
		return
	}
	for i, r := range batch {
		var broken error
		results[i], broken = d.runOne(ctx, w, r.fn)
		if broken != nil {
			// The transaction is in an unknown state: nothing of the
			// batch can be trusted, so undo it all.
			w.ExecContext(ctx, "ROLLBACK") //nolint:errcheck // the batch already failed
			answer(batch, results, broken)
			return
		}
	}
	if _, err := w.ExecContext(ctx, "COMMIT"); err != nil {
		w.ExecContext(ctx, "ROLLBACK") //nolint:errcheck // the commit already failed
		answer(batch, results, fmt.Errorf("commit: %w", err))
		return
	}
	answer(batch, results, nil)
}

// answer sends each caller its result; batchErr, when set, replaces every
// success (a failed fn keeps its own error: its work was undone either way).
func answer(batch []*request, results []error, batchErr error) {
	for i, r := range batch {
		err := results[i]
		if err == nil {
			err = batchErr
		}
		r.done <- err
	}
}

// runOne runs fn inside a savepoint. res is fn's outcome for its caller;
// broken is set when the savepoint itself failed and the batch is lost.
func (d *DB) runOne(ctx context.Context, stx querier, fn func(querier) error) (res, broken error) {
	if _, err := stx.ExecContext(ctx, "SAVEPOINT s"); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	res = d.safeCall(stx, fn)
	if res != nil {
		if _, err := stx.ExecContext(ctx, "ROLLBACK TO s"); err != nil {
			return res, fmt.Errorf("rollback to savepoint after %v: %w", res, err)
		}
	}
	if _, err := stx.ExecContext(ctx, "RELEASE s"); err != nil {
		return res, fmt.Errorf("release savepoint: %w", err)
	}
	return res, nil
}

// safeCall runs fn, turning a panic into an error so the writer survives.
func (d *DB) safeCall(stx querier, fn func(querier) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			d.logger.Error("panic in update", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("update panicked: %v", p)
		}
	}()
	return fn(stx)
}

// errNoRows reports whether err is sql.ErrNoRows.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

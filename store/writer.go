package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// maxBatch caps how many requests share one commit.
const maxBatch = 128

// Reception comes first: while intake is busy (an Update committed within
// busyWindow), bulk requests (UpdateBulk: acting on accepted messages,
// outbox and central bookkeeping) get one turn per bulkEvery, so a burst is
// acknowledged at the speed of the disk and the work trails it without
// starving.
const (
	busyWindow = 20 * time.Millisecond
	bulkEvery  = 25 * time.Millisecond
)

// maxStmts caps the prepared statements the writer keeps; SQL texts built
// at run time (IN lists) beyond it run unprepared.
const maxStmts = 256

// request is one unit of work for the writer: fn runs inside a savepoint of
// the batch transaction and done receives the outcome once it is final.
type request struct {
	fn   func(querier) error
	done chan error
	bulk bool
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

// UpdateBulk is Update for work that can wait (acting on accepted
// messages): while intake is busy it gets one turn per bulkEvery, else it
// shares commits freely.
func (d *DB) UpdateBulk(ctx context.Context, fn func(intake.Tx) error) error {
	return d.doBulk(ctx, func(q querier) error {
		return fn(&tx{ctx: context.Background(), q: q, clock: d.clock})
	})
}

// do hands fn to the writer and waits for the outcome.
func (d *DB) do(ctx context.Context, fn func(querier) error) error {
	return d.send(ctx, d.reqs, fn)
}

// doBulk is do for the workers' bookkeeping (outbox, central jobs): it
// yields to Updates, as UpdateBulk does.
func (d *DB) doBulk(ctx context.Context, fn func(querier) error) error {
	return d.send(ctx, d.bulk, fn)
}

// send hands fn to the writer on queue q and waits for the outcome.
func (d *DB) send(ctx context.Context, q chan *request, fn func(querier) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{fn: fn, done: make(chan error, 1), bulk: q == d.bulk}
	select {
	case q <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-d.quit:
		return ErrClosed
	}
	return <-r.done
}

// writer is the one goroutine that writes. It takes the requests waiting
// (see fill) and commits them together.
func (d *DB) writer() {
	defer close(d.done)
	batch := make([]*request, 0, maxBatch)
	var lastUpdate, lastBulk time.Time
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	for {
		batch = batch[:0]
		now := time.Now()
		sinceUpdate, sinceBulk := now.Sub(lastUpdate), now.Sub(lastBulk)
		// While intake is busy, bulk work gets one turn per bulkEvery.
		bulkOK := sinceUpdate >= busyWindow || sinceBulk >= bulkEvery
		bulk := d.bulk
		if !bulkOK {
			bulk = nil
			idle.Reset(min(busyWindow-sinceUpdate, bulkEvery-sinceBulk))
		}
		select {
		case r := <-d.reqs:
			batch = append(batch, r)
		case r := <-bulk:
			batch = append(batch, r)
		case <-idle.C:
			continue
		case <-d.quit:
			return
		}
		bulkMax := 0
		switch {
		case sinceUpdate >= busyWindow:
			bulkMax = maxBatch
		case bulkOK:
			bulkMax = 1
		}
		batch = fill(batch, d.reqs, d.bulk, bulkMax)
		now = time.Now()
		for _, r := range batch {
			if r.bulk {
				lastBulk = now
			} else {
				lastUpdate = now
			}
		}
		d.runBatch(batch)
	}
}

// fill adds to batch every Update waiting on reqs and bulk requests until
// the batch holds bulkMax of them. A batch never exceeds maxBatch.
func fill(batch []*request, reqs, bulk chan *request, bulkMax int) []*request {
	nbulk := 0
	for _, r := range batch {
		if r.bulk {
			nbulk++
		}
	}
	take := func(q chan *request, limit int) {
		for ; limit > 0 && len(batch) < maxBatch; limit-- {
			select {
			case r := <-q:
				batch = append(batch, r)
			default:
				return
			}
		}
	}
	take(reqs, maxBatch)
	take(bulk, bulkMax-nbulk)
	return batch
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

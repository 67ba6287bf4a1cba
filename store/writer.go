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

// request is one unit of work for the writer: fn runs inside a savepoint of
// the batch transaction and done receives the outcome once it is final.
type request struct {
	fn   func(*sql.Tx) error
	done chan error
}

// Update runs fn in a write transaction and returns once its work is
// committed and synced, or with fn's error after undoing only fn's work.
// Concurrent Updates share one commit. fn must not call Update or an outbox
// method on the same DB (it would wait on itself), and a View inside fn does
// not see fn's writes. If ctx ends before the writer takes the request,
// Update returns ctx.Err(); once taken, the request completes.
func (d *DB) Update(ctx context.Context, fn func(intake.Tx) error) error {
	return d.do(ctx, func(stx *sql.Tx) error {
		return fn(&tx{ctx: context.Background(), q: stx, clock: d.clock})
	})
}

// do hands fn to the writer and waits for the outcome.
func (d *DB) do(ctx context.Context, fn func(*sql.Tx) error) error {
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
	stx, err := d.wdb.BeginTx(ctx, nil)
	if err != nil {
		answer(batch, results, fmt.Errorf("begin: %w", err))
		return
	}
	for i, r := range batch {
		var broken error
		results[i], broken = d.runOne(ctx, stx, r.fn)
		if broken != nil {
			// The transaction is in an unknown state: nothing of the
			// batch can be trusted, so undo it all.
			stx.Rollback() //nolint:errcheck // the batch already failed
			answer(batch, results, broken)
			return
		}
	}
	if err := stx.Commit(); err != nil {
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
func (d *DB) runOne(ctx context.Context, stx *sql.Tx, fn func(*sql.Tx) error) (res, broken error) {
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
func (d *DB) safeCall(stx *sql.Tx, fn func(*sql.Tx) error) (err error) {
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

package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

// t0 is the fake clock's start.
var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

// fakeClock is a settable intake.Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// openTest opens a store in a fresh directory and closes it with the test.
func openTest(t testing.TB) (*store.DB, *fakeClock, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sambat.db")
	clock := newClock()
	db, err := store.Open(path, clock)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, clock, path
}

// reopen closes db and opens the same file again.
func reopen(t *testing.T, db *store.DB, path string, clock intake.Clock) *store.DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db2, err := store.Open(path, clock)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { db2.Close() })
	return db2
}

// update runs fn in an Update and fails the test on error.
func update(t *testing.T, db *store.DB, fn func(intake.Tx) error) {
	t.Helper()
	if err := db.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View and fails the test on error.
func view(t *testing.T, db *store.DB, fn func(intake.Tx) error) {
	t.Helper()
	if err := db.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// countInbound returns the number of inbound rows on channel.
func countInbound(t *testing.T, db *store.DB, channel string) int {
	t.Helper()
	var n int
	view(t, db, func(tx intake.Tx) (err error) {
		n, err = tx.CountInbound(channel)
		return err
	})
	return n
}

func TestOpen_MigrationsIdempotent(t *testing.T) {
	db, clock, path := openTest(t)
	update(t, db, func(tx intake.Tx) error {
		_, _, err := tx.InsertInbound(&intake.Message{Channel: "sim", ExternalID: "a", Text: "x"})
		return err
	})
	for range 2 {
		db = reopen(t, db, path, clock)
	}
	if got := countInbound(t, db, ""); got != 1 {
		t.Errorf("inbound rows after reopen: got %d, want 1", got)
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestUpdate_GroupCommitIsolatesErrors(t *testing.T) {
	db, clock, path := openTest(t)
	const n = 200
	errBoom := errors.New("boom")
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.Update(context.Background(), func(tx intake.Tx) error {
				m := &intake.Message{Channel: "sim", ExternalID: fmt.Sprint(i), Text: "x"}
				if _, _, err := tx.InsertInbound(m); err != nil {
					return err
				}
				if i%7 == 0 {
					return errBoom
				}
				return nil
			})
		})
	}
	wg.Wait()
	want := 0
	for i, err := range errs {
		switch {
		case i%7 == 0 && !errors.Is(err, errBoom):
			t.Errorf("update %d: got %v, want %v", i, err, errBoom)
		case i%7 != 0 && err != nil:
			t.Errorf("update %d: got %v, want nil", i, err)
		case i%7 != 0:
			want++
		}
	}
	db = reopen(t, db, path, clock)
	view(t, db, func(tx intake.Tx) error {
		for i := range n {
			_, err := tx.Inbound("sim", fmt.Sprint(i))
			if kept := err == nil; kept != (i%7 != 0) {
				t.Errorf("message %d kept=%v (err %v), want kept=%v", i, kept, err, i%7 != 0)
			}
		}
		return nil
	})
	if got := countInbound(t, db, "sim"); got != want {
		t.Errorf("rows: got %d, want %d", got, want)
	}
}

func TestUpdate_Panic(t *testing.T) {
	db, _, _ := openTest(t)
	err := db.Update(context.Background(), func(tx intake.Tx) error {
		if _, _, err := tx.InsertInbound(&intake.Message{Channel: "sim", ExternalID: "p"}); err != nil {
			return err
		}
		panic("kaboom")
	})
	if err == nil || !strings.Contains(err.Error(), "kaboom") {
		t.Fatalf("panicking update: got %v, want an error naming the panic", err)
	}
	update(t, db, func(tx intake.Tx) error {
		_, _, err := tx.InsertInbound(&intake.Message{Channel: "sim", ExternalID: "ok"})
		return err
	})
	view(t, db, func(tx intake.Tx) error {
		if _, err := tx.Inbound("sim", "p"); !errors.Is(err, intake.ErrNotFound) {
			t.Errorf("panicked insert: got %v, want ErrNotFound", err)
		}
		_, err := tx.Inbound("sim", "ok")
		return err
	})
}

func TestUpdate_CanceledContext(t *testing.T) {
	db, _, _ := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := db.Update(ctx, func(intake.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if ran {
		t.Error("fn ran despite a canceled context")
	}
}

func TestUpdate_AfterClose(t *testing.T) {
	db, _, _ := openTest(t)
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err := db.Update(context.Background(), func(intake.Tx) error { return nil })
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("got %v, want ErrClosed", err)
	}
	if err := db.Ping(context.Background()); err == nil {
		t.Error("Ping after Close: got nil, want an error")
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestView_ReadOnly(t *testing.T) {
	db, _, _ := openTest(t)
	err := db.View(context.Background(), func(tx intake.Tx) error {
		_, _, err := tx.InsertInbound(&intake.Message{Channel: "sim", ExternalID: "v"})
		return err
	})
	if err == nil {
		t.Fatal("insert in View: got nil, want an error")
	}
	if got := countInbound(t, db, ""); got != 0 {
		t.Errorf("rows after View insert: got %d, want 0", got)
	}
}

func TestView_DoesNotWaitOnWriter(t *testing.T) {
	db, _, _ := openTest(t)
	inside, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.Update(context.Background(), func(tx intake.Tx) error {
			if _, _, err := tx.InsertInbound(&intake.Message{Channel: "sim", ExternalID: "w"}); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	// The writer holds its write lock; a reader still answers, from the
	// last committed snapshot.
	if got := countInbound(t, db, ""); got != 0 {
		t.Errorf("rows seen during the open write: got %d, want 0", got)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := countInbound(t, db, ""); got != 1 {
		t.Errorf("rows after commit: got %d, want 1", got)
	}
}

func TestCounters_NeverReused(t *testing.T) {
	db, clock, path := openTest(t)
	next := func(db *store.DB) (seq, c int64) {
		update(t, db, func(tx intake.Tx) (err error) {
			if seq, err = tx.NextTicketSeq(); err != nil {
				return err
			}
			c, err = tx.Counter("gen")
			return err
		})
		return seq, c
	}
	for i := range int64(3) {
		seq, c := next(db)
		if seq != 100000+i || c != 1+i {
			t.Errorf("round %d: got seq %d counter %d, want %d and %d", i, seq, c, 100000+i, 1+i)
		}
	}
	// A rolled-back transaction gives its numbers back; nobody saw them.
	err := db.Update(context.Background(), func(tx intake.Tx) error {
		if _, err := tx.NextTicketSeq(); err != nil {
			return err
		}
		return errors.New("abandon")
	})
	if err == nil {
		t.Fatal("abandoned update: got nil error")
	}
	db = reopen(t, db, path, clock)
	if seq, c := next(db); seq != 100003 || c != 4 {
		t.Errorf("after reopen: got seq %d counter %d, want 100003 and 4", seq, c)
	}
}

// TestUpdateBulk_NotStarved: while Updates never stop, bulk work still
// gets its turns and commits.
func TestUpdateBulk_NotStarved(t *testing.T) {
	db, _, _ := openTest(t)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				db.Update(ctx, func(tx intake.Tx) error {
					_, _, err := tx.InsertInbound(&intake.Message{Channel: "sim", ExternalID: fmt.Sprintf("%d-%d", w, i)})
					return err
				})
			}
		})
	}
	defer func() { stop(); wg.Wait() }()
	deadline, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 20 {
		err := db.UpdateBulk(deadline, func(tx intake.Tx) error {
			_, err := tx.Counter(fmt.Sprint("bulk", i))
			return err
		})
		if err != nil {
			t.Fatalf("bulk request %d under constant intake: %v", i, err)
		}
	}
}

package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

func TestEraseClosedPhones(t *testing.T) {
	db, _, path := openTest(t)
	ctx := context.Background()
	// old: closed long ago; recent: closed yesterday; open: never closed.
	var old, recent, open intake.Ticket
	ids := map[string]int64{} // external id → message id
	update(t, db, func(tx intake.Tx) error {
		for i, tk := range []*intake.Ticket{&old, &recent, &open} {
			m := &intake.Message{Channel: "sim", ExternalID: fmt.Sprint(i), From: "0811", Phone: alice,
				Text: "SAMBAT lubang", Raw: []byte("pdu")}
			if _, _, err := tx.InsertInbound(m); err != nil {
				return err
			}
			ids[m.ExternalID] = m.ID
			seq, err := tx.NextTicketSeq()
			if err != nil {
				return err
			}
			*tk = intake.Ticket{Number: intake.TicketNumber("", seq), Seq: seq, Complainant: alice,
				ComplainantName: "Alice", SubmittedBy: bob, ReplyAddress: "whatsapp:" + alice, InboundID: m.ID}
			if err := tx.CreateTicket(tk); err != nil {
				return err
			}
			if err := tx.Enqueue(&intake.Outgoing{Phone: alice, To: alice, Text: "ok", Ticket: tk.Number}); err != nil {
				return err
			}
		}
		// A later message about the old ticket, found by its ticket column.
		later := &intake.Message{Channel: "sim", ExternalID: "3", From: "0811", Phone: alice,
			Text: "SAMBAT lubang", Raw: []byte("pdu")}
		if _, _, err := tx.InsertInbound(later); err != nil {
			return err
		}
		ids[later.ExternalID] = later.ID
		if err := tx.MarkInbound(later.ID, old.Number, "info"); err != nil {
			return err
		}
		old.Status, old.ClosedAt = intake.Selesai, t0.Add(-100*24*time.Hour)
		recent.Status, recent.ClosedAt = intake.Ditolak, t0.Add(-24*time.Hour)
		return errors.Join(tx.SaveTicket(&old), tx.SaveTicket(&recent))
	})
	for round, want := range []int{1, 0} {
		n, err := db.EraseClosedPhones(ctx, t0.Add(-30*24*time.Hour))
		if err != nil || n != want {
			t.Fatalf("round %d: got %d, %v, want %d", round, n, err, want)
		}
	}
	view(t, db, func(tx intake.Tx) error {
		for _, tc := range []struct {
			tk     intake.Ticket
			ext    string
			erased bool
		}{{old, "0", true}, {old, "3", true}, {recent, "1", false}, {open, "2", false}} {
			got, err := tx.Ticket(tc.tk.Number)
			if err != nil {
				return err
			}
			// The external id is erased too: a modem's carries the sender.
			id := ids[tc.ext]
			m := readInbound(t, path, id)
			wantExt := tc.ext
			if tc.erased {
				wantExt = fmt.Sprintf("erased:%d", id)
			}
			blank := got.Complainant == "" && got.ComplainantName == "" && got.SubmittedBy == "" &&
				got.ReplyAddress == "" && m.phone == "" && m.sender == "" && len(m.raw) == 0
			if blank != tc.erased || m.ext != wantExt {
				t.Errorf("ticket %s: erased=%v external id %q, want %v %q: %+v / %+v",
					tc.tk.Number, blank, m.ext, tc.erased, wantExt, got, m)
			}
			if m.text != "SAMBAT lubang" {
				t.Errorf("ticket %s: inbound text %q, want it kept", tc.tk.Number, m.text)
			}
		}
		return nil
	})
	var kept int
	view(t, db, func(tx intake.Tx) (err error) {
		kept, err = tx.CountOutbox(alice, nil, time.Time{})
		return err
	})
	if kept != 2 {
		t.Errorf("outbox rows still carrying the phone: got %d, want 2", kept)
	}
}

func TestBackup_UnderConcurrentWrites(t *testing.T) {
	db, _, _ := openTest(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var committed atomic.Int64
	warm := make(chan struct{}) // closed once the writers are well under way
	var warmOnce sync.Once
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				err := db.Update(ctx, func(tx intake.Tx) error {
					_, _, err := tx.InsertInbound(&intake.Message{Channel: "sim", ExternalID: fmt.Sprint(w, "-", i), Text: "x"})
					return err
				})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if committed.Add(1) >= 20 {
					warmOnce.Do(func() { close(warm) })
				}
			}
		})
	}
	select {
	case <-warm:
	case <-time.After(30 * time.Second):
		t.Fatal("writers made no progress")
	}
	before := committed.Load()
	path := filepath.Join(t.TempDir(), "backup.db")
	err := db.Backup(ctx, path)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if err := db.Backup(ctx, path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("backup over an existing file: got %v, want fs.ErrExist", err)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: got %q, %v, want ok", check, err)
	}
	var n int64
	if err := raw.QueryRow("SELECT COUNT(*) FROM inbound").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < before {
		t.Errorf("backup holds %d rows, want at least the %d committed before it began", n, before)
	}
	copyDB, err := store.Open(path, newClock())
	if err != nil {
		t.Fatalf("open the backup as a store: %v", err)
	}
	copyDB.Close()
}

func TestStats(t *testing.T) {
	db, clock, _ := openTest(t)
	ctx := context.Background()
	seedTickets(t, db, clock) // 4 diterima, 1 selesai; clock now t0+5h
	enqueue(t, db,
		intake.Outgoing{Phone: alice, Text: "due", NextAt: t0.Add(2 * time.Hour)},
		intake.Outgoing{Phone: alice, Text: "later", NextAt: t0.Add(9 * time.Hour)},
	)
	update(t, db, func(tx intake.Tx) error {
		_, err := tx.InsertPart(&intake.Part{Channel: "sim", Key: "k", Group: "g", Seq: 1, Total: 2})
		return err
	})
	s, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"diterima", s.Tickets[intake.Diterima], 4},
		{"selesai", s.Tickets[intake.Selesai], 1},
		{"DPU diterima", s.TicketsByOPD["DPU"][intake.Diterima], 2},
		{"queued", s.Outbox[intake.OutQueued], 2},
		{"oldest queued", s.OldestQueued, 3 * time.Hour},
		{"parts", s.PartsWaiting, 1},
		{"sync backlog", s.SyncBacklog, 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestBaselineInsertRate(t *testing.T) {
	rate, err := store.BaselineInsertRate(t.TempDir(), 20)
	if err != nil || rate <= 0 {
		t.Errorf("got %v, %v, want a positive rate", rate, err)
	}
	if _, err := store.BaselineInsertRate(t.TempDir(), 0); err == nil {
		t.Error("n=0: got nil error")
	}
}

func BenchmarkUpdate(b *testing.B) {
	db, _, _ := openTest(b)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := n.Add(1)
			err := db.Update(context.Background(), func(tx intake.Tx) error {
				_, _, err := tx.InsertInbound(&intake.Message{Channel: "bench", ExternalID: fmt.Sprint(id), Text: "x"})
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkBaseline(b *testing.B) {
	rate, err := store.BaselineInsertRate(b.TempDir(), b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "inserts/s")
}

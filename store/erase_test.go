package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

// inboundRow is what erasure may change in a stored message.
type inboundRow struct {
	ext, sender, phone, text string
	raw                      []byte
}

// readInbound reads message id straight from the file: an erased message
// can no longer be found by its external id.
func readInbound(t *testing.T, path string, id int64) inboundRow {
	t.Helper()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var r inboundRow
	err = raw.QueryRow("SELECT external_id, sender, phone, text, raw FROM inbound WHERE id = ?", id).
		Scan(&r.ext, &r.sender, &r.phone, &r.text, &r.raw)
	if err != nil {
		t.Fatalf("read inbound %d: %v", id, err)
	}
	return r
}

// partKeys lists the keys of the stored parts.
func partKeys(t *testing.T, path string) []string {
	t.Helper()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query("SELECT part_key FROM parts ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestErasePastRetention: besides the tickets closed before the cut-off,
// every message, outbox row, part and session older than it that no open
// (or recently closed) ticket holds loses the sender's number, including
// the one inside a modem's dedup key; younger rows and open tickets' rows
// keep theirs.
func TestErasePastRetention(t *testing.T) {
	db, _, path := openTest(t)
	ctx := context.Background()
	old, young := t0.Add(-100*24*time.Hour), t0.Add(-24*time.Hour)
	before := t0.Add(-30 * 24 * time.Hour)
	const channel = "modem:m1"
	key := func(i int) string { return fmt.Sprintf("%s|20241121080000+0700|-|%04x", alice, i) }
	var loose []int64                    // old messages no ticket holds (CEK, help, refusals)
	kept := map[string]*intake.Message{} // messages that must keep everything
	var closedOld int64                  // the message of a ticket closed long ago
	young1Key, young2Key := alice+"|20250227|7|2|1", alice+"|20250227|7|2|2"
	update(t, db, func(tx intake.Tx) error {
		in := func(ext string, at time.Time, pending bool) (*intake.Message, error) {
			m := &intake.Message{Channel: channel, ExternalID: ext, From: alice, Phone: alice,
				Text: "CEK 4821303", Raw: []byte("pdu"), Received: at, Pending: pending}
			_, _, err := tx.InsertInbound(m)
			return m, err
		}
		// More than one chunk of them.
		for i := range 250 {
			m, err := in(key(i), old, false)
			if err != nil {
				return err
			}
			if err := tx.MarkInbound(m.ID, "", "cek"); err != nil {
				return err
			}
			loose = append(loose, m.ID)
		}
		m, err := in(key(1000), young, false)
		if err != nil {
			return err
		}
		kept["young"] = m
		if m, err = in(key(1001), old, true); err != nil {
			return err
		}
		kept["pending"] = m
		for i, tc := range []struct {
			name   string
			status intake.Status
			closed time.Time
		}{{"open ticket", intake.Diproses, time.Time{}}, {"recently closed ticket", intake.Selesai, young},
			{"old ticket", intake.Selesai, old.Add(time.Hour)}} {
			m, err := in(key(2000+i), old, false)
			if err != nil {
				return err
			}
			seq, err := tx.NextTicketSeq()
			if err != nil {
				return err
			}
			tk := intake.Ticket{Number: intake.TicketNumber("", seq), Seq: seq, Status: intake.Diterima,
				Complainant: alice, ReplyAddress: alice, InboundID: m.ID, CreatedAt: old}
			if err := tx.CreateTicket(&tk); err != nil {
				return err
			}
			if err := tx.MarkInbound(m.ID, tk.Number, "complaint"); err != nil {
				return err
			}
			err = tx.Enqueue(&intake.Outgoing{Phone: alice, To: alice, Text: tc.name, Ticket: tk.Number,
				Status: intake.OutSent, CreatedAt: old})
			if err != nil {
				return err
			}
			tk.Status, tk.ClosedAt = tc.status, tc.closed
			if err := tx.SaveTicket(&tk); err != nil {
				return err
			}
			if tc.name == "old ticket" {
				closedOld = m.ID
			} else {
				kept[tc.name] = m
			}
		}
		for _, o := range []intake.Outgoing{
			{Phone: alice, To: alice, Text: "old help", Kind: "help", Status: intake.OutSent, CreatedAt: old},
			{Phone: alice, To: alice, Text: "young help", Kind: "help", Status: intake.OutSent, CreatedAt: young},
			{Phone: alice, To: alice, Text: "still queued", Status: intake.OutQueued, CreatedAt: old},
		} {
			if err := tx.Enqueue(&o); err != nil {
				return err
			}
		}
		for _, p := range []intake.Part{
			{Key: alice + "|20241121|5|2|1", Group: alice + "|20241121|5|2", Seq: 1, Received: old},
			{Key: alice + "|20241121|6|2|1", Group: alice + "|20241121|6|2", Seq: 1, Received: old},
			{Key: young1Key, Group: alice + "|20250227|7|2", Seq: 1, Received: young},
			{Key: young2Key, Group: alice + "|20250227|7|2", Seq: 2, Received: young},
		} {
			p.Channel, p.From, p.Total, p.Text, p.Raw = channel, alice, 2, "panjang", []byte("pdu")
			if _, err := tx.InsertPart(&p); err != nil {
				return err
			}
		}
		if err := tx.JoinParts(channel, alice+"|20241121|6|2"); err != nil { // joined now, received long ago
			return err
		}
		if err := tx.JoinParts(channel, alice+"|20250227|7|2"); err != nil {
			return err
		}
		return errors.Join(
			tx.PutSession(&intake.Session{Key: "sms:" + alice, Phone: alice, State: "{}", Updated: old,
				Expires: old.Add(30 * time.Minute)}),
			tx.PutSession(&intake.Session{Key: "sms:" + bob, Phone: bob, State: "{}", Updated: t0,
				Expires: t0.Add(30 * time.Minute)}))
	})

	got, err := db.ErasePastRetention(ctx, before)
	if want := (store.Erased{Tickets: 1, Inbound: 250, Outbox: 2, Parts: 2, Sessions: 1}); err != nil || got != want {
		t.Errorf("first run: got %+v, %v, want %+v", got, err, want)
	}
	if got, err := db.ErasePastRetention(ctx, before); err != nil || got != (store.Erased{}) {
		t.Errorf("second run: got %+v, %v, want nothing left", got, err)
	}

	t.Run("LooseMessages", func(t *testing.T) {
		for _, id := range append(loose, closedOld) {
			r := readInbound(t, path, id)
			if r.ext != fmt.Sprintf("erased:%d", id) || r.sender != "" || r.phone != "" || len(r.raw) != 0 {
				t.Fatalf("message %d: got %+v, want number, raw and external id erased", id, r)
			}
			if r.text != "CEK 4821303" {
				t.Fatalf("message %d: text %q, want it kept", id, r.text)
			}
		}
	})
	t.Run("KeptMessages", func(t *testing.T) {
		for name, m := range kept {
			r := readInbound(t, path, m.ID)
			if r.ext != m.ExternalID || r.sender != alice || r.phone != alice || string(r.raw) != "pdu" {
				t.Errorf("%s: got %+v, want it untouched", name, r)
			}
		}
	})
	t.Run("Outbox", func(t *testing.T) {
		rows, err := db.Outbox(ctx, store.OutboxFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		erased := map[string]bool{"old help": true, "old ticket": true, "still queued": true}
		for _, o := range rows {
			if blank := o.Phone == "" && o.To == ""; blank != erased[o.Text] {
				t.Errorf("outbox %q: erased=%v, want %v (%+v)", o.Text, blank, erased[o.Text], o)
			}
			// Queued a whole retention period: given up, not left to block.
			if o.Text == "still queued" && (o.Status != intake.OutFailed || !strings.HasPrefix(o.LastError, "expired")) {
				t.Errorf("outbox %q: status %s (%q), want failed, expired", o.Text, o.Status, o.LastError)
			}
		}
		if len(rows) != 6 {
			t.Errorf("got %d outbox rows, want all 6 kept", len(rows))
		}
	})
	t.Run("Parts", func(t *testing.T) {
		if got := partKeys(t, path); len(got) != 2 || got[0] != young1Key || got[1] != young2Key {
			t.Errorf("parts left: got %q, want only the young ones", got)
		}
	})
	t.Run("Sessions", func(t *testing.T) {
		view(t, db, func(tx intake.Tx) error {
			if _, err := tx.Session("sms:" + alice); !errors.Is(err, intake.ErrNotFound) {
				t.Errorf("session expired long ago: got %v, want ErrNotFound", err)
			}
			_, err := tx.Session("sms:" + bob)
			return err
		})
	})
}

// TestErasePastRetention_Cursor: messages are walked in id order behind a
// cursor that never passes one still in use. A message not yet acted on
// keeps its number and holds the cursor; once acted on, the next run
// erases it. A message that is young now is erased by a later run, once
// it is past the cut-off, and no message is counted twice.
func TestErasePastRetention_Cursor(t *testing.T) {
	db, clock, path := openTest(t)
	ctx := context.Background()
	old := t0.Add(-100 * 24 * time.Hour)
	var ids []int64
	update(t, db, func(tx intake.Tx) error {
		for i, pending := range []bool{false, true, false} {
			m := &intake.Message{Channel: "sim", ExternalID: fmt.Sprint("c", i), From: alice, Phone: alice,
				Text: "CEK", Received: old, Pending: pending}
			if _, _, err := tx.InsertInbound(m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		m := &intake.Message{Channel: "sim", ExternalID: "young", From: alice, Phone: alice, Text: "CEK", Received: t0}
		_, _, err := tx.InsertInbound(m)
		ids = append(ids, m.ID)
		return err
	})
	erased := func(id int64) bool { return readInbound(t, path, id).phone == "" }
	before := t0.Add(-30 * 24 * time.Hour)
	if got, err := db.ErasePastRetention(ctx, before); err != nil || got.Inbound != 2 {
		t.Fatalf("first run: %+v, %v; want the two old messages acted on", got, err)
	}
	if !erased(ids[0]) || erased(ids[1]) || !erased(ids[2]) || erased(ids[3]) {
		t.Fatalf("after the first run: erased %v %v %v %v, want true false true false",
			erased(ids[0]), erased(ids[1]), erased(ids[2]), erased(ids[3]))
	}
	update(t, db, func(tx intake.Tx) error { return tx.MarkInbound(ids[1], "", "cek") })
	if got, err := db.ErasePastRetention(ctx, before); err != nil || got.Inbound != 1 || !erased(ids[1]) {
		t.Fatalf("after the pending one was acted on: %+v, %v, erased %v; want it erased", got, err, erased(ids[1]))
	}
	clock.Add(365 * 24 * time.Hour)
	if got, err := db.ErasePastRetention(ctx, clock.Now().Add(-30*24*time.Hour)); err != nil || got.Inbound != 1 || !erased(ids[3]) {
		t.Fatalf("a year on: %+v, %v, erased %v; want the young one erased, once", got, err, erased(ids[3]))
	}
}

// TestErasePastRetention_Bookkeeping: records of digests, of reminders
// about closed tickets and central jobs done for closed tickets go once
// past the cut-off; those an open ticket still needs, and young ones, stay.
func TestErasePastRetention_Bookkeeping(t *testing.T) {
	db, _, path := openTest(t)
	ctx := context.Background()
	old, young := t0.Add(-100*24*time.Hour), t0.Add(-24*time.Hour)
	var open, closed string
	update(t, db, func(tx intake.Tx) error {
		for i, status := range []intake.Status{intake.Diproses, intake.Selesai} {
			seq, err := tx.NextTicketSeq()
			if err != nil {
				return err
			}
			tk := intake.Ticket{Number: intake.TicketNumber("", seq), Seq: seq, Status: status, Complainant: alice,
				CreatedAt: old}
			if status == intake.Selesai {
				tk.ClosedAt = old.Add(time.Hour)
			}
			if err := tx.CreateTicket(&tk); err != nil {
				return err
			}
			if i == 0 {
				open = tk.Number
			} else {
				closed = tk.Number
			}
		}
		for _, s := range []struct {
			kind, key string
			at        time.Time
		}{
			{intake.SeenDigest, "DLH/2024-11-21", old}, {intake.SeenDigest, "DLH/2025-02-28", young},
			{intake.RemindResolveMissed, closed, old}, {intake.RemindResolveBefore, closed + "@1", old},
			{intake.RemindResolveMissed, open, old}, {intake.RemindEscalate, closed, young},
		} {
			if _, err := tx.Seen(s.kind, s.key, s.at); err != nil {
				return err
			}
		}
		for _, j := range []intake.Job{
			{Kind: intake.JobCreate, Ticket: closed, Status: intake.JobDone, CreatedAt: old},
			{Kind: intake.JobUpdate, Ticket: closed, Status: intake.JobFailed, CreatedAt: old},
			{Kind: intake.JobCreate, Ticket: open, Status: intake.JobDone, CreatedAt: old},
		} {
			if _, err := tx.EnqueueJob(&j); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := db.ErasePastRetention(ctx, t0.Add(-30*24*time.Hour))
	if err != nil || got.Records != 4 {
		t.Fatalf("ErasePastRetention = %+v, %v; want 4 records pruned", got, err)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	left := func(q string) []string {
		rows, err := raw.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var a, b string
			if err := rows.Scan(&a, &b); err != nil {
				t.Fatal(err)
			}
			out = append(out, a+" "+b)
		}
		return out
	}
	seen := left("SELECT kind, key FROM seen ORDER BY kind, key")
	want := []string{intake.SeenDigest + " DLH/2025-02-28", intake.RemindEscalate + " " + closed,
		intake.RemindResolveMissed + " " + open}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("seen left: %q, want %q", seen, want)
	}
	jobs := left("SELECT ticket, status FROM jobs ORDER BY id")
	if want := []string{closed + " " + intake.JobFailed, open + " " + intake.JobDone}; fmt.Sprint(jobs) != fmt.Sprint(want) {
		t.Errorf("jobs left: %q, want %q", jobs, want)
	}
}

// TestErasePastRetention_StuckReply: a reply queued for a channel that is
// gone never leaves; it must not keep the replies after it from being
// erased (it is given up instead).
func TestErasePastRetention_StuckReply(t *testing.T) {
	db, _, _ := openTest(t)
	ctx := context.Background()
	old := t0.Add(-100 * 24 * time.Hour)
	update(t, db, func(tx intake.Tx) error {
		if err := tx.Enqueue(&intake.Outgoing{Channel: "modem:old", Phone: alice, To: alice, Text: "stuck",
			Status: intake.OutQueued, CreatedAt: old}); err != nil {
			return err
		}
		for i := range 500 {
			if err := tx.Enqueue(&intake.Outgoing{Phone: alice, To: alice, Text: fmt.Sprint("sent ", i),
				Status: intake.OutSent, CreatedAt: old}); err != nil {
				return err
			}
		}
		return nil
	})
	if got, err := db.ErasePastRetention(ctx, t0.Add(-30*24*time.Hour)); err != nil || got.Outbox != 501 {
		t.Fatalf("ErasePastRetention = %+v, %v; want all 501 old replies erased in one run", got, err)
	}
}

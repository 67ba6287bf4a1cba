package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kotamalang/sambatd/intake"
)

func TestInsertInbound_Dedup(t *testing.T) {
	db, _, _ := openTest(t)
	in := intake.Message{
		Channel: "twilio", ExternalID: "SM1", From: "whatsapp:+6281234567890", Phone: "+6281234567890",
		To: "+14155550100", Text: "SAMBAT jalan rusak'; DROP TABLE inbound;--", Raw: []byte("Body=x&From=y"),
		Received:    time.Date(2025, 3, 1, 7, 59, 58, 123e6, time.FixedZone("WIB", 7*3600)),
		Attachments: []intake.Attachment{{URL: "https://media/1", ContentType: "image/jpeg"}},
		Note:        "repeat",
	}
	var id1, id2, id3 int64
	var fresh1, fresh2, fresh3 bool
	update(t, db, func(tx intake.Tx) (err error) {
		m := in
		if id1, fresh1, err = tx.InsertInbound(&m); err != nil {
			return err
		}
		dup := in
		dup.Text = "changed"
		if id2, fresh2, err = tx.InsertInbound(&dup); err != nil {
			return err
		}
		other := in
		other.Channel = "sim"
		id3, fresh3, err = tx.InsertInbound(&other)
		return err
	})
	if !fresh1 || fresh2 || id2 != id1 {
		t.Errorf("redelivery: got (%d,%v) then (%d,%v), want the same id and fresh=true then false", id1, fresh1, id2, fresh2)
	}
	if !fresh3 || id3 == id1 {
		t.Errorf("same id on another channel: got (%d,%v), want a new row", id3, fresh3)
	}
	view(t, db, func(tx intake.Tx) error {
		got, err := tx.Inbound("twilio", "SM1")
		if err != nil {
			return err
		}
		want := in
		want.ID = id1
		want.Received = in.Received.UTC()
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("stored message (-want +got):\n%s", diff)
		}
		if _, err := tx.Inbound("twilio", "nope"); !errors.Is(err, intake.ErrNotFound) {
			t.Errorf("missing message: got %v, want ErrNotFound", err)
		}
		return nil
	})
}

func TestInsertInbound_GeneratedExternalID(t *testing.T) {
	db, clock, _ := openTest(t)
	var a, b intake.Message
	update(t, db, func(tx intake.Tx) error {
		a = intake.Message{Channel: "cli", Text: "a"}
		b = intake.Message{Channel: "cli", Text: "b"}
		for _, m := range []*intake.Message{&a, &b} {
			if _, fresh, err := tx.InsertInbound(m); err != nil || !fresh {
				return errors.Join(err, errors.New("not fresh"))
			}
		}
		return nil
	})
	if !strings.HasPrefix(a.ExternalID, "gen-") || a.ExternalID == b.ExternalID {
		t.Errorf("generated ids: got %q and %q, want two distinct gen- ids", a.ExternalID, b.ExternalID)
	}
	if !a.Received.Equal(clock.Now()) {
		t.Errorf("received: got %v, want the clock's %v", a.Received, clock.Now())
	}
	if got := countInbound(t, db, "cli"); got != 2 {
		t.Errorf("rows: got %d, want 2", got)
	}
}

func TestMarkInbound(t *testing.T) {
	db, _, _ := openTest(t)
	update(t, db, func(tx intake.Tx) error {
		m := &intake.Message{Channel: "sim", ExternalID: "1"}
		id, _, err := tx.InsertInbound(m)
		if err != nil {
			return err
		}
		return tx.MarkInbound(id, "1000003", "over_limit")
	})
	view(t, db, func(tx intake.Tx) error {
		m, err := tx.Inbound("sim", "1")
		if err != nil {
			return err
		}
		if m.Ticket != "1000003" || m.Note != "over_limit" {
			t.Errorf("marked: got ticket %q note %q", m.Ticket, m.Note)
		}
		return nil
	})
	err := db.Update(t.Context(), func(tx intake.Tx) error { return tx.MarkInbound(999, "", "x") })
	if !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("unknown id: got %v, want ErrNotFound", err)
	}
}

func TestConversation(t *testing.T) {
	db, _, _ := openTest(t)
	const phone = "+6281234567890"
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	update(t, db, func(tx intake.Tx) error {
		steps := []func() error{
			func() error { return inbound(tx, "1", phone, "in@10", at(10)) },
			func() error { return outgoing(tx, phone, "out@10", at(10)) }, // same time: after the inbound
			func() error { return outgoing(tx, phone, "out@5", at(5)) },
			func() error { return inbound(tx, "2", phone, "in@20", at(20)) },
			func() error { return inbound(tx, "3", "+6289999999999", "other", at(15)) },
			func() error { return outgoing(tx, phone, "out@20", at(20)) },
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
		return nil
	})
	tests := []struct {
		limit int
		want  []string
	}{
		{0, []string{"out@5", "in@10", "out@10", "in@20", "out@20"}},
		{3, []string{"out@10", "in@20", "out@20"}},
	}
	for _, tt := range tests {
		var items []intake.ConversationItem
		view(t, db, func(tx intake.Tx) (err error) {
			items, err = tx.Conversation(phone, tt.limit)
			return err
		})
		var got []string
		for _, it := range items {
			got = append(got, it.Text)
			if want := map[bool]string{true: "in", false: "out"}[strings.HasPrefix(it.Text, "in")]; it.Direction != want {
				t.Errorf("%s: direction %q, want %q", it.Text, it.Direction, want)
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("limit %d (-want +got):\n%s", tt.limit, diff)
		}
	}
}

// inbound stores a message from phone received at at.
func inbound(tx intake.Tx, ext, phone, text string, at time.Time) error {
	_, _, err := tx.InsertInbound(&intake.Message{Channel: "sim", ExternalID: ext, From: phone,
		Phone: phone, Text: text, Received: at})
	return err
}

// outgoing queues a reply to phone created at at.
func outgoing(tx intake.Tx, phone, text string, at time.Time) error {
	return tx.Enqueue(&intake.Outgoing{Channel: "sim", To: phone, Phone: phone, Text: text, Kind: "ack", CreatedAt: at})
}

func TestParts(t *testing.T) {
	db, clock, _ := openTest(t)
	part := func(key string, seq int, group string) *intake.Part {
		return &intake.Part{Channel: "modem:m1", Key: key, Group: group, From: "+628123", Seq: seq,
			Total: 3, Text: key, Raw: []byte{byte(seq)}}
	}
	insert := func(p *intake.Part) bool {
		var fresh bool
		update(t, db, func(tx intake.Tx) (err error) {
			fresh, err = tx.InsertPart(p)
			return err
		})
		return fresh
	}
	if !insert(part("k2", 2, "g1")) || !insert(part("k1", 1, "g1")) {
		t.Fatal("first delivery of a part: got fresh=false")
	}
	if insert(part("k2", 2, "g1")) {
		t.Error("redelivered part: got fresh=true")
	}
	clock.Add(time.Minute)
	insert(part("x1", 1, "g2"))
	var parts []intake.Part
	var stale []intake.PartGroup
	view(t, db, func(tx intake.Tx) (err error) {
		if parts, err = tx.Parts("modem:m1", "g1"); err != nil {
			return err
		}
		stale, err = tx.StaleGroups(t0.Add(30 * time.Second))
		return err
	})
	want := []intake.Part{*part("k1", 1, "g1"), *part("k2", 2, "g1")}
	want[0].Received, want[1].Received = t0, t0
	if diff := cmp.Diff(want, parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]intake.PartGroup{{Channel: "modem:m1", Group: "g1"}}, stale); diff != "" {
		t.Errorf("stale groups (-want +got):\n%s", diff)
	}
	update(t, db, func(tx intake.Tx) error { return tx.JoinParts("modem:m1", "g1") })
	if insert(part("k1", 1, "g1")) {
		t.Error("part redelivered after the join: got fresh=true")
	}
	view(t, db, func(tx intake.Tx) (err error) {
		if parts, err = tx.Parts("modem:m1", "g1"); err != nil {
			return err
		}
		stale, err = tx.StaleGroups(t0.Add(time.Hour))
		return err
	})
	if len(parts) != 0 {
		t.Errorf("parts after join: got %d, want 0", len(parts))
	}
	if diff := cmp.Diff([]intake.PartGroup{{Channel: "modem:m1", Group: "g2"}}, stale, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("stale groups after join (-want +got):\n%s", diff)
	}
}

func TestOptOutAndSessions(t *testing.T) {
	db, clock, _ := openTest(t)
	const phone = "+6281234567890"
	s := &intake.Session{Key: "sms:" + phone, Phone: phone, State: "menu|1", Expires: t0.Add(5 * time.Minute)}
	update(t, db, func(tx intake.Tx) error {
		if err := tx.SetOptOut(phone, true, time.Time{}); err != nil {
			return err
		}
		return tx.PutSession(s)
	})
	view(t, db, func(tx intake.Tx) error {
		out, err := tx.OptedOut(phone)
		if err != nil || !out {
			t.Errorf("OptedOut: got %v, %v, want true", out, err)
		}
		if out, err := tx.OptedOut("+62800"); err != nil || out {
			t.Errorf("OptedOut of an unknown phone: got %v, %v, want false", out, err)
		}
		got, err := tx.Session(s.Key)
		if err != nil {
			return err
		}
		want := *s
		want.Updated = clock.Now()
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("session (-want +got):\n%s", diff)
		}
		return nil
	})
	update(t, db, func(tx intake.Tx) error {
		if err := tx.SetOptOut(phone, false, t0); err != nil {
			return err
		}
		s.State = "menu|2"
		if err := tx.PutSession(s); err != nil {
			return err
		}
		got, err := tx.Session(s.Key)
		if err != nil || got.State != "menu|2" {
			t.Errorf("replaced session: got %+v, %v", got, err)
		}
		return tx.DeleteSession(s.Key)
	})
	view(t, db, func(tx intake.Tx) error {
		if out, _ := tx.OptedOut(phone); out {
			t.Error("OptedOut after opting back in: got true")
		}
		if _, err := tx.Session(s.Key); !errors.Is(err, intake.ErrNotFound) {
			t.Errorf("deleted session: got %v, want ErrNotFound", err)
		}
		return nil
	})
}

func TestPendingInbound(t *testing.T) {
	db, _, _ := openTest(t)
	att := []intake.Attachment{{URL: "https://media/1", ContentType: "image/jpeg"}}
	var a, b, c int64
	update(t, db, func(tx intake.Tx) (err error) {
		if a, _, err = tx.InsertInbound(&intake.Message{Channel: "twilio", ExternalID: "a", From: "whatsapp:+6281234567890",
			Phone: "+6281234567890", Text: "SAMBAT a", Attachments: att, Pending: true}); err != nil {
			return err
		}
		if b, _, err = tx.InsertInbound(&intake.Message{Channel: "sim", ExternalID: "b", Text: "handled at once"}); err != nil {
			return err
		}
		c, _, err = tx.InsertInbound(&intake.Message{Channel: "twilio", ExternalID: "c", Text: "SAMBAT c", Pending: true})
		return err
	})
	pending := func(after int64) []intake.Message {
		var ms []intake.Message
		view(t, db, func(tx intake.Tx) (err error) {
			ms, err = tx.PendingInbound(after, 10)
			return err
		})
		return ms
	}
	ms := pending(0)
	if len(ms) != 2 || ms[0].ID != a || ms[1].ID != c {
		t.Fatalf("pending: got %+v, want rows %d and %d (not %d)", ms, a, c, b)
	}
	if m := ms[0]; !m.Pending || m.Phone != "+6281234567890" || m.From != "whatsapp:+6281234567890" ||
		m.Text != "SAMBAT a" || !cmp.Equal(m.Attachments, att) {
		t.Errorf("pending row a: got %+v", m)
	}
	if ms := pending(a); len(ms) != 1 || ms[0].ID != c {
		t.Errorf("pending after %d: got %+v, want only %d", a, ms, c)
	}
	if s, err := db.Stats(t.Context()); err != nil || s.Pending != 2 {
		t.Errorf("Stats.Pending = %d (%v), want 2", s.Pending, err)
	}
	var first, second bool
	update(t, db, func(tx intake.Tx) (err error) {
		if first, err = tx.TakePending(a); err != nil {
			return err
		}
		if second, err = tx.TakePending(a); err != nil {
			return err
		}
		return tx.MarkInbound(c, "1000003", "")
	})
	if !first || second {
		t.Errorf("TakePending twice: got %v then %v, want true then false", first, second)
	}
	if ms := pending(0); len(ms) != 0 {
		t.Errorf("after TakePending and MarkInbound: still pending %+v", ms)
	}
}

// BenchmarkInsertInbound is the writer's cost of keeping one accepted
// webhook message (100 per transaction, so the commit hardly counts):
//
//	go test -run '^$' -bench InsertInbound ./store
func BenchmarkInsertInbound(b *testing.B) {
	db, _, _ := openTest(b)
	raw := []byte(strings.Repeat("MessageSid=SM0123456789abcdef&", 16))
	b.ResetTimer()
	for i := 0; i < b.N; i += 100 {
		err := db.Update(context.Background(), func(tx intake.Tx) error {
			for j := i; j < i+100; j++ {
				_, _, err := tx.InsertInbound(&intake.Message{Channel: "twilio", ExternalID: fmt.Sprintf("SM%032d", j),
					From: "whatsapp:+6281300001234", Phone: fmt.Sprintf("+62813%08d", j), To: "whatsapp:+14155550100",
					Text: "SAMBAT lampu PJU mati nomor 1234 di Jl Semeru", Raw: raw, Pending: true})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

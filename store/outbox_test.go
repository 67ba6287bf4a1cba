package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

// enqueue adds rows and returns their ids.
func enqueue(t *testing.T, db *store.DB, rows ...intake.Outgoing) []int64 {
	t.Helper()
	var ids []int64
	update(t, db, func(tx intake.Tx) error {
		for _, o := range rows {
			if err := tx.Enqueue(&o); err != nil {
				return err
			}
			ids = append(ids, o.ID)
		}
		return nil
	})
	return ids
}

// row returns outbox row id as operators see it.
func row(t *testing.T, db *store.DB, id int64) intake.Outgoing {
	t.Helper()
	rows, err := db.Outbox(context.Background(), store.OutboxFilter{Limit: 500})
	if err != nil {
		t.Fatalf("Outbox: %v", err)
	}
	for _, o := range rows {
		if o.ID == id {
			return o
		}
	}
	t.Fatalf("outbox row %d not listed", id)
	return intake.Outgoing{}
}

// ids returns the ids of rows.
func ids(rows []intake.Outgoing) []int64 {
	var out []int64
	for _, o := range rows {
		out = append(out, o.ID)
	}
	return out
}

func TestOutbox_Lifecycle(t *testing.T) {
	db, clock, _ := openTest(t)
	ctx := context.Background()
	id := enqueue(t, db,
		intake.Outgoing{Channel: "modem", To: alice, Phone: alice, Text: "a", Kind: "ack"},
		intake.Outgoing{Channel: "", To: alice, Phone: alice, Text: "b", Kind: "notify"},
		intake.Outgoing{Channel: "twilio", To: "whatsapp:" + alice, Phone: alice, Text: "c", Kind: "ack"},
		intake.Outgoing{Channel: "modem", To: bob, Phone: bob, Text: "d", Kind: "notify", NextAt: t0.Add(time.Hour)},
	)
	claimed, err := db.Claim(ctx, []string{"modem", ""}, clock.Now(), 10)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if diff := cmp.Diff([]int64{id[0], id[1]}, ids(claimed)); diff != "" {
		t.Fatalf("claimed (-want +got):\n%s", diff)
	}
	for _, o := range claimed {
		if o.Status != intake.OutSending || o.Attempts != 1 || !o.CreatedAt.Equal(t0) {
			t.Errorf("claimed row %d: status %q attempts %d created %v", o.ID, o.Status, o.Attempts, o.CreatedAt)
		}
	}
	if again, err := db.Claim(ctx, []string{"modem", ""}, clock.Now(), 10); err != nil || len(again) != 0 {
		t.Errorf("second Claim: got %v, %v, want nothing", ids(again), err)
	}
	if n, err := db.RequeueInflight(ctx); err != nil || n != 2 {
		t.Fatalf("RequeueInflight: got %d, %v, want 2", n, err)
	}
	claimed, err = db.Claim(ctx, []string{"modem", ""}, t0.Add(time.Hour), 1)
	if err != nil || len(claimed) != 1 || claimed[0].ID != id[0] || claimed[0].Attempts != 2 {
		t.Fatalf("Claim after requeue: got %+v, %v, want row %d on attempt 2", claimed, err, id[0])
	}

	at := t0.Add(time.Minute)
	mustOK(t, db.MarkSent(ctx, id[0], "modem:m1", "ref-17", at))
	if o := row(t, db, id[0]); o.Status != intake.OutSent || o.SentVia != "modem:m1" || o.ProviderID != "ref-17" || !o.SentAt.Equal(at) {
		t.Errorf("after MarkSent: %+v", o)
	}
	mustOK(t, db.MarkDelivery(ctx, "modem:m1", "ref-17", intake.OutDelivered, at))
	if o := row(t, db, id[0]); o.Status != intake.OutDelivered {
		t.Errorf("after MarkDelivery: status %q, want delivered", o.Status)
	}
	// A late "sent" record or a stale report does not undo the delivery.
	mustOK(t, db.MarkSent(ctx, id[0], "modem:m1", "ref-17", at))
	mustOK(t, db.MarkDelivery(ctx, "modem:m1", "ref-17", intake.OutUndelivered, at))
	if o := row(t, db, id[0]); o.Status != intake.OutDelivered {
		t.Errorf("after late reports: status %q, want delivered", o.Status)
	}

	notFound := []error{
		db.MarkDelivery(ctx, "modem:m1", "ref-99", intake.OutDelivered, at),
		db.MarkDelivery(ctx, "modem:m2", "ref-17", intake.OutDelivered, at),
		db.MarkDelivery(ctx, "modem:m1", "", intake.OutDelivered, at),
		db.MarkSent(ctx, 999, "x", "y", at),
		db.MarkRetry(ctx, 999, "x", at),
		db.MarkFailed(ctx, 999, "x", at),
	}
	for i, err := range notFound {
		if !errors.Is(err, intake.ErrNotFound) {
			t.Errorf("not-found case %d: got %v, want ErrNotFound", i, err)
		}
	}
	if err := db.MarkDelivery(ctx, "modem:m1", "ref-17", "bogus", at); err == nil {
		t.Error("MarkDelivery with an unknown status: got nil error")
	}

	// Row b: retry later, then fail.
	claimed, _ = db.Claim(ctx, []string{""}, t0.Add(time.Hour), 10)
	if diff := cmp.Diff([]int64{id[1]}, ids(claimed)); diff != "" {
		t.Fatalf("claim of the any-channel row (-want +got):\n%s", diff)
	}
	mustOK(t, db.MarkRetry(ctx, id[1], "modem busy", t0.Add(2*time.Hour)))
	if o := row(t, db, id[1]); o.Status != intake.OutQueued || o.LastError != "modem busy" || !o.NextAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("after MarkRetry: %+v", o)
	}
	if early, _ := db.Claim(ctx, []string{""}, t0.Add(time.Hour), 10); len(early) != 0 {
		t.Errorf("claim before next_at: got %v, want nothing", ids(early))
	}
	mustOK(t, db.MarkFailed(ctx, id[1], "gave up", at))
	if o := row(t, db, id[1]); o.Status != intake.OutFailed || o.LastError != "gave up" {
		t.Errorf("after MarkFailed: %+v", o)
	}
}

func TestOutbox_RetryCancel(t *testing.T) {
	db, clock, _ := openTest(t)
	ctx := context.Background()
	id := enqueue(t, db,
		intake.Outgoing{Channel: "sim", Phone: alice, To: alice, Text: "a", NextAt: t0.Add(time.Hour)},
		intake.Outgoing{Channel: "sim", Phone: alice, To: alice, Text: "b"},
	)
	mustOK(t, db.CancelOutbox(ctx, id[0]))
	if o := row(t, db, id[0]); o.Status != intake.OutCancelled {
		t.Errorf("after cancel: %q", o.Status)
	}
	clock.Add(time.Minute)
	mustOK(t, db.RetryOutbox(ctx, id[0]))
	if o := row(t, db, id[0]); o.Status != intake.OutQueued || !o.NextAt.Equal(clock.Now()) {
		t.Errorf("after retry: status %q next %v, want queued now", o.Status, o.NextAt)
	}
	if _, err := db.Claim(ctx, []string{"sim"}, clock.Now(), 10); err != nil {
		t.Fatal(err)
	}
	mustOK(t, db.MarkSent(ctx, id[1], "sim", "s1", clock.Now()))
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"CancelSent", db.CancelOutbox(ctx, id[1]), intake.ErrTransition},
		{"RetrySent", db.RetryOutbox(ctx, id[1]), intake.ErrTransition},
		{"CancelSending", db.CancelOutbox(ctx, id[0]), intake.ErrTransition},
		{"CancelMissing", db.CancelOutbox(ctx, 999), intake.ErrNotFound},
		{"RetryMissing", db.RetryOutbox(ctx, 999), intake.ErrNotFound},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	sent, err := db.Outbox(ctx, store.OutboxFilter{Status: intake.OutSent})
	if err != nil || len(sent) != 1 || sent[0].ID != id[1] {
		t.Errorf("Outbox(sent): got %v, %v, want row %d", ids(sent), err, id[1])
	}
}

func TestCountOutbox(t *testing.T) {
	db, clock, _ := openTest(t)
	enqueue(t, db,
		intake.Outgoing{Phone: alice, Text: "1", Kind: "help"},
		intake.Outgoing{Phone: alice, Text: "2", Kind: "ack"},
		intake.Outgoing{Phone: bob, Text: "3", Kind: "help"},
	)
	clock.Add(time.Hour)
	enqueue(t, db, intake.Outgoing{Phone: alice, Text: "4", Kind: "help"})
	tests := []struct {
		kinds []string
		since time.Time
		want  int
	}{
		{[]string{"help"}, t0, 2},
		{[]string{"help", "ack"}, t0, 3},
		{nil, t0, 3},
		{[]string{"help"}, t0.Add(time.Minute), 1},
		{[]string{"menu"}, t0, 0},
	}
	for _, tt := range tests {
		view(t, db, func(tx intake.Tx) error {
			n, err := tx.CountOutbox(alice, tt.kinds, tt.since)
			if err != nil || n != tt.want {
				t.Errorf("CountOutbox(%v, %v): got %d, %v, want %d", tt.kinds, tt.since, n, err, tt.want)
			}
			return nil
		})
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

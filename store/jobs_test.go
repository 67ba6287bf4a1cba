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

// enqueueJob queues a job and returns it with whether it was fresh.
func enqueueJob(t *testing.T, db *store.DB, kind, ticket, payload string) (intake.Job, bool) {
	t.Helper()
	j := intake.Job{Kind: kind, Ticket: ticket, Payload: payload}
	var fresh bool
	update(t, db, func(tx intake.Tx) (err error) {
		fresh, err = tx.EnqueueJob(&j)
		return err
	})
	return j, fresh
}

// claimIDs claims due jobs and returns their ids.
func claimIDs(t *testing.T, db *store.DB, now time.Time) []int64 {
	t.Helper()
	js, err := db.ClaimJobs(context.Background(), now, 0)
	if err != nil {
		t.Fatalf("ClaimJobs: %v", err)
	}
	ids := []int64{}
	for _, j := range js {
		ids = append(ids, j.ID)
	}
	return ids
}

func TestJobs_CreateOncePerTicket(t *testing.T) {
	db, _, path := openTest(t)
	first, fresh := enqueueJob(t, db, intake.JobCreate, "1000006", "")
	if !fresh || first.ID == 0 || first.Status != intake.JobQueued {
		t.Fatalf("first enqueue: fresh %v job %+v", fresh, first)
	}
	db = reopen(t, db, path, newClock())
	again, fresh := enqueueJob(t, db, intake.JobCreate, "1000006", "")
	if fresh || again.ID != first.ID {
		t.Errorf("second create: fresh %v id %d, want false %d", fresh, again.ID, first.ID)
	}
	upd1, fresh1 := enqueueJob(t, db, intake.JobUpdate, "1000006", `{"status":"OPEN"}`)
	upd2, fresh2 := enqueueJob(t, db, intake.JobUpdate, "1000006", `{"status":"CLOSED"}`)
	if !fresh1 || !fresh2 || upd1.ID == upd2.ID {
		t.Errorf("updates: fresh %v %v ids %d %d, want two fresh jobs", fresh1, fresh2, upd1.ID, upd2.ID)
	}
	js, err := db.Jobs(context.Background(), "1000006")
	if err != nil || len(js) != 3 {
		t.Fatalf("Jobs: %d jobs, %v; want 3", len(js), err)
	}
}

func TestJobs_ClaimOrderAndLease(t *testing.T) {
	db, clock, _ := openTest(t)
	ctx := context.Background()
	aCreate, _ := enqueueJob(t, db, intake.JobCreate, "A", "")
	aUpdate, _ := enqueueJob(t, db, intake.JobUpdate, "A", "{}")
	bCreate, _ := enqueueJob(t, db, intake.JobCreate, "B", "")
	now := clock.Now()

	if diff := cmp.Diff([]int64{aCreate.ID, bCreate.ID}, claimIDs(t, db, now)); diff != "" {
		t.Errorf("first claim: the update must wait for its create (-want +got):\n%s", diff)
	}
	if got := claimIDs(t, db, now); len(got) != 0 {
		t.Errorf("claim while leased: got %v, want none", got)
	}
	if err := db.FinishJob(ctx, aCreate.ID, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{aUpdate.ID}, claimIDs(t, db, now)); diff != "" {
		t.Errorf("after create done (-want +got):\n%s", diff)
	}
	// B was claimed and never finished (a crash): due again after the lease.
	if got := claimIDs(t, db, now.Add(store.JobLease-time.Second)); len(got) != 0 {
		t.Errorf("claim before the lease ends: got %v, want none", got)
	}
	if diff := cmp.Diff([]int64{aUpdate.ID, bCreate.ID}, claimIDs(t, db, now.Add(store.JobLease))); diff != "" {
		t.Errorf("claim after the lease (-want +got):\n%s", diff)
	}
}

func TestJobs_FinishRetryFailRelease(t *testing.T) {
	db, clock, _ := openTest(t)
	ctx := context.Background()
	j, _ := enqueueJob(t, db, intake.JobCreate, "A", "")
	k, _ := enqueueJob(t, db, intake.JobCreate, "B", "")
	now := clock.Now()
	claimIDs(t, db, now)

	next := now.Add(time.Minute)
	if err := db.FinishJob(ctx, j.ID, "503 unavailable", next); err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseJobs(ctx, []int64{k.ID}, next); err != nil {
		t.Fatal(err)
	}
	if got := claimIDs(t, db, next.Add(-time.Millisecond)); len(got) != 0 {
		t.Errorf("claim before next: got %v, want none", got)
	}
	st, err := db.JobStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := intake.JobStats{Queued: 2, OldestQueued: now, LastError: "503 unavailable"}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	claimIDs(t, db, next)
	if err := db.FinishJob(ctx, j.ID, "400 bad service_code", time.Time{}); err != nil {
		t.Fatal(err)
	}
	js, _ := db.Jobs(ctx, "")
	if js[0].Status != intake.JobFailed || js[0].Attempts != 2 || js[1].Attempts != 0 {
		t.Errorf("after fail: %+v; want A failed after 2 attempts, B untried", js)
	}
	if st, _ := db.JobStats(ctx); st.Failed != 1 || st.Queued != 1 || st.LastError != "400 bad service_code" {
		t.Errorf("stats after fail: %+v", st)
	}
	if n, err := db.RetryFailedJobs(ctx); n != 1 || err != nil {
		t.Errorf("RetryFailedJobs = %d, %v; want 1", n, err)
	}
	if err := db.FinishJob(ctx, 999, "", time.Time{}); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("FinishJob(unknown) = %v, want ErrNotFound", err)
	}
}

func TestJobs_Payload(t *testing.T) {
	db, _, _ := openTest(t)
	j, _ := enqueueJob(t, db, intake.JobCreate, "A", "")
	if err := db.SetJobPayload(context.Background(), j.ID, `{"token":"t-1"}`); err != nil {
		t.Fatal(err)
	}
	js, _ := db.Jobs(context.Background(), "A")
	if got := js[0].Payload; got != `{"token":"t-1"}` {
		t.Errorf("payload: got %q", got)
	}
}

func TestSeen(t *testing.T) {
	db, clock, path := openTest(t)
	seen := func(kind, key string) bool {
		var fresh bool
		update(t, db, func(tx intake.Tx) (err error) {
			fresh, err = tx.Seen(kind, key, clock.Now())
			return err
		})
		return fresh
	}
	if !seen("central_update", "u-1") {
		t.Error("first Seen: got false, want fresh")
	}
	if seen("central_update", "u-1") {
		t.Error("second Seen: got fresh, want false")
	}
	if !seen("respond_before", "u-1") {
		t.Error("same key, other kind: got false, want fresh")
	}
	db = reopen(t, db, path, clock)
	if seen("central_update", "u-1") {
		t.Error("Seen after reopen: got fresh, want false")
	}
	// A rolled back Seen is not kept.
	errBoom := errors.New("boom")
	err := db.Update(context.Background(), func(tx intake.Tx) error {
		if _, err := tx.Seen("k", "rolled", clock.Now()); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) || !seen("k", "rolled") {
		t.Errorf("rolled back Seen: err %v, want the key still fresh", err)
	}
}

func TestTicketByCentralID(t *testing.T) {
	db, _, _ := openTest(t)
	tk := newTicket(t, db, intake.Ticket{Category: "jalan", OPD: "DPU", CentralID: "293944"})
	newTicket(t, db, intake.Ticket{Category: "jalan", OPD: "DPU"})
	tests := []struct {
		id   string
		want string
		err  error
	}{
		{"293944", tk.Number, nil},
		{"1", "", intake.ErrUnknownTicket},
		{"", "", intake.ErrUnknownTicket},
	}
	for _, tt := range tests {
		view(t, db, func(tx intake.Tx) error {
			got, err := tx.TicketByCentralID(tt.id)
			if !errors.Is(err, tt.err) {
				t.Errorf("TicketByCentralID(%q) error: got %v, want %v", tt.id, err, tt.err)
			}
			if err == nil && got.Number != tt.want {
				t.Errorf("TicketByCentralID(%q): got %s, want %s", tt.id, got.Number, tt.want)
			}
			return nil
		})
	}
}

func TestTickets_FilterOpenCentral(t *testing.T) {
	db, clock, _ := openTest(t)
	tk := seedTickets(t, db, clock) // tk[3] is selesai
	update(t, db, func(tx intake.Tx) error {
		for _, i := range []int{1, 3} {
			tk[i].CentralID = "c" + tk[i].Number
			if err := tx.SaveTicket(&tk[i]); err != nil {
				return err
			}
		}
		return nil
	})
	tests := []struct {
		name string
		f    intake.TicketFilter
		want []int
	}{
		{"Open", intake.TicketFilter{Open: true}, []int{4, 2, 1, 0}},
		{"Central", intake.TicketFilter{Central: true}, []int{3, 1}},
		{"OpenCentral", intake.TicketFilter{Open: true, Central: true}, []int{1}},
	}
	for _, tt := range tests {
		var got []string
		view(t, db, func(tx intake.Tx) error {
			ts, err := tx.Tickets(tt.f)
			for _, x := range ts {
				got = append(got, x.Number)
			}
			return err
		})
		var want []string
		for _, i := range tt.want {
			want = append(want, tk[i].Number)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestState(t *testing.T) {
	db, _, path := openTest(t)
	ctx := context.Background()
	if _, err := db.State(ctx, "central.last_sync"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("State(missing) = %v, want ErrNotFound", err)
	}
	for _, v := range []string{"a", "b"} {
		if err := db.SetState(ctx, "central.last_sync", v); err != nil {
			t.Fatal(err)
		}
	}
	db = reopen(t, db, path, newClock())
	if got, err := db.State(ctx, "central.last_sync"); got != "b" || err != nil {
		t.Errorf("State = %q, %v; want b", got, err)
	}
}

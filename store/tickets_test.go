package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

const (
	alice = "+6281111111111"
	bob   = "+6282222222222" // a KIM volunteer
)

// newTicket creates a ticket with the next sequence at the clock's time.
func newTicket(t *testing.T, db *store.DB, tk intake.Ticket) intake.Ticket {
	t.Helper()
	update(t, db, func(tx intake.Tx) error {
		seq, err := tx.NextTicketSeq()
		if err != nil {
			return err
		}
		tk.Seq = seq
		tk.Number = intake.TicketNumber("", seq)
		return tx.CreateTicket(&tk)
	})
	return tk
}

func TestTicket_CreateReadSave(t *testing.T) {
	db, clock, _ := openTest(t)
	tk := newTicket(t, db, intake.Ticket{
		Category: "jalan", OPD: "DPUPRPKP", Location: "Jl Ijen", Description: "lubang",
		Complainant: alice, ComplainantName: "Alice", Confidential: true, Channel: "sim",
		ReplyAddress: alice, InboundID: 7, Fingerprint: "lubang jl ijen", SyncState: "pending",
		Attachments: []intake.Attachment{{URL: "https://m/1", ContentType: "image/png"}},
	})
	if tk.Status != intake.Diterima || !tk.CreatedAt.Equal(t0) || !tk.UpdatedAt.Equal(t0) {
		t.Errorf("defaults: got status %q created %v updated %v", tk.Status, tk.CreatedAt, tk.UpdatedAt)
	}
	clock.Add(time.Hour)
	update(t, db, func(tx intake.Tx) error {
		tk.Status, tk.RespondedAt, tk.Reopened, tk.CentralID = intake.Diproses, clock.Now(), 1, "c-9"
		if err := tx.SaveTicket(&tk); err != nil {
			return err
		}
		return tx.AddEvent(&intake.Event{Ticket: tk.Number, Status: intake.Diproses, Source: "cli", Note: "go"})
	})
	if !tk.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("updated_at after save: got %v, want %v", tk.UpdatedAt, clock.Now())
	}
	view(t, db, func(tx intake.Tx) error {
		got, err := tx.Ticket(tk.Number)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(&tk, got); diff != "" {
			t.Errorf("Ticket (-want +got):\n%s", diff)
		}
		got, err = tx.TicketDetail(tk.Number)
		if err != nil {
			return err
		}
		wantEvents := []intake.Event{{Ticket: tk.Number, Time: clock.Now(), Status: intake.Diproses, Source: "cli", Note: "go"}}
		if diff := cmp.Diff(wantEvents, got.Events, cmpopts.IgnoreFields(intake.Event{}, "ID")); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		return nil
	})
}

func TestTicket_Unknown(t *testing.T) {
	db, _, _ := openTest(t)
	tests := []struct {
		name string
		fn   func(tx intake.Tx) error
	}{
		{"Ticket", func(tx intake.Tx) error { _, err := tx.Ticket("1000003"); return err }},
		{"TicketDetail", func(tx intake.Tx) error { _, err := tx.TicketDetail("1000003"); return err }},
		{"SaveTicket", func(tx intake.Tx) error { return tx.SaveTicket(&intake.Ticket{Number: "1000003"}) }},
		{"AddEvent", func(tx intake.Tx) error { return tx.AddEvent(&intake.Event{Ticket: "1000003"}) }},
		{"RecentComplaint", func(tx intake.Tx) error {
			_, err := tx.RecentComplaint(alice, "x", t0)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.Update(t.Context(), tt.fn)
			if !errors.Is(err, intake.ErrUnknownTicket) {
				t.Errorf("got %v, want ErrUnknownTicket", err)
			}
		})
	}
}

// seedTickets creates tickets an hour apart and returns them oldest first.
func seedTickets(t *testing.T, db *store.DB, clock *fakeClock) []intake.Ticket {
	t.Helper()
	specs := []intake.Ticket{
		{Complainant: alice, Fingerprint: "lampu mati", Category: "lampu", OPD: "DISHUB"},
		{Complainant: alice, Fingerprint: "jalan rusak", Category: "jalan", OPD: "DPU"},
		{Complainant: "+6283333333333", SubmittedBy: bob, Fingerprint: "jalan rusak", Category: "jalan", OPD: "DPU"},
		{Complainant: alice, Fingerprint: "jalan rusak", Category: "jalan", OPD: "DPU", Status: intake.Selesai},
		{Complainant: alice, SubmittedBy: bob, Fingerprint: "sampah", Category: "sampah", OPD: "DLH"},
	}
	var out []intake.Ticket
	for _, s := range specs {
		out = append(out, newTicket(t, db, s))
		clock.Add(time.Hour)
	}
	return out
}

func TestTickets_Filter(t *testing.T) {
	db, clock, _ := openTest(t)
	tk := seedTickets(t, db, clock)
	tests := []struct {
		name string
		f    intake.TicketFilter
		want []int // indexes into tk, newest first
	}{
		{"All", intake.TicketFilter{}, []int{4, 3, 2, 1, 0}},
		{"Status", intake.TicketFilter{Status: intake.Selesai}, []int{3}},
		{"Category", intake.TicketFilter{Category: "jalan"}, []int{3, 2, 1}},
		{"OPD", intake.TicketFilter{OPD: "DPU", Status: intake.Diterima}, []int{2, 1}},
		{"PhoneComplainant", intake.TicketFilter{Phone: alice}, []int{4, 3, 1, 0}},
		{"PhoneVolunteer", intake.TicketFilter{Phone: bob}, []int{4, 2}},
		{"LimitOffset", intake.TicketFilter{Limit: 2, Offset: 1}, []int{3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []intake.Ticket
			view(t, db, func(tx intake.Tx) (err error) {
				got, err = tx.Tickets(tt.f)
				return err
			})
			var gotNums, wantNums []string
			for _, g := range got {
				gotNums = append(gotNums, g.Number)
			}
			for _, i := range tt.want {
				wantNums = append(wantNums, tk[i].Number)
			}
			if diff := cmp.Diff(wantNums, gotNums); diff != "" {
				t.Errorf("numbers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecentComplaintAndCount(t *testing.T) {
	db, clock, _ := openTest(t)
	tk := seedTickets(t, db, clock) // created at t0 .. t0+4h
	tests := []struct {
		name      string
		phone, fp string
		since     time.Time
		want      int // index into tk, -1 for none
	}{
		{name: "NewestOfTwo", phone: alice, fp: "jalan rusak", since: t0, want: 3},
		{name: "SinceExcludes", phone: alice, fp: "lampu mati", since: t0.Add(time.Minute), want: -1},
		{name: "SinceInclusive", phone: alice, fp: "lampu mati", since: t0, want: 0},
		{name: "Volunteer", phone: bob, fp: "jalan rusak", since: t0, want: 2},
		{name: "OtherFingerprint", phone: bob, fp: "lampu mati", since: t0, want: -1},
		{name: "NoPhone", phone: "", fp: "jalan rusak", since: t0, want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view(t, db, func(tx intake.Tx) error {
				got, err := tx.RecentComplaint(tt.phone, tt.fp, tt.since)
				switch {
				case tt.want < 0 && !errors.Is(err, intake.ErrUnknownTicket):
					t.Errorf("got %v, %v, want ErrUnknownTicket", got, err)
				case tt.want >= 0 && (err != nil || got.Number != tk[tt.want].Number):
					t.Errorf("got %v, %v, want ticket %s", got, err, tk[tt.want].Number)
				}
				return nil
			})
		})
	}
	counts := []struct {
		phone string
		since time.Time
		want  int
	}{
		{alice, t0, 3}, // the ticket bob filed for alice does not count
		{alice, t0.Add(2 * time.Hour), 1},
		{bob, t0, 0},
		{"", t0, 0},
	}
	for _, c := range counts {
		view(t, db, func(tx intake.Tx) error {
			n, err := tx.CountComplaints(c.phone, c.since)
			if err != nil || n != c.want {
				t.Errorf("CountComplaints(%q, %v): got %d, %v, want %d", c.phone, c.since, n, err, c.want)
			}
			return nil
		})
	}
}

func TestCreateTicket_DuplicateNumber(t *testing.T) {
	db, _, _ := openTest(t)
	tk := newTicket(t, db, intake.Ticket{Complainant: alice})
	err := db.Update(t.Context(), func(tx intake.Tx) error {
		dup := intake.Ticket{Number: tk.Number, Seq: tk.Seq + 1}
		return tx.CreateTicket(&dup)
	})
	if err == nil {
		t.Fatal("duplicate number: got nil error")
	}
	view(t, db, func(tx intake.Tx) error {
		ts, err := tx.Tickets(intake.TicketFilter{})
		if len(ts) != 1 {
			t.Errorf("tickets: got %d, want 1", len(ts))
		}
		return err
	})
}

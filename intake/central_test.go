package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

// newHarnessSettings is newHarness with changed settings.
func newHarnessSettings(t *testing.T, change func(*intake.Settings)) *harness {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, wib)}
	db, err := store.Open(filepath.Join(t.TempDir(), "sambat.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := testSettings()
	change(&s)
	e, err := intake.NewEngine(db, s, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, db: db, e: e, clock: clock}
}

func syncOn(s *intake.Settings) { s.CentralSync, s.CentralUpdates = true, true }

// outboxRows returns the outbox rows of kind to phone ("" for anyone), oldest first.
func (h *harness) outboxRows(kind, phone string) []intake.Outgoing {
	h.t.Helper()
	rows, err := h.db.Outbox(context.Background(), store.OutboxFilter{Limit: 500})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []intake.Outgoing
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Kind == kind && (phone == "" || rows[i].Phone == phone) {
			out = append(out, rows[i])
		}
	}
	return out
}

// centralJobs returns the central jobs of a ticket.
func (h *harness) centralJobs(ticket string) []intake.Job {
	h.t.Helper()
	js, err := h.db.Jobs(context.Background(), ticket)
	if err != nil {
		h.t.Fatal(err)
	}
	return js
}

// syncedTicket files a complaint from warga and has the central store accept it as id.
func (h *harness) syncedTicket(text, id string) string {
	h.t.Helper()
	number := h.send(warga, text).Ticket
	if err := h.e.CentralAccepted(context.Background(), number, id); err != nil {
		h.t.Fatalf("CentralAccepted: %v", err)
	}
	return number
}

func TestEngine_CentralQueue(t *testing.T) {
	t.Run("SyncOff", func(t *testing.T) {
		h := newHarness(t)
		number := h.send(warga, "SAMBAT jalan berlubang di Jl Ijen").Ticket
		if got := h.ticket(number).SyncState; got != "" {
			t.Errorf("sync state without a central store: got %q, want empty", got)
		}
		if js := h.centralJobs(""); len(js) != 0 {
			t.Errorf("jobs without a central store: %+v", js)
		}
	})
	t.Run("CreateAndChanges", func(t *testing.T) {
		h := newHarnessSettings(t, syncOn)
		number := h.send(warga, "SAMBAT jalan berlubang di Jl Ijen").Ticket
		if got := h.ticket(number).SyncState; got != intake.SyncPending {
			t.Errorf("sync state: got %q, want pending", got)
		}
		h.send(warga, "TAMBAH "+number+" lubangnya makin besar")
		h.send(warga, "BATAL "+number)
		js := h.centralJobs(number)
		want := []struct{ kind, status, desc string }{
			{intake.JobCreate, "", ""},
			{intake.JobUpdate, "OPEN", "TAMBAH: lubangnya makin besar"},
			{intake.JobUpdate, "CLOSED", "BATAL: dibatalkan oleh pelapor"},
		}
		if len(js) != len(want) {
			t.Fatalf("got %d jobs %+v, want %d", len(js), js, len(want))
		}
		for i, w := range want {
			var ch intake.CentralChange
			if js[i].Payload != "" {
				if err := json.Unmarshal([]byte(js[i].Payload), &ch); err != nil {
					t.Fatal(err)
				}
			}
			if js[i].Kind != w.kind || ch.Status != w.status || ch.Description != w.desc {
				t.Errorf("job %d: got %s %+v, want %+v", i, js[i].Kind, ch, w)
			}
		}
	})
	t.Run("Reopen", func(t *testing.T) {
		h := newHarnessSettings(t, syncOn)
		number := h.syncedTicket("SAMBAT lampu jalan mati di Jl Ijen", "9001")
		if err := h.e.SetStatus(context.Background(), number, intake.Selesai, "api", "diperbaiki"); err != nil {
			t.Fatal(err)
		}
		h.send(warga, "BELUM "+number+" masih mati")
		js := h.centralJobs(number)
		if len(js) != 2 || js[1].Kind != intake.JobUpdate || !strings.Contains(js[1].Payload, "BELUM: masih mati") {
			t.Errorf("jobs after BELUM: %+v", js)
		}
	})
	t.Run("UpdatesOff", func(t *testing.T) {
		h := newHarnessSettings(t, func(s *intake.Settings) { s.CentralSync = true })
		number := h.send(warga, "SAMBAT jalan berlubang di Jl Ijen").Ticket
		h.send(warga, "TAMBAH "+number+" makin besar")
		if js := h.centralJobs(number); len(js) != 1 || js[0].Kind != intake.JobCreate {
			t.Errorf("jobs with central.updates off: %+v, want only the create", js)
		}
	})
}

func TestEngine_CentralAcceptedFailed(t *testing.T) {
	h := newHarnessSettings(t, syncOn)
	ctx := context.Background()
	number := h.send(warga, "SAMBAT jalan berlubang di Jl Ijen").Ticket
	before := len(h.outboxRows("notify", ""))
	for range 2 {
		if err := h.e.CentralAccepted(ctx, number, "293944"); err != nil {
			t.Fatal(err)
		}
	}
	tk := h.ticket(number)
	if tk.Status != intake.Diteruskan || tk.CentralID != "293944" || tk.SyncState != intake.SyncSynced {
		t.Errorf("after accepted: status %s id %q state %q", tk.Status, tk.CentralID, tk.SyncState)
	}
	if n := countStatusEvents(tk, intake.Diteruskan); n != 1 {
		t.Errorf("diteruskan events: got %d, want 1", n)
	}
	if got := len(h.outboxRows("notify", "")); got != before {
		t.Errorf("SMS for diteruskan: got %d notify rows, want %d", got, before)
	}

	other := h.send(warga2, "SAMBAT sampah menumpuk di pasar").Ticket
	if err := h.e.CentralFailed(ctx, other, "central store answered 400 code 400: service_code not found"); err != nil {
		t.Fatal(err)
	}
	tk = h.ticket(other)
	if tk.SyncState != intake.SyncError || !strings.Contains(tk.SyncError, "service_code not found") {
		t.Errorf("after failed: state %q error %q", tk.SyncState, tk.SyncError)
	}
}

func countStatusEvents(t *intake.Ticket, s intake.Status) int {
	n := 0
	for _, e := range t.Events {
		if e.Status == s {
			n++
		}
	}
	return n
}

func TestEngine_CentralRequest(t *testing.T) {
	h := newHarnessSettings(t, syncOn)
	ctx := context.Background()
	plain := h.send(warga, "SAMBAT#JALAN#Jl Ijen 12#jalan berlubang").Ticket
	secret := h.send(warga2, "SAMBAT RAHASIA pungli di kantor kelurahan").Ticket
	tests := []struct {
		number string
		want   intake.CentralRequest
	}{
		{plain, intake.CentralRequest{Ticket: plain, SyncState: intake.SyncPending, ServiceCode: "JALAN",
			Description: "jalan berlubang", Address: "Jl Ijen 12", Phone: warga}},
		{secret, intake.CentralRequest{Ticket: secret, SyncState: intake.SyncPending, ServiceCode: "LAINNYA",
			Description: "pungli di kantor kelurahan", Address: "Kota Malang"}},
	}
	for _, tt := range tests {
		got, err := h.e.CentralRequest(ctx, tt.number)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("CentralRequest(%s):\n got %+v\nwant %+v", tt.number, got, tt.want)
		}
	}
	if _, err := h.e.CentralRequest(ctx, "1000006"); !errors.Is(err, intake.ErrUnknownTicket) {
		t.Errorf("unknown ticket: got %v", err)
	}
}

func TestEngine_ApplyCentral(t *testing.T) {
	h := newHarnessSettings(t, syncOn)
	ctx := context.Background()
	number := h.syncedTicket("SAMBAT jalan berlubang di Jl Ijen", "293944")
	steps := []struct {
		name    string
		u       intake.CentralUpdate
		outcome string
		status  intake.Status
		sms     string // expected in the new SMS to the resident; "" for none
	}{
		{"InProgress", intake.CentralUpdate{UpdateID: "u1", Status: "IN_PROGRESS", Note: "Tim sudah dijadwalkan “besok” 🚧"},
			intake.CentralApplied, intake.Diproses, `Ket: Tim sudah dijadwalkan "besok"`},
		{"SameIDAgain", intake.CentralUpdate{UpdateID: "u1", Status: "IN_PROGRESS"},
			intake.CentralDuplicate, intake.Diproses, ""},
		{"SameStatus", intake.CentralUpdate{UpdateID: "u2", Status: "action_scheduled"},
			intake.CentralUnchanged, intake.Diproses, ""},
		{"NoteOnly", intake.CentralUpdate{UpdateID: "u3", Status: "investigating", Note: "menunggu material"},
			intake.CentralNoted, intake.Diproses, ""},
		{"Unknown", intake.CentralUpdate{UpdateID: "u4", Status: "WEIRD"},
			intake.CentralIgnored, intake.Diproses, ""},
		{"Fixed", intake.CentralUpdate{UpdateID: "u5", Status: "FIXED", Note: "sudah ditambal"},
			intake.CentralApplied, intake.Selesai, "SELESAI"},
		{"PolledOpenAfterClosed", intake.CentralUpdate{Status: "open", Polled: true},
			intake.CentralUnchanged, intake.Selesai, ""},
		{"Reopen", intake.CentralUpdate{UpdateID: "u6", Status: "REOPEN"},
			intake.CentralApplied, intake.Diproses, "DIPROSES"},
		{"ReferralInProgress", intake.CentralUpdate{UpdateID: "u6b", Status: "IN_PROGRESS", Agency: "DLH"},
			intake.CentralApplied, intake.Diproses, "DIPROSES oleh DLH"},
		{"ReferralOpen", intake.CentralUpdate{Status: "open", Agency: "DPUPRPKP", Polled: true},
			intake.CentralApplied, intake.Diteruskan, "DITERUSKAN oleh DPUPRPKP"},
		{"Referral", intake.CentralUpdate{UpdateID: "u7", Status: "INTERNAL_REFERRAL", Agency: "Dinas Lingkungan Hidup"},
			intake.CentralApplied, intake.Diteruskan, "oleh DLH"},
		{"PolledClosed", intake.CentralUpdate{Status: "closed", Note: "selesai dikerjakan", Polled: true},
			intake.CentralApplied, intake.Selesai, "Ket: selesai dikerjakan"},
		{"PolledClosedAgain", intake.CentralUpdate{Status: "closed", Note: "selesai dikerjakan", Polled: true},
			intake.CentralDuplicate, intake.Selesai, ""},
		{"OpenAfterClosed", intake.CentralUpdate{UpdateID: "u8", Status: "OPEN"},
			intake.CentralApplied, intake.Diproses, "DIPROSES"},
		{"Rejected", intake.CentralUpdate{UpdateID: "u9", Status: "NOT_COUNCILS_RESPONSIBILITY", Note: "jalan provinsi"},
			intake.CentralApplied, intake.Ditolak, "DITOLAK"},
		{"CancelAfterRejected", intake.CentralUpdate{UpdateID: "u10", Status: "CANCELLED"},
			intake.CentralIgnored, intake.Ditolak, ""},
	}
	for _, st := range steps {
		before := len(h.outboxRows("notify", warga))
		st.u.ServiceRequestID = "293944"
		res, err := h.e.ApplyCentral(ctx, st.u)
		if err != nil {
			t.Fatalf("%s: ApplyCentral: %v", st.name, err)
		}
		if res.Outcome != st.outcome || res.Ticket != number || h.ticket(number).Status != st.status {
			t.Errorf("%s: got %+v (ticket %s), want outcome %s status %s", st.name, res,
				h.ticket(number).Status, st.outcome, st.status)
		}
		sms := h.outboxRows("notify", warga)
		switch {
		case st.sms == "" && len(sms) != before:
			t.Errorf("%s: got SMS %q, want none", st.name, sms[len(sms)-1].Text)
		case st.sms != "" && len(sms) != before+1:
			t.Errorf("%s: got %d new SMS, want 1", st.name, len(sms)-before)
		case st.sms != "":
			text := sms[len(sms)-1].Text
			if !strings.Contains(text, st.sms) || !strings.Contains(text, number) || !intake.IsGSM7(text) ||
				intake.Segments(text) > 3 {
				t.Errorf("%s: SMS %q, want it to name %s and contain %q in GSM-7", st.name, text, number, st.sms)
			}
		}
	}
	if got := h.ticket(number).OPD; got != "DLH" {
		t.Errorf("OPD after referral: got %s, want DLH", got)
	}
	if _, err := h.e.ApplyCentral(ctx, intake.CentralUpdate{UpdateID: "x", ServiceRequestID: "404", Status: "FIXED"}); !errors.Is(err, intake.ErrUnknownTicket) {
		t.Errorf("unknown service_request_id: got %v, want ErrUnknownTicket", err)
	}
}

func TestEngine_ApplyCentral_StopAndResponded(t *testing.T) {
	h := newHarnessSettings(t, syncOn)
	ctx := context.Background()
	number := h.syncedTicket("SAMBAT jalan berlubang di Jl Ijen", "77")
	h.send(warga, "STOP")
	h.clock.Add(time.Hour)
	res, err := h.e.ApplyCentral(ctx, intake.CentralUpdate{UpdateID: "n1", ServiceRequestID: "77",
		Status: "open", Note: "sedang dicek", Polled: true})
	if err != nil || res.Outcome != intake.CentralNoted {
		t.Fatalf("note: got %+v, %v", res, err)
	}
	if got := h.ticket(number).RespondedAt; !got.Equal(h.clock.Now()) {
		t.Errorf("responded at: got %v, want %v (a note is the department's response)", got, h.clock.Now())
	}
	if _, err := h.e.ApplyCentral(ctx, intake.CentralUpdate{UpdateID: "n2", ServiceRequestID: "77", Status: "FIXED"}); err != nil {
		t.Fatal(err)
	}
	if sms := h.outboxRows("notify", warga); len(sms) != 0 {
		t.Errorf("SMS after STOP: %q", sms[0].Text)
	}
}

func TestEngine_CentralUpdatePosted(t *testing.T) {
	h := newHarnessSettings(t, syncOn)
	ctx := context.Background()
	number := h.syncedTicket("SAMBAT jalan berlubang di Jl Ijen", "5")
	if err := h.e.CentralUpdatePosted(ctx, number, "up-1"); err != nil {
		t.Fatal(err)
	}
	// The store's echo of our own update is not the department's note.
	res, err := h.e.ApplyCentral(ctx, intake.CentralUpdate{UpdateID: "up-1", ServiceRequestID: "5",
		Status: "OPEN", Note: "TAMBAH: makin besar"})
	if err != nil || res.Outcome != intake.CentralDuplicate {
		t.Errorf("echo: got %+v, %v; want duplicate", res, err)
	}
	if !h.ticket(number).RespondedAt.IsZero() {
		t.Error("echo counted as the department's response")
	}
}

func TestKnownCentralStatus(t *testing.T) {
	for _, s := range []string{"open", "CLOSED", "in progress", "IN_PROGRESS", "Fixed", "REOPEN", "INTERNAL_REFERRAL"} {
		if !intake.KnownCentralStatus(s) {
			t.Errorf("KnownCentralStatus(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "Received", "FOR_TRIAGE", "x"} {
		if intake.KnownCentralStatus(s) {
			t.Errorf("KnownCentralStatus(%q) = true, want false", s)
		}
	}
}

package intake_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

const (
	humasPU      = "+6281300000001"
	humasDLH     = "+6281300000002"
	monitorPhone = "+6281300000009"
)

// deadlineSettings: respond 3 and resolve 7 working days, reminders 24 h
// before, escalation 48 h after, quiet 21:00-06:00, Monday 7 December 2026
// a holiday.
func deadlineSettings(s *intake.Settings) {
	s.SLA.RemindBefore, s.SLA.EscalateAfter = 24*time.Hour, 48*time.Hour
	s.SLA.Holidays = []time.Time{time.Date(2026, 12, 7, 0, 0, 0, 0, wib)}
	for i := range s.OPDs {
		switch s.OPDs[i].Code {
		case "DPUPRPKP":
			s.OPDs[i].Humas = []string{humasPU}
		case "DLH":
			s.OPDs[i].Humas = []string{humasDLH}
		}
	}
	s.Monitors = []string{monitorPhone}
}

// atWIB sets the fake clock to a time in WIB.
func (h *harness) atWIB(month time.Month, day, hour, minute int) {
	h.clock.mu.Lock()
	defer h.clock.mu.Unlock()
	h.clock.t = time.Date(2026, month, day, hour, minute, 0, 0, wib)
}

// runDeadlines runs a pass and returns the overdue counts.
func (h *harness) runDeadlines() map[string]int {
	h.t.Helper()
	overdue, err := h.e.RunDeadlines(context.Background())
	if err != nil {
		h.t.Fatalf("RunDeadlines: %v", err)
	}
	return overdue
}

// newOutboxRows returns the rows of kind to phone not counted in seen yet.
func (h *harness) newOutboxRows(kind, phone string, seen *int) []intake.Outgoing {
	h.t.Helper()
	all := h.outboxRows(kind, phone)
	out := all[*seen:]
	*seen = len(all)
	return out
}

func TestEngine_RunDeadlines(t *testing.T) {
	h := newHarnessSettings(t, deadlineSettings)
	// Thursday 3 December, 10:00: respond by Wednesday 9th (the weekend and
	// Monday's holiday skipped), resolve by Tuesday 15th.
	h.atWIB(time.December, 3, 10, 0)
	number := h.send(warga, "SAMBAT#JALAN#Jl Ijen#jalan berlubang").Ticket
	var humas, mon int
	steps := []struct {
		name              string
		month             time.Month
		day, hour, minute int
		humas             []string // substrings of each new reminder to humas, in order
		monitors          []string
		nextAt            time.Time // NextAt of the new reminders; zero: now
		overdue           int
	}{
		{"SameDay", time.December, 3, 11, 0, nil, nil, time.Time{}, 0},
		{"WeekendNothing", time.December, 6, 12, 0, nil, nil, time.Time{}, 0},
		{"HolidayNotCounted", time.December, 8, 9, 59, nil, nil, time.Time{}, 0},
		{"RespondBefore", time.December, 8, 10, 0, []string{"sebelum 09/12 10:00"}, nil, time.Time{}, 0},
		{"Once", time.December, 8, 10, 1, nil, nil, time.Time{}, 0},
		// Missed at 10:00, first seen at 23:00: queued for 06:00 the next day.
		{"RespondMissedQuiet", time.December, 9, 23, 0, []string{"melewati target 09/12 10:00"}, nil,
			time.Date(2026, 12, 10, 6, 0, 0, 0, wib), 0},
		{"MissedOnce", time.December, 10, 6, 0, nil, nil, time.Time{}, 0},
		{"EscalateRespond", time.December, 11, 10, 0, nil, []string{"lewat target 09/12 10:00, status"}, time.Time{}, 0},
		{"ResolveBefore", time.December, 14, 10, 0, []string{"sebelum 15/12 10:00"}, nil, time.Time{}, 0},
		{"ResolveMissed", time.December, 15, 10, 0, []string{"melewati target 15/12 10:00"}, nil, time.Time{}, 1},
		{"EscalateResolve", time.December, 17, 10, 0, nil, []string{"lewat target 15/12 10:00, status"}, time.Time{}, 1},
		{"Quiet", time.December, 20, 10, 0, nil, nil, time.Time{}, 1},
	}
	for _, st := range steps {
		h.atWIB(st.month, st.day, st.hour, st.minute)
		overdue := h.runDeadlines()
		if overdue["DPUPRPKP"] != st.overdue {
			t.Errorf("%s: overdue %v, want DPUPRPKP=%d", st.name, overdue, st.overdue)
		}
		want := st.nextAt
		if want.IsZero() {
			want = h.clock.Now()
		}
		check := func(who string, got []intake.Outgoing, subs []string) {
			if len(got) != len(subs) {
				t.Errorf("%s: %d new messages to %s, want %d: %+v", st.name, len(got), who, len(subs), got)
				return
			}
			for i, o := range got {
				if !strings.Contains(o.Text, subs[i]) || !strings.Contains(o.Text, number) || !o.NextAt.Equal(want) {
					t.Errorf("%s: %s got %q next %v, want %q with %s, next %v", st.name, who, o.Text, o.NextAt,
						subs[i], number, want)
				}
			}
		}
		check("humas", h.newOutboxRows("reminder", humasPU, &humas), st.humas)
		check("monitors", h.newOutboxRows("escalation", monitorPhone, &mon), st.monitors)
	}
	if n := len(h.outboxRows("reminder", humasDLH)); n != 0 {
		t.Errorf("another department's humas got %d reminders", n)
	}
}

func TestEngine_RunDeadlines_Responded(t *testing.T) {
	h := newHarnessSettings(t, deadlineSettings)
	h.atWIB(time.December, 3, 10, 0)
	number := h.send(warga, "SAMBAT#JALAN#Jl Ijen#jalan berlubang").Ticket
	closed := h.send(warga2, "SAMBAT#SAMPAH#Pasar Besar#sampah menumpuk").Ticket
	ctx := context.Background()
	if err := h.e.SetStatus(ctx, number, intake.Diproses, "api", "dicek"); err != nil {
		t.Fatal(err)
	}
	if err := h.e.SetStatus(ctx, closed, intake.Ditolak, "api", "bukan kewenangan"); err != nil {
		t.Fatal(err)
	}
	h.atWIB(time.December, 11, 10, 0) // respond deadline long past
	h.runDeadlines()
	if got := h.outboxRows("reminder", ""); len(got) != 0 {
		t.Errorf("reminders for a responded or closed ticket: %+v", got)
	}
	h.atWIB(time.December, 15, 10, 0)
	h.runDeadlines()
	if got := h.outboxRows("reminder", humasPU); len(got) != 1 || !strings.Contains(got[0].Text, "15/12") {
		t.Errorf("resolve reminder of a responded ticket: %+v", got)
	}
}

func TestEngine_RunDeadlines_QuietWindow(t *testing.T) {
	// A ticket filed at 03:00 is due at 03:00: a reminder 2 h before could
	// only leave at 06:00, after the deadline, so only "missed" goes.
	h := newHarnessSettings(t, func(s *intake.Settings) {
		deadlineSettings(s)
		s.SLA.RemindBefore = 2 * time.Hour
	})
	h.atWIB(time.December, 3, 3, 0)
	h.send(warga, "SAMBAT#JALAN#Jl Ijen#jalan berlubang")
	h.atWIB(time.December, 9, 2, 0) // respond deadline: Wednesday 9th 03:00
	h.runDeadlines()
	if got := h.outboxRows("reminder", humasPU); len(got) != 0 {
		t.Errorf("before-reminder that could only arrive late: %q", got[0].Text)
	}
	h.atWIB(time.December, 9, 3, 0)
	h.runDeadlines()
	got := h.outboxRows("reminder", humasPU)
	wantNext := time.Date(2026, 12, 9, 6, 0, 0, 0, wib)
	if len(got) != 1 || !strings.Contains(got[0].Text, "melewati") || !got[0].NextAt.Equal(wantNext) {
		t.Errorf("missed reminder in the quiet hours: %+v, want one due %v", got, wantNext)
	}
}

func TestEngine_RunDeadlines_Stop(t *testing.T) {
	h := newHarnessSettings(t, deadlineSettings)
	h.atWIB(time.December, 3, 10, 0)
	h.send(humasPU, "STOP")
	h.send(warga, "SAMBAT#JALAN#Jl Ijen#jalan berlubang")
	h.atWIB(time.December, 9, 10, 0)
	h.runDeadlines()
	if got := h.outboxRows("reminder", humasPU); len(got) != 0 {
		t.Errorf("reminder to a humas who sent STOP: %+v", got)
	}
}

func TestEngine_RunDeadlines_Digest(t *testing.T) {
	h := newHarnessSettings(t, func(s *intake.Settings) {
		deadlineSettings(s)
		s.Templates = map[string]string{intake.DigestTemplate: `[SAMBAT] {{.OPD}} {{.Deadline}}: {{.Count}} tiket terbuka, ` +
			`{{.Max}} lewat target{{range .Tickets}} {{.Ticket}}{{end}}`}
	})
	h.atWIB(time.November, 30, 10, 0) // resolve by Thursday 10 December
	old := h.send(warga, "SAMBAT#JALAN#Jl Ijen#jalan berlubang").Ticket
	h.atWIB(time.December, 3, 10, 0) // resolve by Tuesday 15 December
	h.send(warga2, "SAMBAT#JALAN#Jl Kawi#lubang lagi")
	steps := []struct {
		name              string
		day, hour, minute int
		want              string // the new digest to humasPU; "" for none
	}{
		{"BeforeSeven", 11, 6, 59, ""},
		{"Seven", 11, 7, 0, "DPUPRPKP 11/12: 2 tiket terbuka, 1 lewat target " + old},
		{"OncePerDay", 11, 15, 0, ""},
		{"Saturday", 12, 8, 0, ""},
		{"Monday", 14, 9, 0, "DPUPRPKP 14/12: 2 tiket terbuka, 1 lewat target " + old},
	}
	seen := 0
	for _, st := range steps {
		h.atWIB(time.December, st.day, st.hour, st.minute)
		h.runDeadlines()
		got := h.newOutboxRows("digest", humasPU, &seen)
		switch {
		case st.want == "" && len(got) != 0:
			t.Errorf("%s: got digest %q, want none", st.name, got[0].Text)
		case st.want != "" && (len(got) != 1 || !strings.Contains(got[0].Text, st.want)):
			t.Errorf("%s: got %+v, want one digest with %q", st.name, got, st.want)
		}
	}
	if got := h.outboxRows("digest", humasDLH); len(got) != 0 {
		t.Errorf("digest to a department without open tickets: %+v", got)
	}
}

func TestDeadlines_Worker(t *testing.T) {
	h := newHarnessSettings(t, deadlineSettings)
	h.atWIB(time.December, 1, 10, 0)
	h.send(warga, "SAMBAT#JALAN#Jl Ijen#jalan berlubang")
	h.atWIB(time.December, 14, 10, 0)
	d := intake.NewDeadlines(h.e, nil)
	d.Interval = time.Hour
	d.Start(context.Background())
	defer d.Close()
	deadline := time.Now().Add(10 * time.Second)
	for d.Overdue()["DPUPRPKP"] != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("worker overdue counts: %v, want DPUPRPKP=1", d.Overdue())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestEngine_RunDeadlines_Reopened: a ticket opened again (BELUM) gets a
// new resolve deadline counted from the reopening, the reply names it, and
// its humas get the reminders again, though the first ones were sent.
func TestEngine_RunDeadlines_Reopened(t *testing.T) {
	h := newHarnessSettings(t, deadlineSettings)
	ctx := context.Background()
	h.atWIB(time.December, 1, 10, 0)
	number := h.send(warga, "SAMBAT#JALAN#Jl Ijen#jalan berlubang").Ticket
	if err := h.e.SetStatus(ctx, number, intake.Diproses, "api", "dicek"); err != nil {
		t.Fatal(err)
	}
	var humas int
	h.atWIB(time.December, 11, 11, 0) // resolve deadline (Thursday 10th 10:00, the 7th a holiday) missed
	h.runDeadlines()
	if got := h.newOutboxRows("reminder", humasPU, &humas); len(got) != 1 || !strings.Contains(got[0].Text, "melewati") {
		t.Fatalf("first missed reminder: %+v", got)
	}
	if err := h.e.SetStatus(ctx, number, intake.Selesai, "api", "sudah ditambal"); err != nil {
		t.Fatal(err)
	}
	h.atWIB(time.December, 14, 9, 0) // Monday
	reply := h.send(warga, "BELUM "+number+" masih berlubang")
	if len(reply.Replies) == 0 {
		t.Fatal("no reply to BELUM")
	}
	h.newOutboxRows("reminder", humasPU, &humas) // the forwarded BELUM
	h.runDeadlines()
	if got := h.newOutboxRows("reminder", humasPU, &humas); len(got) != 0 {
		t.Fatalf("reminders right after the reopening: %+v, want none (a new deadline)", got)
	}
	if d := h.ticket(number); d.Status != intake.Diproses || d.ReopenedAt.IsZero() {
		t.Fatalf("after BELUM: status %s, reopened at %v", d.Status, d.ReopenedAt)
	}
	// 7 working days from Monday 14th 09:00: Wednesday 23rd 09:00.
	if st := h.one(h.send(warga, "CEK "+number), "status"); !strings.Contains(st, "23/12") {
		t.Fatalf("status %q should name the new target 23/12", st)
	}
	h.atWIB(time.December, 22, 10, 0)
	h.runDeadlines()
	if got := h.newOutboxRows("reminder", humasPU, &humas); len(got) != 1 || !strings.Contains(got[0].Text, "23/12") {
		t.Fatalf("reminder before the new deadline: %+v", got)
	}
	h.atWIB(time.December, 23, 10, 0)
	h.runDeadlines()
	if got := h.newOutboxRows("reminder", humasPU, &humas); len(got) != 1 || !strings.Contains(got[0].Text, "melewati") {
		t.Fatalf("missed reminder of the new deadline: %+v", got)
	}
}

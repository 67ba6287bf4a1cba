package intake_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// relawanTanpaNama is a volunteer registered without a name.
const relawanTanpaNama = "+6281330002222"

// byPhone groups the rows a message queued by recipient.
func byPhone(res intake.Result) map[string][]intake.Outgoing {
	out := map[string][]intake.Outgoing{}
	for _, o := range res.Replies {
		out[o.Phone] = append(out[o.Phone], o)
	}
	return out
}

// residentNotice returns the one notice of a new KIM ticket to the resident.
func (h *harness) residentNotice(ticket string) string {
	h.t.Helper()
	var texts []string
	for _, o := range h.outboxRows("notify", warga2) {
		if o.Ticket == ticket {
			texts = append(texts, o.Text)
		}
	}
	if len(texts) != 1 {
		h.t.Fatalf("got %d notices to the resident %q, want 1", len(texts), texts)
	}
	return texts[0]
}

func TestEngine_KIMResidentNotice(t *testing.T) {
	t.Run("Command", func(t *testing.T) {
		h := newHarness(t)
		res := h.send(relawan, "KIM#085755512345#Pak Darto#SAMPAH#Jl Kawi 5#sampah belum diangkut")
		got := h.residentNotice(res.Ticket)
		if !strings.Contains(got, "Bu Sri") || strings.Contains(got, "Darto") {
			t.Fatalf("got %q, want the volunteer Bu Sri named, not the resident", got)
		}
		if ack := byPhone(res)[relawan]; len(ack) != 1 || !strings.Contains(ack[0].Text, "Pak Darto") {
			t.Fatalf("ack to the volunteer: got %+v, want it to name the resident", ack)
		}
	})
	t.Run("Menu", func(t *testing.T) {
		h := menuHarness(t)
		var res intake.Result
		for _, in := range []string{"MENU", "4", "085755512345", "Pak Darto", "3", "gang 5", "sampah tidak diangkut", "1"} {
			res = h.send(relawan, in)
		}
		if res.Ticket == "" {
			t.Fatalf("menu option 4 filed no ticket: %+v", res)
		}
		if got := h.residentNotice(res.Ticket); !strings.Contains(got, "Bu Sri") || strings.Contains(got, "Darto") {
			t.Fatalf("got %q, want the volunteer Bu Sri named, not the resident", got)
		}
	})
	t.Run("VolunteerWithoutName", func(t *testing.T) {
		h := newHarnessSettings(t, func(s *intake.Settings) {
			s.Volunteers = append(s.Volunteers, intake.Volunteer{Phone: relawanTanpaNama})
		})
		res := h.send(relawanTanpaNama, "KIM#085755512345#Pak Darto#SAMPAH#Jl Kawi 5#sampah belum diangkut")
		got := h.residentNotice(res.Ticket)
		if want := intake.MaskPhone(relawanTanpaNama); !strings.Contains(got, "KIM "+want) || strings.Contains(got, "Darto") {
			t.Fatalf("got %q, want the volunteer named by %q", got, want)
		}
	})
}

func TestEngine_TambahWithoutText(t *testing.T) {
	h := newHarness(t)
	tk := h.send(warga, "SAMBAT got mampet di Jl Kawi").Ticket
	res := h.send(warga, "TAMBAH "+tk)
	got := h.one(res, "error")
	if strings.Contains(got, "Sertakan no tiket") || !strings.Contains(got, "TAMBAH "+tk+" ") {
		t.Fatalf("got %q, want a request for the text to add, with an example for %s", got, tk)
	}
	if intake.Segments(got) != 1 {
		t.Fatalf("got %q in %d SMS, want one", got, intake.Segments(got))
	}
	if n, err := h.e.CountInbound(context.Background(), "sim"); err != nil || n != 2 {
		t.Fatalf("kept %d messages (%v), want 2", n, err)
	}
	if evs := h.ticket(tk).Events; len(evs) != 1 {
		t.Fatalf("events: got %+v, want only the first", evs)
	}
}

// kimTicket files a KIM ticket by relawan for warga2 and returns its number.
func (h *harness) kimTicket() string {
	h.t.Helper()
	res := h.send(relawan, "KIM 085755512345 jalan berlubang di gang 3 RT 02")
	if res.Ticket == "" {
		h.t.Fatalf("no KIM ticket: %+v", res)
	}
	return res.Ticket
}

// wantChange asserts that a change message queued one answer to the sender
// and one notice to other naming the ticket, its new status and want.
func wantChange(t *testing.T, res intake.Result, sender, other, status, want string) {
	t.Helper()
	rows := byPhone(res)
	if len(rows) != 2 || len(rows[sender]) != 1 || len(rows[other]) != 1 {
		t.Fatalf("got rows %+v, want one to the sender and one to the other party", res.Replies)
	}
	if k := rows[sender][0].Kind; k != "ack" {
		t.Fatalf("answer to the sender: got kind %q, want ack", k)
	}
	n := rows[other][0]
	if n.Kind != "notify" || n.Ticket != res.Ticket || !strings.Contains(n.Text, res.Ticket) ||
		!strings.Contains(n.Text, status) || !strings.Contains(n.Text, want) {
		t.Fatalf("notice: got %+v, want a notify naming %s, %s and %q", n, res.Ticket, status, want)
	}
}

// closeTicket marks a ticket selesai, as a department would.
func (h *harness) closeTicket(tk string) {
	h.t.Helper()
	if err := h.e.SetStatus(context.Background(), tk, intake.Selesai, "cli", "sudah ditambal"); err != nil {
		h.t.Fatal(err)
	}
	h.clock.Add(time.Hour)
}

func TestEngine_ChangeNotifiesOtherParty(t *testing.T) {
	t.Run("VolunteerCancels", func(t *testing.T) {
		h := newHarness(t)
		res := h.send(relawan, "BATAL "+h.kimTicket())
		wantChange(t, res, relawan, warga2, "DIBATALKAN", "relawan KIM")
	})
	t.Run("ResidentCancels", func(t *testing.T) {
		h := newHarness(t)
		res := h.send(warga2, "BATAL "+h.kimTicket())
		wantChange(t, res, warga2, relawan, "DIBATALKAN", "warga")
	})
	t.Run("VolunteerReopens", func(t *testing.T) {
		h := newHarness(t)
		tk := h.kimTicket()
		h.closeTicket(tk)
		res := h.send(relawan, "BELUM "+tk+" masih berlubang")
		wantChange(t, res, relawan, warga2, "DIPROSES", "masih berlubang")
	})
	t.Run("ResidentReopens", func(t *testing.T) {
		h := newHarness(t)
		tk := h.kimTicket()
		h.closeTicket(tk)
		res := h.send(warga2, "BELUM "+tk)
		wantChange(t, res, warga2, relawan, "DIPROSES", "warga")
	})
	t.Run("StopAndQuietHours", func(t *testing.T) {
		h := newHarness(t)
		tk := h.kimTicket()
		h.clock.Add(12 * time.Hour) // 22:00 WIB
		res := h.send(relawan, "BATAL "+tk)
		rows := byPhone(res)
		if len(rows[warga2]) != 1 || len(rows[relawan]) != 1 {
			t.Fatalf("got rows %+v, want one each", res.Replies)
		}
		if at, want := rows[warga2][0].NextAt, time.Date(2026, 12, 2, 6, 0, 0, 0, wib); !at.Equal(want) {
			t.Fatalf("notice at night: NextAt %v, want %v", at, want)
		}
		if at := rows[relawan][0].NextAt; !at.Equal(h.clock.Now()) {
			t.Fatalf("answer at night: NextAt %v, want now", at)
		}
		tk2 := h.kimTicket()
		h.one(h.send(warga2, "STOP"), "stopped")
		h.one(h.send(relawan, "BATAL "+tk2), "ack")
	})
	t.Run("NoOtherParty", func(t *testing.T) {
		h := newHarness(t)
		h.one(h.send(warga, "BATAL "+h.send(warga, "SAMBAT jalan rusak di Jl Ijen").Ticket), "ack")
		nophone := h.send(relawan, "KIM - sampah numpuk di gang 3").Ticket
		h.one(h.send(relawan, "BATAL "+nophone), "ack")
	})
	t.Run("TambahAnswersOnlyTheSender", func(t *testing.T) {
		h := newHarness(t)
		h.one(h.send(relawan, "TAMBAH "+h.kimTicket()+" lubangnya makin lebar"), "ack")
	})
}

func TestEngine_VolunteerOwnComplaintsNoDailyLimit(t *testing.T) {
	h := newHarness(t) // max_per_day: 3
	for i := 0; i < 5; i++ {
		res := h.send(relawan, fmt.Sprintf("SAMBAT sampah numpuk di gang %d", i))
		if h.one(res, "ack"); res.Ticket == "" {
			t.Fatalf("complaint %d of a volunteer: no ticket", i+1)
		}
	}
	for i := 0; i < 3; i++ {
		h.one(h.send(warga, fmt.Sprintf("SAMBAT sampah numpuk di gang %d", i)), "ack")
	}
	h.one(h.send(warga, "SAMBAT sampah numpuk lagi"), "error") // residents still have the limit
}

func TestEngine_KIMBadPhoneFields(t *testing.T) {
	h := newHarnessSettings(t, func(s *intake.Settings) {
		s.Templates = map[string]string{"kim_bad_phone": "No HP warga {{.Phone}} tidak valid."}
	})
	if got := h.one(h.send(relawan, "KIM 12345 jalan rusak"), "error"); got != "No HP warga 12345 tidak valid." {
		t.Fatalf("got %q, want the number as typed in .Phone", got)
	}
}

// TestEngine_ForwardToHumas: a resident's TAMBAH and BELUM reach the
// department's humas by SMS when the central store does not carry them,
// and only through the central store when central.updates does.
func TestEngine_ForwardToHumas(t *testing.T) {
	t.Run("NoCentralUpdates", func(t *testing.T) {
		h := newHarnessSettings(t, deadlineSettings)
		tk := h.send(warga, "SAMBAT jalan berlubang di Jl Ijen").Ticket
		h.send(warga, "TAMBAH "+tk+" lubang makin besar")
		rows := h.outboxRows("reminder", humasPU)
		if len(rows) != 1 || !strings.Contains(rows[0].Text, tk) || !strings.Contains(rows[0].Text, "TAMBAH: lubang makin besar") {
			t.Fatalf("humas rows after TAMBAH: %+v, want one naming %s and the addition", rows, tk)
		}
		if n := len(h.outboxRows("reminder", humasDLH)); n != 0 {
			t.Errorf("another department's humas got %d rows", n)
		}
		h.closeTicket(tk)
		h.send(warga, "BELUM "+tk+" masih berlubang")
		rows = h.outboxRows("reminder", humasPU)
		if len(rows) != 2 || !strings.Contains(rows[1].Text, "BELUM: masih berlubang") {
			t.Fatalf("humas rows after BELUM: %+v, want a second naming the reopening", rows)
		}
	})
	t.Run("CentralUpdates", func(t *testing.T) {
		h := newHarnessSettings(t, func(s *intake.Settings) { deadlineSettings(s); syncOn(s) })
		tk := h.syncedTicket("SAMBAT jalan berlubang di Jl Ijen", "c-1")
		h.send(warga, "TAMBAH "+tk+" lubang makin besar")
		if rows := h.outboxRows("reminder", humasPU); len(rows) != 0 {
			t.Errorf("humas got %+v although the central store carries the addition", rows)
		}
		if js := h.centralJobs(tk); len(js) != 2 {
			t.Errorf("central jobs %+v, want the create and the update", js)
		}
	})
}

// TestEngine_NeverTheSameAnswerTwice: an answer that would repeat word for
// word the last SMS the number got is marked (ke-2), (ke-3)…; a different
// SMS in between, or a day, starts over.
func TestEngine_NeverTheSameAnswerTwice(t *testing.T) {
	h := newHarness(t)
	const complaint = "SAMBAT jalan berlubang di Jl Ijen"
	tk := h.send(warga, complaint).Ticket
	first := h.one(h.send(warga, complaint), "ack")
	second := h.one(h.send(warga, complaint), "ack")
	third := h.one(h.send(warga, complaint), "ack")
	if !strings.Contains(first, tk) || second != first+" (ke-2)" || third != first+" (ke-3)" {
		t.Fatalf("the same complaint again: got %q, %q, %q; want the repeat answer, then marked (ke-2), (ke-3)",
			first, second, third)
	}
	cek := h.one(h.send(warga, "CEK "+tk), "status")
	if strings.Contains(cek, "(ke-") {
		t.Fatalf("a different answer got a mark: %q", cek)
	}
	if again := h.one(h.send(warga, "CEK "+tk), "status"); again != cek+" (ke-2)" {
		t.Fatalf("CEK twice: got %q, want %q", again, cek+" (ke-2)")
	}
	h.clock.Add(25 * time.Hour)
	if later := h.one(h.send(warga, "CEK "+tk), "status"); later != cek {
		t.Fatalf("CEK a day later: got %q, want it plain %q", later, cek)
	}
	if other := h.one(h.send(warga2, "CEK "+tk), "error"); strings.Contains(other, "(ke-") {
		t.Fatalf("another number's first answer got a mark: %q", other)
	}
}

// TestEngine_RepeatMarkKeepsOneSMS: a repeated answer that the mark would
// push into a second SMS is sent unmarked.
func TestEngine_RepeatMarkKeepsOneSMS(t *testing.T) {
	for _, tc := range []struct {
		name, help string
		marked     bool
	}{
		{"Short", "Kirim SAMBAT <isi>.", true},
		{"Full", "Kirim SAMBAT <isi>. " + strings.Repeat("x", 134), false}, // 154 characters
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessSettings(t, func(s *intake.Settings) {
				s.Templates = map[string]string{"help": tc.help}
			})
			first := h.one(h.send(warga, "INFO"), "help")
			second := h.one(h.send(warga, "INFO"), "help")
			if intake.Segments(first) != 1 || intake.Segments(second) != 1 {
				t.Fatalf("help takes %d then %d SMS, want 1", intake.Segments(first), intake.Segments(second))
			}
			if marked := second == first+" (ke-2)"; marked != tc.marked || (!marked && second != first) {
				t.Fatalf("second help %q after %q: marked %v, want %v", second, first, marked, tc.marked)
			}
		})
	}
}

// TestEngine_MenuNeverTheSameTwice: the menu's prompts are answers too: MENU
// twice, or the same wrong choice twice, do not get the same SMS again.
func TestEngine_MenuNeverTheSameTwice(t *testing.T) {
	h := newHarness(t)
	first := h.one(h.send(warga, "MENU"), "menu")
	if second := h.one(h.send(warga, "MENU"), "menu"); second == first {
		t.Fatalf("MENU twice: the same prompt %q", first)
	}
	wrong := h.one(h.send(warga, "9"), "menu")
	if again := h.one(h.send(warga, "9"), "menu"); again == wrong {
		t.Fatalf("the same wrong choice twice: the same prompt %q", wrong)
	}
}

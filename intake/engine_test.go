package intake_test

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

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var wib = time.FixedZone("WIB", 7*3600)

const (
	warga   = "+6281234567890"
	warga2  = "+6285755512345"
	relawan = "+6281330001111"
)

func testSettings() intake.Settings {
	return intake.Settings{
		Location: wib, Unknown: "help", MaxPerDay: 3, HelpPerHour: 2,
		SessionTimeout: 30 * time.Minute, RepeatWindow: 10 * time.Minute,
		Categories: intake.DefaultCategories(), OPDs: intake.DefaultOPDs(),
		Volunteers: []intake.Volunteer{{Phone: relawan, Name: "Bu Sri", Kelurahan: "Oro-oro Dowo"}},
		Blocklist:  []string{"+6289900000000"},
		SLA: intake.SLA{Respond: 3, Resolve: 7, WorkingDays: true,
			QuietStart: 21 * time.Hour, QuietEnd: 6 * time.Hour},
	}
}

type harness struct {
	t     *testing.T
	db    *store.DB
	e     *intake.Engine
	clock *fakeClock
	n     int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, wib)}
	db, err := store.Open(filepath.Join(t.TempDir(), "sambat.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e, err := intake.NewEngine(db, testSettings(), clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, db: db, e: e, clock: clock}
}

// send handles one SMS on the simulator channel and returns the replies.
func (h *harness) send(from, text string) intake.Result {
	h.t.Helper()
	h.n++
	res, err := h.e.Handle(context.Background(), intake.Message{Channel: "sim",
		ExternalID: fmt.Sprintf("m%d", h.n), From: from, Text: text})
	if err != nil {
		h.t.Fatalf("Handle(%q) = %v", text, err)
	}
	return res
}

// one asserts exactly one reply of kind to the sender and returns its text.
func (h *harness) one(res intake.Result, kind string) string {
	h.t.Helper()
	if len(res.Replies) != 1 {
		h.t.Fatalf("got %d replies %+v, want 1", len(res.Replies), res.Replies)
	}
	if got := res.Replies[0].Kind; got != kind {
		h.t.Fatalf("reply kind: got %q, want %q (text %q)", got, kind, res.Replies[0].Text)
	}
	if s := intake.Segments(res.Replies[0].Text); s > 3 {
		h.t.Fatalf("reply %q is %d segments", res.Replies[0].Text, s)
	}
	return res.Replies[0].Text
}

func (h *harness) ticket(number string) *intake.Ticket {
	h.t.Helper()
	t, err := h.e.TicketDetail(context.Background(), number)
	if err != nil {
		h.t.Fatalf("TicketDetail(%s) = %v", number, err)
	}
	return t
}

func TestEngine_Handle(t *testing.T) {
	t.Run("LegacyComplaint", func(t *testing.T) {
		h := newHarness(t)
		res := h.send("081234567890", "SAMBAT jalan berlubang di Jl Ijen depan museum")
		text := h.one(res, "ack")
		if res.Ticket == "" || !strings.Contains(text, res.Ticket) {
			t.Fatalf("ack %q does not name ticket %q", text, res.Ticket)
		}
		tk := h.ticket(res.Ticket)
		if tk.Category != "JALAN" || tk.Complainant != warga || tk.Status != intake.Diterima {
			t.Fatalf("got %+v", tk)
		}
		if len(tk.Events) != 1 || tk.Events[0].Status != intake.Diterima {
			t.Fatalf("events: got %+v", tk.Events)
		}
		if err := intake.CheckTicket("", res.Ticket); err != nil {
			t.Fatalf("ticket number %q: %v", res.Ticket, err)
		}
	})
	t.Run("Redelivery", func(t *testing.T) {
		h := newHarness(t)
		m := intake.Message{Channel: "sim", ExternalID: "same", From: warga, Text: "SAMBAT sampah numpuk"}
		first, err := h.e.Handle(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		second, err := h.e.Handle(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if !second.Duplicate || len(second.Replies) != 0 || second.InboundID != first.InboundID {
			t.Fatalf("redelivery: got %+v, want duplicate with no replies", second)
		}
		ts, _ := h.e.Tickets(context.Background(), intake.TicketFilter{})
		if len(ts) != 1 {
			t.Fatalf("got %d tickets, want 1", len(ts))
		}
	})
	t.Run("RepeatWithinTenMinutes", func(t *testing.T) {
		h := newHarness(t)
		first := h.send(warga, "SAMBAT Lampu PJU mati di Jl Semeru")
		h.clock.Add(5 * time.Minute)
		res := h.send(warga, "sambat   lampu pju MATI di jl semeru")
		text := h.one(res, "ack")
		if res.Ticket != first.Ticket || !strings.Contains(text, first.Ticket) {
			t.Fatalf("repeat: got ticket %q text %q, want %q named", res.Ticket, text, first.Ticket)
		}
		h.clock.Add(11 * time.Minute)
		if later := h.send(warga, "SAMBAT Lampu PJU mati di Jl Semeru"); later.Ticket == first.Ticket {
			t.Fatalf("after the window a new ticket is expected")
		}
	})
	t.Run("PerDayLimit", func(t *testing.T) {
		h := newHarness(t)
		for i := 0; i < 3; i++ {
			h.one(h.send(warga, fmt.Sprintf("SAMBAT sampah numpuk nomor %d", i)), "ack")
		}
		res := h.send(warga, "SAMBAT sampah numpuk lagi")
		h.one(res, "error")
		if res.Ticket != "" {
			t.Fatalf("over the limit: got ticket %q", res.Ticket)
		}
		h.clock.Add(24 * time.Hour)
		h.one(h.send(warga, "SAMBAT sampah numpuk besok"), "ack")
	})
	t.Run("StatusPrivacy", func(t *testing.T) {
		h := newHarness(t)
		tk := h.send(warga, "SAMBAT pohon tumbang di Jl Ijen").Ticket
		own := h.one(h.send(warga, "CEK no. "+tk[:4]+"-"+tk[4:]), "status")
		if !strings.Contains(own, tk) || !strings.Contains(strings.ToUpper(own), "DITERIMA") {
			t.Fatalf("own status %q: want ticket and status", own)
		}
		other := h.one(h.send(warga2, "CEK "+tk), "error")
		bogus := intake.TicketNumber("", 999999)
		unknown := h.one(h.send(warga2, "CEK "+bogus), "error")
		if strings.ReplaceAll(other, tk, bogus) != unknown {
			t.Fatalf("someone else's ticket %q must read like an unknown one %q", other, unknown)
		}
		bad := []byte(tk)
		bad[1], bad[2] = bad[2], bad[1]
		if bad[1] == bad[2] {
			bad[3] ^= 1
		}
		if inv := h.one(h.send(warga, "CEK "+string(bad)), "error"); !strings.Contains(inv, string(bad)) {
			t.Fatalf("invalid number reply %q should echo the number", inv)
		}
	})
	t.Run("BareCek", func(t *testing.T) {
		h := newHarness(t)
		h.one(h.send(warga, "CEK"), "status")
		a := h.send(warga, "SAMBAT jalan rusak di Jl Ijen").Ticket
		b := h.send(warga, "SAMBAT sampah numpuk di pasar").Ticket
		text := h.one(h.send(warga, "cek"), "status")
		if !strings.Contains(text, a) || !strings.Contains(text, b) {
			t.Fatalf("bare CEK %q should list %s and %s", text, a, b)
		}
	})
	t.Run("BareCekVolunteer", func(t *testing.T) {
		// A volunteer's open ticket stays listed behind many newer closed
		// ones, and the list holds the latest three open.
		h := newHarness(t)
		kim := func(i int) string {
			return h.send(relawan, fmt.Sprintf("KIM 08133300%04d lampu PJU mati di gang %d", i, i)).Ticket
		}
		a := kim(0)
		for i := 1; i <= 55; i++ {
			if err := h.e.SetStatus(context.Background(), kim(i), intake.Selesai, "cli", "sudah"); err != nil {
				t.Fatal(err)
			}
		}
		if text := h.one(h.send(relawan, "CEK"), "status"); !strings.Contains(text, a) {
			t.Fatalf("bare CEK %q should list %s, open behind 55 closed tickets", text, a)
		}
		b, c, d := kim(100), kim(101), kim(102)
		text := h.one(h.send(relawan, "CEK"), "status")
		if !strings.Contains(text, b) || !strings.Contains(text, c) || !strings.Contains(text, d) || strings.Contains(text, a) {
			t.Fatalf("bare CEK %q should list the latest three open, %s %s %s, not %s", text, b, c, d, a)
		}
	})
	t.Run("TambahBatal", func(t *testing.T) {
		h := newHarness(t)
		tk := h.send(warga, "SAMBAT got mampet di Jl Kawi").Ticket
		h.one(h.send(warga, "TAMBAH "+tk+" airnya sudah masuk rumah"), "ack")
		h.one(h.send(warga2, "TAMBAH "+tk+" bukan punya saya"), "error")
		h.one(h.send(warga, "TAMBAK "+tk+" x"), "help_auto")
		h.one(h.send(warga, "BATAL "+tk), "ack")
		if st := h.ticket(tk).Status; st != intake.Dibatalkan {
			t.Fatalf("after BATAL: got %s", st)
		}
		h.one(h.send(warga, "BATAL "+tk), "error")
		h.one(h.send(warga, "TAMBAH "+tk+" lagi"), "error")
		evs := h.ticket(tk).Events
		if len(evs) != 3 || !strings.Contains(evs[1].Note, "airnya") {
			t.Fatalf("events: got %+v", evs)
		}
	})
	t.Run("Belum", func(t *testing.T) {
		h := newHarness(t)
		tk := h.send(warga, "SAMBAT jalan ambles di Jl Soekarno Hatta").Ticket
		h.one(h.send(warga, "BELUM "+tk), "error") // still open
		if err := h.e.SetStatus(context.Background(), tk, intake.Selesai, "cli", "sudah ditambal"); err != nil {
			t.Fatal(err)
		}
		h.clock.Add(3 * 24 * time.Hour)
		h.one(h.send(warga, "BELUM "+tk+" masih berlubang"), "ack")
		if st := h.ticket(tk).Status; st != intake.Diproses {
			t.Fatalf("after BELUM: got %s", st)
		}
		if err := h.e.SetStatus(context.Background(), tk, intake.Selesai, "cli", "ditambal lagi"); err != nil {
			t.Fatal(err)
		}
		h.one(h.send(warga, "BELUM "+tk), "error") // only once
		tk2 := h.send(warga, "SAMBAT lampu mati di Jl Bandung").Ticket
		h.e.SetStatus(context.Background(), tk2, intake.Selesai, "cli", "")
		h.clock.Add(15 * 24 * time.Hour)
		h.one(h.send(warga, "BELUM "+tk2), "error") // too late
	})
	t.Run("StopMulai", func(t *testing.T) {
		h := newHarness(t)
		tk := h.send(warga, "SAMBAT sampah di TPS Sukun").Ticket
		h.one(h.send(warga, "STOP"), "stopped")
		if err := h.e.SetStatus(context.Background(), tk, intake.Diproses, "cli", "petugas meluncur"); err != nil {
			t.Fatal(err)
		}
		if n := h.countOut(warga, "notify"); n != 0 {
			t.Fatalf("after STOP got %d notifications", n)
		}
		h.one(h.send(warga, "SAMBAT jalan rusak di Jl Ijen"), "ack") // still answered
		h.one(h.send(warga, "MULAI"), "started")
		h.e.SetStatus(context.Background(), tk, intake.Selesai, "cli", "sudah diangkut")
		if n := h.countOut(warga, "notify"); n != 1 {
			t.Fatalf("after MULAI got %d notifications, want 1", n)
		}
	})
	t.Run("KIM", func(t *testing.T) {
		h := newHarness(t)
		h.one(h.send(warga, "KIM 085755512345 jalan rusak"), "error")
		res := h.send(relawan, "KIM 085755512345 jalan berlubang di gang 3 RT 02")
		if len(res.Replies) != 2 {
			t.Fatalf("got %d replies, want ack to volunteer and resident", len(res.Replies))
		}
		tk := h.ticket(res.Ticket)
		if tk.Complainant != warga2 || tk.SubmittedBy != relawan {
			t.Fatalf("got complainant %q submitter %q", tk.Complainant, tk.SubmittedBy)
		}
		h.one(h.send(warga2, "CEK "+res.Ticket), "status")
		h.one(h.send(relawan, "CEK "+res.Ticket), "status")
		h.e.SetStatus(context.Background(), res.Ticket, intake.Diproses, "cli", "")
		if h.countOut(warga2, "notify") != 2 || h.countOut(relawan, "notify") != 1 {
			t.Fatalf("both numbers should be notified")
		}
		nophone := h.send(relawan, "KIM#-#Mbah Darmi#SAMPAH#Jl Kawi 5#sampah belum diangkut seminggu")
		if len(nophone.Replies) != 1 || h.ticket(nophone.Ticket).Complainant != "" {
			t.Fatalf("resident without phone: got %+v", nophone)
		}
		for i := 0; i < 5; i++ { // volunteers are exempt from the per-day limit
			h.one(h.send(relawan, fmt.Sprintf("KIM - sampah numpuk di gang %d", i)), "ack")
		}
	})
	t.Run("SendersWithoutReply", func(t *testing.T) {
		h := newHarness(t)
		for _, from := range []string{"TELKOMSEL", "3636", "+6289900000000"} {
			if res := h.send(from, "SAMBAT promo paket data"); len(res.Replies) != 0 || res.Ticket != "" {
				t.Fatalf("%s: got %+v, want nothing", from, res)
			}
		}
		if n, _ := h.e.CountInbound(context.Background(), "sim"); n != 3 {
			t.Fatalf("kept %d messages, want 3", n)
		}
	})
	t.Run("HelpCap", func(t *testing.T) {
		h := newHarness(t)
		h.one(h.send(warga, "halo pak"), "help_auto")
		h.one(h.send(warga, "apa ini"), "help_auto")
		if res := h.send(warga, "halo?"); len(res.Replies) != 0 {
			t.Fatalf("third unsolicited help within the hour: got %+v", res.Replies)
		}
		h.one(h.send(warga, "BANTUAN"), "help") // asked for: always answered
		h.clock.Add(61 * time.Minute)
		h.one(h.send(warga, "halo lagi"), "help_auto")
	})
	t.Run("QuietHours", func(t *testing.T) {
		h := newHarness(t)
		tk := h.send(warga, "SAMBAT pohon tumbang di Jl Ijen").Ticket
		h.clock.Add(12 * time.Hour) // 22:00 WIB
		h.e.SetStatus(context.Background(), tk, intake.Diproses, "cli", "")
		rows, _ := h.db.Outbox(context.Background(), store.OutboxFilter{})
		var notify *intake.Outgoing
		for i := range rows {
			if rows[i].Kind == "notify" {
				notify = &rows[i]
			}
		}
		want := time.Date(2026, 12, 2, 6, 0, 0, 0, wib)
		if notify == nil || !notify.NextAt.Equal(want) {
			t.Fatalf("notification at night: got %+v, want NextAt %v", notify, want)
		}
		if reply := h.send(warga, "CEK "+tk); !reply.Replies[0].NextAt.Equal(h.clock.Now()) {
			t.Fatalf("an answer goes at once even at night")
		}
	})
	t.Run("Transitions", func(t *testing.T) {
		h := newHarness(t)
		tk := h.send(warga, "SAMBAT jalan rusak").Ticket
		ctx := context.Background()
		if err := h.e.SetStatus(ctx, tk, intake.Diterima, "cli", ""); !errors.Is(err, intake.ErrTransition) {
			t.Fatalf("same status: got %v, want ErrTransition", err)
		}
		h.e.SetStatus(ctx, tk, intake.Ditolak, "cli", "bukan kewenangan kota")
		if err := h.e.SetStatus(ctx, tk, intake.Diproses, "cli", ""); !errors.Is(err, intake.ErrTransition) {
			t.Fatalf("ditolak → diproses: got %v, want ErrTransition", err)
		}
		if err := h.e.SetStatus(ctx, "0000000", intake.Diproses, "cli", ""); !errors.Is(err, intake.ErrUnknownTicket) {
			t.Fatalf("unknown: got %v", err)
		}
	})
}

func TestEngine_NotifyCleansText(t *testing.T) {
	h := newHarness(t)
	long := "Pulsa modem m1 hampir habis “Rp 2.000” 😡 " + strings.Repeat("sisa masa aktif 3 hari. ", 40)
	if err := h.e.Notify(context.Background(), []string{warga}, long, "admin"); err != nil {
		t.Fatal(err)
	}
	rows, _ := h.db.Outbox(context.Background(), store.OutboxFilter{})
	if len(rows) != 1 || !intake.IsGSM7(rows[0].Text) || intake.Segments(rows[0].Text) > 3 {
		t.Fatalf("alert queued as %+v, want one GSM-7 row within 3 segments", rows)
	}
}

func (h *harness) countOut(phone, kind string) int {
	h.t.Helper()
	rows, err := h.db.Outbox(context.Background(), store.OutboxFilter{Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		if r.Phone == phone && r.Kind == kind {
			n++
		}
	}
	return n
}

func TestEngine_HandlePart(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	part := func(seq int, key, text string) intake.Part {
		return intake.Part{Channel: "modem:m1", Key: key, Group: "g1", From: warga, Seq: seq, Total: 3,
			Text: text, Raw: []byte{byte(seq)}}
	}
	texts := []string{"SAMBAT jalan berlubang ", "besar sekali di Jl ", "Ijen dekat museum"}
	for _, i := range []int{2, 0} { // out of order
		res, err := h.e.HandlePart(ctx, part(i+1, fmt.Sprint("k", i), texts[i]))
		if err != nil || res.InboundID != 0 {
			t.Fatalf("part %d: got %+v, %v; want waiting", i, res, err)
		}
	}
	if res, _ := h.e.HandlePart(ctx, part(3, "k2", texts[2])); !res.Duplicate {
		t.Fatalf("redelivered part: got %+v, want duplicate", res)
	}
	res, err := h.e.HandlePart(ctx, part(2, "k1", texts[1]))
	if err != nil || res.Ticket == "" {
		t.Fatalf("last part: got %+v, %v; want a ticket", res, err)
	}
	if d := h.ticket(res.Ticket).Description; d != "jalan berlubang besar sekali di Jl Ijen dekat museum" {
		t.Fatalf("joined description: got %q", d)
	}
	if again, _ := h.e.HandlePart(ctx, part(1, "k0", texts[0])); !again.Duplicate {
		t.Fatalf("part redelivered after the join: got %+v, want duplicate", again)
	}
	// A group that never completes is delivered as what arrived.
	h.e.HandlePart(ctx, intake.Part{Channel: "modem:m1", Key: "x1", Group: "g2", From: warga2, Seq: 1, Total: 2,
		Text: "SAMBAT sampah numpuk di "})
	h.clock.Add(2 * time.Hour)
	n, err := h.e.FlushParts(ctx, "modem:m1", h.clock.Now().Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("FlushParts = %d, %v; want 1", n, err)
	}
	ts, _ := h.e.Tickets(ctx, intake.TicketFilter{Phone: warga2})
	if len(ts) != 1 || ts[0].Description != "sampah numpuk di" {
		t.Fatalf("incomplete message: got %+v", ts)
	}
	late, err := h.e.HandlePart(ctx, intake.Part{Channel: "modem:m1", Key: "x2", Group: "g2", From: warga2, Seq: 2,
		Total: 2, Text: "pasar Blimbing"})
	if err != nil || late.InboundID == 0 {
		t.Fatalf("late part: got %+v, %v; want it kept as a message", late, err)
	}
}

// TestEngine_HandlePart_Midnight: the parts of one message stamped on
// either side of midnight carry groups of two dates; whichever arrives
// first, they are joined into one message and one ticket. A part whose
// other date has no open group waits in its own.
func TestEngine_HandlePart_Midnight(t *testing.T) {
	texts := []string{"SAMBAT lampu PJU mati ", "di Jl Semeru dekat sekolah"}
	for _, order := range [][]int{{0, 1}, {1, 0}} {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			// Part 1 stamped 23:59:58 on the 31st, part 2 00:00:03 on the 1st.
			groups := []string{warga + "|20261231|7|2", warga + "|20270101|7|2"}
			for n, i := range order {
				p := intake.Part{Channel: "modem:m1", Key: fmt.Sprint("k", i), Group: groups[i], Near: groups[1-i],
					From: warga, Seq: i + 1, Total: 2, Text: texts[i]}
				res, err := h.e.HandlePart(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 && res.InboundID != 0 {
					t.Fatalf("first part: got %+v, want it waiting", res)
				}
				if n == 1 && res.Ticket == "" {
					t.Fatalf("second part: got %+v, want the message joined with a ticket", res)
				}
			}
			ts, err := h.e.Tickets(ctx, intake.TicketFilter{Phone: warga})
			if err != nil || len(ts) != 1 || ts[0].Description != "lampu PJU mati di Jl Semeru dekat sekolah" {
				t.Fatalf("tickets: got %+v, %v; want one with the whole text", ts, err)
			}
		})
	}
	t.Run("no open group", func(t *testing.T) {
		h := newHarness(t)
		ctx := context.Background()
		// The other date's group was joined already: a part does not
		// reopen it; it waits for its own parts.
		done := warga2 + "|20261231|9|2"
		for i, text := range texts {
			h.e.HandlePart(ctx, intake.Part{Channel: "modem:m1", Key: fmt.Sprint("d", i), Group: done,
				From: warga2, Seq: i + 1, Total: 2, Text: text})
		}
		res, err := h.e.HandlePart(ctx, intake.Part{Channel: "modem:m1", Key: "n1", Group: warga2 + "|20270101|9|2",
			Near: done, From: warga2, Seq: 1, Total: 2, Text: "SAMBAT sampah "})
		if err != nil || res.InboundID != 0 || res.Duplicate {
			t.Fatalf("part of a new message: got %+v, %v; want it waiting", res, err)
		}
		res, err = h.e.HandlePart(ctx, intake.Part{Channel: "modem:m1", Key: "n2", Group: warga2 + "|20270101|9|2",
			Near: done, From: warga2, Seq: 2, Total: 2, Text: "numpuk di pasar"})
		if err != nil || res.Ticket == "" {
			t.Fatalf("its second part: got %+v, %v; want a ticket", res, err)
		}
		if d := h.ticket(res.Ticket).Description; d != "sampah numpuk di pasar" {
			t.Fatalf("description %q", d)
		}
	})
}

package intake_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

var ticketRE = regexp.MustCompile(`\b\d{7}\b`)

// menuHarness is a harness whose unknown messages start the menu.
func menuHarness(t *testing.T) *harness {
	h := newHarness(t)
	s := testSettings()
	s.Unknown = "menu"
	if err := h.e.Reload(s); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestEngine_MenuOverSMS(t *testing.T) {
	t.Run("FileAComplaint", func(t *testing.T) {
		h := menuHarness(t)
		h.one(h.send(warga, "MENU"), "menu")
		h.one(h.send(warga, "1"), "menu")                     // new complaint → categories
		h.one(h.send(warga, "1"), "menu")                     // JALAN → location
		h.one(h.send(warga, "Jl Ijen depan museum"), "menu")  // → description
		h.one(h.send(warga, "jalan berlubang dalam"), "menu") // → confirm
		res := h.send(warga, "1")
		text := h.one(res, "ack")
		if res.Ticket == "" || !strings.Contains(text, res.Ticket) {
			t.Fatalf("confirm: got %q, want the ack with a ticket", text)
		}
		tk := h.ticket(res.Ticket)
		if tk.Category != "JALAN" || tk.Location != "Jl Ijen depan museum" || tk.Description != "jalan berlubang dalam" {
			t.Fatalf("got %+v", tk)
		}
		h.one(h.send(warga, "1"), "menu_auto") // the session ended: a new, unsolicited one starts
	})
	t.Run("RestartMidDialog", func(t *testing.T) {
		clock := &fakeClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, wib)}
		path := filepath.Join(t.TempDir(), "s.db")
		s := testSettings()
		s.Unknown = "menu"
		open := func() (*store.DB, *intake.Engine) {
			db, err := store.Open(path, clock)
			if err != nil {
				t.Fatal(err)
			}
			e, err := intake.NewEngine(db, s, clock, nil)
			if err != nil {
				t.Fatal(err)
			}
			return db, e
		}
		say := func(e *intake.Engine, id, text string) intake.Result {
			res, err := e.Handle(context.Background(), intake.Message{Channel: "sim", ExternalID: id, From: warga, Text: text})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		db, e := open()
		say(e, "1", "menu")
		say(e, "2", "1")
		say(e, "3", "3") // SAMPAH
		db.Close()
		db, e = open() // the daemon restarted
		defer db.Close()
		say(e, "4", "Pasar Blimbing")
		say(e, "5", "sampah menumpuk tiga hari")
		res := say(e, "6", "1")
		tk, err := e.TicketDetail(context.Background(), res.Ticket)
		if err != nil || tk.Category != "SAMPAH" || tk.Location != "Pasar Blimbing" {
			t.Fatalf("after restart: got %+v, %v", tk, err)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		h := menuHarness(t)
		h.send(warga, "MENU")
		h.send(warga, "1")
		h.clock.Add(31 * time.Minute)
		res := h.send(warga, "1")
		if text := h.one(res, "menu_auto"); !strings.Contains(text, "1") || res.Ticket != "" {
			t.Fatalf("after expiry a fresh menu is expected, got %q", text)
		}
	})
	t.Run("KeywordEndsDialog", func(t *testing.T) {
		h := menuHarness(t)
		tk := h.send(warga, "SAMBAT lampu mati di Jl Bandung").Ticket
		h.send(warga, "MENU")
		h.send(warga, "1")
		h.send(warga, "4") // PJU → location
		if text := h.one(h.send(warga, "CEK "+tk), "status"); !strings.Contains(text, tk) {
			t.Fatalf("CEK inside a dialog: got %q", text)
		}
		h.one(h.send(warga, "2"), "menu_auto") // the dialog is gone
	})
	t.Run("KeywordLikeTextIsTheAnswer", func(t *testing.T) {
		h := menuHarness(t)
		h.send(warga, "MENU")
		h.send(warga, "1")
		h.send(warga, "1")
		h.one(h.send(warga, "Jl Kawi"), "menu")
		h.one(h.send(warga, "status jalan masih rusak, lapor pak"), "menu") // the description
		res := h.send(warga, "1")
		if tk := h.ticket(res.Ticket); tk.Description != "status jalan masih rusak, lapor pak" || tk.Location != "Jl Kawi" {
			t.Fatalf("got %+v", tk)
		}
		h.send(warga, "MENU")
		h.send(warga, "1")
		h.send(warga, "1")
		h.one(h.send(warga, "STOP"), "stopped") // alone, a keyword still acts
		h.one(h.send(warga, "2"), "menu_auto")
	})
	t.Run("FreeTextIsTheAnswer", func(t *testing.T) {
		h := menuHarness(t)
		h.send(warga, "MENU")
		h.send(warga, "1")
		h.send(warga, "1")
		h.one(h.send(warga, "depan SD Tlogomas, cek dulu"), "menu") // not the CEK command
		h.one(h.send(warga, "aspal ambles"), "menu")
		res := h.send(warga, "1")
		if tk := h.ticket(res.Ticket); tk.Location != "depan SD Tlogomas, cek dulu" {
			t.Fatalf("location: got %q", tk.Location)
		}
	})
	t.Run("StepsDoNotCountAgainstTheCap", func(t *testing.T) {
		h := menuHarness(t) // help_per_hour: 2
		h.one(h.send(warga, "halo"), "menu_auto")
		for _, in := range []string{"1", "1", "-", "jalan rusak parah sekali", "1"} {
			h.send(warga, in)
		}
		h.one(h.send(warga, "halo lagi"), "menu_auto")
		if res := h.send(warga, "halo"); len(res.Replies) != 0 {
			t.Fatalf("third unsolicited menu within the hour: got %+v", res.Replies)
		}
	})
	t.Run("RobotsCannotLoop", func(t *testing.T) {
		h := menuHarness(t) // help_per_hour: 2
		replies := 0
		for i := 0; i < 20; i++ { // a robot answering every prompt with its own text
			replies += len(h.send(warga, "Maaf, nomor ini tidak menerima balasan.").Replies)
		}
		if replies != 2 {
			t.Fatalf("a robot got %d replies in an hour, want 2", replies)
		}
		h.one(h.send(warga, "MENU"), "menu") // asked for: still served
		if text := h.one(h.send(warga, "7"), "menu"); !strings.Contains(text, "1") {
			t.Fatalf("a wrong answer inside a requested menu re-prompts, got %q", text)
		}
	})
	t.Run("KIMForAResident", func(t *testing.T) {
		h := menuHarness(t)
		h.send(relawan, "MENU")
		h.send(relawan, "4")
		h.send(relawan, "085755512345")
		h.send(relawan, "Pak Darto")
		h.send(relawan, "3")
		h.send(relawan, "gang 5")
		h.send(relawan, "sampah tidak diangkut")
		res := h.send(relawan, "1")
		tk := h.ticket(res.Ticket)
		if tk.Complainant != warga2 || tk.SubmittedBy != relawan || tk.ComplainantName != "Pak Darto" {
			t.Fatalf("got %+v", tk)
		}
	})
}

func ussd(t *testing.T, e *intake.Engine, session, phone, text string) intake.USSDResponse {
	t.Helper()
	r, err := e.USSD(context.Background(), intake.USSDRequest{SessionID: session, ServiceCode: "*123*7#",
		Phone: phone, NetworkCode: "51010", Text: text})
	if err != nil {
		t.Fatalf("USSD(%q) = %v", text, err)
	}
	if len(r.Text) > intake.LimitUSSD {
		t.Fatalf("screen of %d characters: %q", len(r.Text), r.Text)
	}
	return r
}

func TestEngine_USSD(t *testing.T) {
	h := newHarness(t)
	steps := []string{"", "1", "1*5", "1*5*Jl Sukarno Hatta", "1*5*Jl Sukarno Hatta*genangan setinggi lutut"}
	for _, s := range steps {
		if r := ussd(t, h.e, "s1", warga, s); r.End {
			t.Fatalf("step %q ended the session: %q", s, r.Text)
		}
	}
	final := steps[len(steps)-1] + "*1"
	done := ussd(t, h.e, "s1", "081234567890", final) // gateways send national numbers too
	number := ticketRE.FindString(done.Text)
	if !done.End || number == "" {
		t.Fatalf("confirm: got %+v, want END with a ticket number", done)
	}
	again := ussd(t, h.e, "s1", warga, final) // the gateway repeats itself
	if again != done {
		t.Fatalf("repeat: got %+v, want %+v", again, done)
	}
	ts, _ := h.e.Tickets(context.Background(), intake.TicketFilter{})
	if len(ts) != 1 || ts[0].Category != "BANJIR" {
		t.Fatalf("tickets: got %+v, want one BANJIR", ts)
	}
	if n := h.countOut(warga, "ack"); n != 1 {
		t.Fatalf("got %d SMS copies of the ticket number, want 1", n)
	}
	rows, _ := h.db.Outbox(context.Background(), store.OutboxFilter{})
	if rows[0].To != warga || rows[0].Channel != "" {
		t.Fatalf("the SMS copy goes to %q on channel %q, want %q on any channel", rows[0].To, rows[0].Channel, warga)
	}
	status := ussd(t, h.e, "s2", warga, "2*"+number)
	if !status.End || !strings.Contains(status.Text, number) {
		t.Fatalf("status: got %+v", status)
	}
	if n := h.countOut(warga, "status"); n != 0 {
		t.Fatalf("a status shown on screen is not also sent by SMS, got %d", n)
	}
}

func TestEngine_USSDConcurrentSessions(t *testing.T) {
	h := newHarness(t)
	var wg sync.WaitGroup
	for _, s := range []struct{ id, cat, text string }{{"a", "3", "sampah menumpuk di gang"}, {"b", "2", "pohon tumbang di jalan"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "1*" + s.cat + "*-*" + s.text
			for _, p := range []string{"", "1", "1*" + s.cat, "1*" + s.cat + "*-", path, path + "*1"} {
				ussd(t, h.e, s.id, warga, p)
			}
		}()
	}
	wg.Wait()
	ts, _ := h.e.Tickets(context.Background(), intake.TicketFilter{})
	if len(ts) != 2 || ts[0].Category == ts[1].Category {
		t.Fatalf("got %+v, want two tickets in two categories", ts)
	}
}

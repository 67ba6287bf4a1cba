package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

// withTemplates reloads h's engine with the test settings and templates.
func withTemplates(t *testing.T, h *harness, templates map[string]string) {
	t.Helper()
	s := testSettings()
	s.Templates = templates
	if err := h.e.Reload(s); err != nil {
		t.Fatal(err)
	}
}

// noSideEffects fails when anything but the inbound row was written: a
// ticket or an outbox row.
func noSideEffects(t *testing.T, h *harness) {
	t.Helper()
	ts, err := h.e.Tickets(context.Background(), intake.TicketFilter{})
	if err != nil || len(ts) != 0 {
		t.Errorf("tickets: got %d (%v), want none", len(ts), err)
	}
	rows, err := h.db.Outbox(context.Background(), store.OutboxFilter{Limit: 100})
	if err != nil || len(rows) != 0 {
		t.Errorf("outbox: got %+v (%v), want nothing queued", rows, err)
	}
}

// TestEngine_USSDUnanswered: a request the dialog does not serve (the
// sender is no mobile number, or is blocklisted) is kept verbatim and
// answered with a terse END screen from the templates, and nothing else
// happens.
func TestEngine_USSDUnanswered(t *testing.T) {
	t.Run("NotMobile", func(t *testing.T) {
		h := newHarness(t)
		r := ussd(t, h.e, "s1", "TELKOMSEL", "1")
		if want := "Nomor tidak dikenal."; !r.End || r.Text != want {
			t.Fatalf("got %+v, want END %q", r, want)
		}
		m := h.inbound(intake.ChannelUSSD, "s1|1")
		if m.Note != "not_mobile" || m.Ticket != "" || m.From != "TELKOMSEL" || len(m.Raw) == 0 {
			t.Fatalf("kept %+v, want the request with note not_mobile and no ticket", m)
		}
		withTemplates(t, h, map[string]string{"ussd_unknown_number": "Nomor Anda tidak bisa dilayani."})
		if r := ussd(t, h.e, "s2", "12345", ""); !r.End || r.Text != "Nomor Anda tidak bisa dilayani." {
			t.Fatalf("got %+v, want the configured END text", r)
		}
		noSideEffects(t, h)
	})
	t.Run("Blocked", func(t *testing.T) {
		h := newHarness(t)
		withTemplates(t, h, map[string]string{"ussd_unavailable": "Maaf, tidak bisa."})
		// A whole complaint in one request: no step of it may run.
		whole := "1*5*Jl Sukarno Hatta*genangan setinggi lutut*1"
		for range 2 { // the gateway repeats itself
			if r := ussd(t, h.e, "s1", "089900000000", whole); !r.End || r.Text != "Maaf, tidak bisa." {
				t.Fatalf("got %+v, want END %q", r, "Maaf, tidak bisa.")
			}
		}
		if m := h.inbound(intake.ChannelUSSD, "s1|"+whole); m.Note != "blocked" || m.Ticket != "" {
			t.Fatalf("kept %+v, want note blocked and no ticket", m)
		}
		if r := ussd(t, h.e, "s2", "+6289900000000", ""); !r.End || r.Text != "Maaf, tidak bisa." {
			t.Fatalf("first screen: got %+v, want END, not the menu", r)
		}
		noSideEffects(t, h)
	})
	t.Run("ScreenLimit", func(t *testing.T) {
		h := newHarness(t)
		withTemplates(t, h, map[string]string{"ussd_unavailable": strings.Repeat("Layanan tidak tersedia. ", 20)})
		r := ussd(t, h.e, "s1", "+6289900000000", "") // fails on a screen over LimitUSSD
		if !r.End || intake.Septets(r.Text) > intake.LimitUSSD {
			t.Fatalf("got %+v, want END within %d", r, intake.LimitUSSD)
		}
	})
}

// TestEngine_USSDFailText: when a prompt fails to render, the screen is the
// configured menu_fail text, not a built-in one; the gateway endpoint gets
// the same text for when the engine fails or is late.
func TestEngine_USSDFailText(t *testing.T) {
	h := newHarness(t)
	if got, want := h.e.USSDFailText(), "Maaf, layanan sedang gangguan. Coba lagi nanti."; got != want {
		t.Errorf("USSDFailText() = %q, want %q", got, want)
	}
	// menu_status passes the sample check (two categories) but fails on
	// the status prompt, which has none.
	withTemplates(t, h, map[string]string{"menu_status": "{{index .Categories 1}}", "menu_fail": "Sistem gangguan, coba lagi."})
	if r := ussd(t, h.e, "s1", warga, "2"); !r.End || r.Text != "Sistem gangguan, coba lagi." {
		t.Fatalf("got %+v, want END with the configured menu_fail", r)
	}
	if got := h.e.USSDFailText(); got != "Sistem gangguan, coba lagi." {
		t.Errorf("USSDFailText() = %q, want the configured menu_fail", got)
	}
}

// TestEngine_USSDRaw: the request is kept as the gateway sent it.
func TestEngine_USSDRaw(t *testing.T) {
	h := newHarness(t)
	raw := ("text=&phoneNumber=%2B6281234567890&sessionId=s1&serviceCode=%2A123%2A7%23&networkCode=51010&x=y")
	_, err := h.e.USSD(context.Background(), intake.USSDRequest{SessionID: "s1", ServiceCode: "*123*7#",
		Phone: warga, NetworkCode: "51010", Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(h.inbound(intake.ChannelUSSD, "s1|").Raw); got != raw {
		t.Fatalf("raw: got %q, want %q", got, raw)
	}
	// Without Raw (an in-process caller), the fields are kept.
	ussd(t, h.e, "s2", warga, "")
	if got := string(h.inbound(intake.ChannelUSSD, "s2|").Raw); !strings.Contains(got, `"sessionId":"s2"`) {
		t.Fatalf("raw: got %q, want the request's fields", got)
	}
}

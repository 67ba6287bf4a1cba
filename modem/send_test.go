package modem

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/modem/modemsim"
)

// longReply takes three UCS-2 parts (193 UTF-16 units).
const longReply = "Terima kasih, aduan jalan berlubang di Jl. Soekarno-Hatta kami terima 🙏 " +
	"dengan nomor 2500013 dan diteruskan ke Dinas PUPR, dijawab paling lambat 7 hari kerja. " +
	"Ketik CEK 2500013 untuk status 😊"

func TestModem_SendLongUCS2(t *testing.T) {
	tests := []struct {
		name   string
		refuse []string
		report byte
		want   string
	}{
		{"ReportRouted", nil, 0x00, intake.OutDelivered},                         // +CDS
		{"ReportStored", []string{"+CNMI=2,1,0,2,0"}, 0x00, intake.OutDelivered}, // +CDSI, then a sweep
		{"ReportFailed", nil, 0x41, intake.OutFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := modemsim.New(modemsim.Options{Refuse: tt.refuse})
			sim.SetReportStatus(tt.report)
			r := newRig(t, sim, Config{}, nil)
			r.start()
			r.waitHealthy()
			id, err := r.m.Send(context.Background(), intake.Outgoing{To: "+6281234567890", Text: longReply})
			if err != nil {
				t.Fatal(err)
			}
			sent := sim.Sent()
			if len(sent) != 1 {
				t.Fatalf("sim got %d messages, want 1: %+v", len(sent), sent)
			}
			s := sent[0]
			if !s.Complete || s.Text != longReply || s.To != "+6281234567890" || !s.UCS2 || s.Parts != 3 || !s.StatusReport {
				t.Errorf("sim decoded %+v", s)
			}
			if s.Ref != 41 { // the rig's NextRef counter starts at 41
				t.Errorf("concatenation reference %d, want 41 from NextRef", s.Ref)
			}
			if id != strconv.Itoa(s.MR()) {
				t.Errorf("provider id %q, want the last part's MR %d", id, s.MR())
			}
			waitFor(t, 5*time.Second, "delivery reports", func() bool {
				d, _, _, _ := r.in.snapshot()
				return len(d) > 0
			})
			d, _, _, _ := r.in.snapshot()
			for _, got := range d {
				if got != (delivery{"modem:m1", id, tt.want}) {
					t.Errorf("delivery %+v, want %s for %s", got, tt.want, id)
				}
			}
			waitFor(t, 5*time.Second, "SIM empty", func() bool { return sim.Stored() == 0 })
		})
	}
}

func TestModem_SendReferencesNotReused(t *testing.T) {
	sim := modemsim.New(modemsim.Options{})
	r := newRig(t, sim, Config{}, nil)
	r.start()
	r.waitHealthy()
	for i := 0; i < 3; i++ {
		if _, err := r.m.Send(context.Background(), intake.Outgoing{To: "+6281234567890", Text: longGSM}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.m.Send(context.Background(), intake.Outgoing{Phone: "+6281234567891", Text: "Aduan diterima."}); err != nil {
		t.Fatal(err)
	}
	sent := sim.Sent()
	if len(sent) != 4 {
		t.Fatalf("%d messages, want 4", len(sent))
	}
	for i, s := range sent[:3] {
		if s.Ref != 41+i || s.Text != longGSM || !s.Complete || s.UCS2 {
			t.Errorf("message %d: ref %d complete %v ucs2 %v, want ref %d complete GSM-7", i, s.Ref, s.Complete, s.UCS2, 41+i)
		}
	}
	if s := sent[3]; s.Text != "Aduan diterima." || s.Parts != 1 || s.To != "+6281234567891" {
		t.Errorf("short reply decoded %+v", s)
	}
}

func TestModem_SendErrors(t *testing.T) {
	t.Run("Down", func(t *testing.T) {
		r := newRig(t, modemsim.New(modemsim.Options{}), Config{}, nil)
		_, err := r.m.Send(context.Background(), intake.Outgoing{To: "+6281234567890", Text: "x"})
		if !errors.Is(err, intake.ErrChannelDown) {
			t.Errorf("got %v, want ErrChannelDown", err)
		}
	})
	tests := []struct {
		name      string
		code      int
		to        string
		permanent bool
	}{
		{"Congestion", 42, "+6281234567890", false},
		{"NetworkTimeout", 332, "+6281234567890", false},
		{"Rejected", 21, "+6281234567890", true},
		{"InvalidPDU", 304, "+6281234567890", true},
		{"WhatsAppAddress", 0, "whatsapp:+6281234567890", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := modemsim.New(modemsim.Options{})
			r := newRig(t, sim, Config{}, nil)
			r.start()
			r.waitHealthy()
			if tt.code != 0 {
				sim.CMSErrorOnNextSend(tt.code)
			}
			_, err := r.m.Send(context.Background(), intake.Outgoing{To: tt.to, Text: "Aduan diterima"})
			if err == nil || errors.Is(err, intake.ErrPermanent) != tt.permanent || errors.Is(err, intake.ErrChannelDown) {
				t.Fatalf("got %v, want an error with permanent=%v", err, tt.permanent)
			}
			if tt.code != 0 && !strings.Contains(err.Error(), strconv.Itoa(tt.code)) {
				t.Errorf("error %q does not name code %d", err, tt.code)
			}
			// The modem is still fine for the next message.
			if _, err := r.m.Send(context.Background(), intake.Outgoing{To: "+6281234567890", Text: "lagi"}); err != nil {
				t.Errorf("next send: %v", err)
			}
		})
	}
}

func TestModem_SendInterval(t *testing.T) {
	sim := modemsim.New(modemsim.Options{})
	r := newRig(t, sim, Config{SendInterval: 150 * time.Millisecond}, nil)
	r.start()
	r.waitHealthy()
	start := time.Now()
	for i := 0; i < 2; i++ {
		if _, err := r.m.Send(context.Background(), intake.Outgoing{To: "+6281234567890", Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("two sends took %v, want at least the 150ms interval", d)
	}
}

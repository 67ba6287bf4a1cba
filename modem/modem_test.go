package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/modem/modemsim"
)

const longGSM = "SAMBAT JALAN#Jl. Soekarno-Hatta depan Politeknik#Jalan berlubang besar sekali, " +
	"sudah dua minggu tidak diperbaiki. Kemarin ada pengendara motor jatuh karena lubangnya tertutup air hujan. " +
	"Mohon segera ditambal sebelum ada korban lagi, terutama malam hari karena lampu jalan juga mati. " +
	"Warga sudah memasang tanda seadanya dari ranting pohon tetapi tidak terlihat dari jauh. Terima kasih."

func TestModem_Init(t *testing.T) {
	tests := []struct {
		name     string
		opts     modemsim.Options
		wantCNMI string
	}{
		{"EchoOff", modemsim.Options{}, "2,1,0,2,0"},
		{"EchoOn", modemsim.Options{Echo: true}, "2,1,0,2,0"},
		{"EchoStaysOn", modemsim.Options{Echo: true, Refuse: []string{"E0", "Z"}}, "2,1,0,2,0"},
		{"CSMSAndGCAPRefused", modemsim.Options{Refuse: []string{"+CSMS", "+GCAP", "^CURC"}}, "2,1,0,2,0"},
		{"CNMIFallback", modemsim.Options{Refuse: []string{"+CNMI=2,1,0,2,0"}}, "2,1,0,1,0"},
		{"CNMIMode1Only", modemsim.Options{Refuse: []string{"+CNMI=2"}}, "1,1,0,2,0"},
		{"Noise", modemsim.Options{Noise: true, Echo: true, Seed: 7}, "2,1,0,2,0"},
		{"ZeroBased", modemsim.Options{ZeroBased: true, Capacity: 5}, "2,1,0,2,0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := modemsim.New(tt.opts)
			r := newRig(t, sim, Config{}, nil)
			r.start()
			r.waitHealthy()
			if got := r.m.Health(context.Background()).Detail["cnmi"]; got != tt.wantCNMI {
				t.Errorf("cnmi %v, want %q", got, tt.wantCNMI)
			}
			texts := []string{"SAMBAT lampu mati " + tt.name, "CEK 2500013 🙏 " + tt.name, longGSM + tt.name}
			for i, text := range texts {
				if err := sim.DeliverText(fmt.Sprintf("+62812345678%02d", i), text); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, 10*time.Second, "3 messages", func() bool { return r.in.count() == 3 })
			got := r.in.texts()
			for _, text := range texts {
				if got[text] != 1 {
					t.Errorf("text %.30q received %d times, want 1", text, got[text])
				}
			}
			waitFor(t, 5*time.Second, "SIM empty", func() bool { return sim.Stored() == 0 })
			if n := sim.Count("+CMGF=0"); n != 1 {
				t.Errorf("+CMGF=0 sent %d times, want 1", n)
			}
			reply := "Aduan diterima 🙏 " + tt.name
			if _, err := r.m.Send(context.Background(), intake.Outgoing{To: "+6281234567800", Text: reply}); err != nil {
				t.Fatal(err)
			}
			if sent := sim.Sent(); len(sent) != 1 || sent[0].Text != reply {
				t.Errorf("sim decoded %+v, want %q", sent, reply)
			}
		})
	}
}

func TestModem_PIN(t *testing.T) {
	t.Run("Accepted", func(t *testing.T) {
		sim := modemsim.New(modemsim.Options{PIN: "1234"})
		r := newRig(t, sim, Config{PIN: "1234"}, nil)
		r.start()
		r.waitHealthy()
		if n := sim.Count("+CPIN="); n != 1 {
			t.Errorf("+CPIN= sent %d times, want 1", n)
		}
	})
	t.Run("RefusedNeverRetried", func(t *testing.T) {
		sim := modemsim.New(modemsim.Options{PIN: "1234"})
		r := newRig(t, sim, Config{PIN: "0000"}, nil)
		r.start()
		waitStopped(t, r.m)
		if n := sim.Count("+CPIN="); n != 1 {
			t.Errorf("+CPIN= sent %d times, want 1", n)
		}
		h := r.m.Health(context.Background())
		if h.OK || !strings.Contains(h.Error, "PIN") {
			t.Errorf("health %+v, want down with a PIN error", h)
		}
		if _, alerts, _, _ := r.in.snapshot(); len(alerts) != 1 || !strings.Contains(alerts[0], "PIN") {
			t.Errorf("alerts %q, want one about the PIN", alerts)
		}
		// A restarted daemon sees the spent try on the SIM and sends nothing.
		r2 := newRig(t, sim, Config{PIN: "0000"}, nil)
		r2.start()
		waitStopped(t, r2.m)
		if n := sim.Count("+CPIN="); n != 1 || sim.PINTries() != 2 {
			t.Errorf("after restart: +CPIN= sent %d times (want 1), %d tries left (want 2)", n, sim.PINTries())
		}
	})
	t.Run("RefusedNotRetriedAfterRestart", func(t *testing.T) {
		// A modem without +CPINR shows no spent tries: only the record
		// in the state store keeps a restart from spending another.
		sim := modemsim.New(modemsim.Options{PIN: "1234", Refuse: []string{"+CPINR"}})
		state := &memState{}
		run := func(pin string) *rig {
			r := newRig(t, sim, Config{PIN: pin}, nil)
			r.m.d.State = state
			r.start()
			return r
		}
		waitStopped(t, run("0000").m)
		r := run("0000")
		waitStopped(t, r.m)
		if n := sim.Count("+CPIN="); n != 1 || sim.PINTries() != 2 {
			t.Fatalf("after restart: +CPIN= sent %d times (want 1), %d tries left (want 2)", n, sim.PINTries())
		}
		if h := r.m.Health(context.Background()); !strings.Contains(h.Error, "refused before") {
			t.Errorf("health %+v, want the earlier refusal named", h)
		}
		if v := state.values["modem:m1:pin_refused"]; v == "" || strings.Contains(v, "0000") {
			t.Errorf("state record %q, want a digest of the refused PIN", v)
		}
		// The operator puts the right PIN in the config: it is tried.
		r = run("1234")
		r.waitHealthy()
		if n := sim.Count("+CPIN="); n != 2 {
			t.Errorf("+CPIN= sent %d times in all, want 2", n)
		}
	})
	t.Run("FailureNotWrongIsNotRecorded", func(t *testing.T) {
		// A plain ERROR (a busy SIM, say) is no proof the PIN is wrong:
		// this run holds back, but nothing is recorded for the next.
		sim := modemsim.New(modemsim.Options{PIN: "1234", Refuse: []string{"+CPINR", "+CPIN="}})
		state := &memState{}
		r := newRig(t, sim, Config{PIN: "1234"}, nil)
		r.m.d.State = state
		r.start()
		waitStopped(t, r.m)
		if n := sim.Count("+CPIN="); n != 1 {
			t.Errorf("+CPIN= sent %d times, want 1", n)
		}
		if h := r.m.Health(context.Background()); !strings.Contains(h.Error, "did not take the PIN") {
			t.Errorf("health %+v, want the failure named", h)
		}
		if len(state.values) != 0 {
			t.Errorf("state %v, want no refusal recorded", state.values)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		sim := modemsim.New(modemsim.Options{PIN: "1234"})
		r := newRig(t, sim, Config{}, nil)
		r.start()
		waitStopped(t, r.m)
		if n := sim.Count("+CPIN="); n != 0 {
			t.Errorf("+CPIN= sent %d times, want 0", n)
		}
	})
}

func waitStopped(t *testing.T, m *Modem) {
	t.Helper()
	select {
	case <-m.stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("connection loop did not stop")
	}
}

func TestModem_FailedDelete(t *testing.T) {
	tests := []struct {
		name     string
		failures int
	}{
		{"Once", 1},
		{"BeyondRetries", 4}, // left on the SIM: the next sweep commits it again
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := modemsim.New(modemsim.Options{})
			r := newRig(t, sim, Config{}, nil)
			for i := 0; i < tt.failures; i++ {
				sim.FailNextDelete()
			}
			if err := sim.DeliverText("+6281234567801", longGSM); err != nil {
				t.Fatal(err)
			}
			if err := sim.DeliverText("+6281234567802", "SAMBAT sampah menumpuk"); err != nil {
				t.Fatal(err)
			}
			r.start()
			waitFor(t, 10*time.Second, "2 messages", func() bool { return r.in.count() == 2 })
			waitFor(t, 10*time.Second, "SIM empty", func() bool { return sim.Stored() == 0 })
			for text, n := range r.in.texts() {
				if n != 1 {
					t.Errorf("text %.30q received %d times", text, n)
				}
			}
			if n := sim.Count("+CMGR="); n == 0 {
				t.Error("failed delete retried without reading the index back")
			}
			if _, _, _, dups := r.in.snapshot(); tt.failures > 3 && dups == 0 {
				t.Error("no redelivery absorbed, yet the message stayed on the SIM")
			}
		})
	}
}

func TestModem_HandlerRefusesKeepsMessage(t *testing.T) {
	sim := modemsim.New(modemsim.Options{})
	r := newRig(t, sim, Config{PollInterval: 50 * time.Millisecond}, nil)
	refuse := true
	r.in.fail = func(string) error {
		if refuse {
			return errRefused
		}
		return nil
	}
	if err := sim.DeliverText("+6281234567803", "SAMBAT got macet"); err != nil {
		t.Fatal(err)
	}
	r.start()
	waitFor(t, 5*time.Second, "a failed sweep", func() bool { return sim.Count("+CMGL") >= 2 })
	if sim.Stored() != 1 || sim.Count("+CMGD") != 0 {
		t.Fatalf("message deleted (%d stored, %d deletes) though the commit failed", sim.Stored(), sim.Count("+CMGD"))
	}
	r.in.mu.Lock()
	refuse = false
	r.in.mu.Unlock()
	waitFor(t, 5*time.Second, "message after the store recovered", func() bool { return r.in.count() == 1 })
	waitFor(t, 5*time.Second, "SIM empty", func() bool { return sim.Stored() == 0 })
}

func TestModem_UndecodablePDUKept(t *testing.T) {
	sim := modemsim.New(modemsim.Options{})
	r := newRig(t, sim, Config{}, nil)
	garbage := []byte{0x00, 0x04, 0x0b, 0x91, 0x26, 0x18}
	if err := sim.Deliver(garbage); err != nil {
		t.Fatal(err)
	}
	r.start()
	waitFor(t, 5*time.Second, "the undecodable PDU", func() bool { return r.in.count() == 1 })
	r.in.mu.Lock()
	m := r.in.msgs[r.in.order[0]]
	r.in.mu.Unlock()
	if string(m.Raw) != string(garbage) || m.Note != "undecodable" || m.Channel != "modem:m1" {
		t.Errorf("kept %+v, want the raw PDU noted undecodable", m)
	}
	waitFor(t, 5*time.Second, "SIM empty", func() bool { return sim.Stored() == 0 })
}

func TestModem_StaleOK(t *testing.T) {
	tests := []struct {
		name     string
		prefixes []string
	}{
		{"IdleLine", nil},
		{"BeforeListing", []string{"+CMGL", "+CMGL"}},
		{"BeforeDelete", []string{"+CMGD", "+CMGD", "+CMGD"}},
		{"BeforeStorage", []string{"+CPMS?"}},
		{"Mixed", []string{"+CMGD", "+CMGL", "+CMGD", "+CPMS?", "+CMGL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := modemsim.New(modemsim.Options{Noise: true, Seed: 3, Shuffle: true})
			r := newRig(t, sim, Config{}, nil)
			r.start()
			r.waitHealthy()
			for _, p := range tt.prefixes {
				sim.StaleOKBefore(p)
			}
			sim.InjectLine("OK")
			msgs := burst(15)
			deliverAll(t, sim, msgs)
			waitFor(t, 15*time.Second, "15 messages", func() bool { return r.in.count() == 15 })
			waitFor(t, 15*time.Second, "SIM empty", func() bool { return sim.Stored() == 0 })
			checkBurst(t, r.in, msgs)
		})
	}
}

func TestModem_StopsAnswering(t *testing.T) {
	sim := modemsim.New(modemsim.Options{})
	r := newRig(t, sim, Config{PollInterval: 50 * time.Millisecond}, nil)
	r.m.t.cmd, r.m.t.list = 300*time.Millisecond, 300*time.Millisecond
	r.start()
	r.waitHealthy()
	opened := sim.Count("+CNMI=")
	sim.NoAnswer(true)
	waitFor(t, 10*time.Second, "modem reported down", func() bool { return !r.m.Health(context.Background()).OK })
	if _, err := r.m.Send(context.Background(), intake.Outgoing{To: "+6281234567890", Text: "x"}); !errors.Is(err, intake.ErrChannelDown) {
		t.Errorf("send while down: %v, want ErrChannelDown", err)
	}
	sim.NoAnswer(false)
	r.waitHealthy()
	if sim.Count("+CNMI=") <= opened {
		t.Error("+CNMI not sent again after the reconnect")
	}
	if err := sim.DeliverText("+6281234567899", "SAMBAT setelah sambung ulang"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "message after reconnect", func() bool { return r.in.count() == 1 })
}

func TestModem_ReceptionBeforeSending(t *testing.T) {
	sim := modemsim.New(modemsim.Options{})
	for i := 0; i < 10; i++ {
		if err := sim.DeliverText(fmt.Sprintf("+628123456782%d", i), fmt.Sprintf("SAMBAT antre %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	r := newRig(t, sim, Config{}, nil)
	r.start()
	var err error
	waitFor(t, 10*time.Second, "a send", func() bool {
		_, err = r.m.Send(context.Background(), intake.Outgoing{To: "+6281234567890", Text: "Aduan diterima"})
		return !errors.Is(err, intake.ErrChannelDown)
	})
	if err != nil {
		t.Fatal(err)
	}
	lastDelete, firstSend := -1, -1
	for i, c := range sim.Commands() {
		if strings.HasPrefix(c, "+CMGD") {
			lastDelete = i
		}
		if strings.HasPrefix(c, "+CMGS") && firstSend < 0 {
			firstSend = i
		}
	}
	if sim.Count("+CMGD") != 10 || lastDelete > firstSend {
		t.Errorf("%d deletes, last at %d, first send at %d: the reply did not wait for reception",
			sim.Count("+CMGD"), lastDelete, firstSend)
	}
}

func TestModem_Health(t *testing.T) {
	sim := modemsim.New(modemsim.Options{Operator: "INDOSAT"})
	r := newRig(t, sim, Config{PollInterval: 30 * time.Millisecond, BalanceUSSD: "*888#", BalanceMin: 20000}, nil)
	r.start()
	r.waitHealthy()
	waitFor(t, 5*time.Second, "balance", func() bool {
		return r.m.Health(context.Background()).Detail["balance"] != nil
	})
	h := r.m.Health(context.Background())
	want := map[string]any{"operator": "INDOSAT", "registration": "home", "signal_rssi": 20, "signal_dbm": -73,
		"storage_used": 0, "storage_total": 30, "balance": 12500, "active_until": "2030-12-31", "connected": true}
	for k, v := range want {
		if h.Detail[k] != v {
			t.Errorf("detail %s = %v, want %v", k, h.Detail[k], v)
		}
	}
	if h.Name != "modem:m1" || !h.Inbound {
		t.Errorf("health %+v, want an inbound modem:m1", h)
	}
	if _, alerts, _, _ := r.in.snapshot(); len(alerts) != 1 || !strings.Contains(alerts[0], "12500") {
		t.Errorf("alerts %q, want one low-balance alert", alerts)
	}
	sim.SetSignal(5, 3)
	waitFor(t, 5*time.Second, "unregistered reported", func() bool { return !r.m.Health(context.Background()).OK })
	if _, alerts, _, _ := r.in.snapshot(); len(alerts) != 1 {
		t.Errorf("%d alerts, want the low balance told once", len(alerts))
	}
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func TestModem_FlushesIncompleteParts(t *testing.T) {
	sim := modemsim.New(modemsim.Options{})
	r := newRig(t, sim, Config{MultipartTimeout: 2 * time.Hour}, nil)
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	r.m.d.Clock = fixedClock(now)
	r.start()
	waitFor(t, 5*time.Second, "a flush", func() bool {
		_, _, flushes, _ := r.in.snapshot()
		return len(flushes) > 0
	})
	if _, _, flushes, _ := r.in.snapshot(); !flushes[0].Equal(now.Add(-2 * time.Hour)) {
		t.Errorf("flushed before %v, want %v", flushes[0], now.Add(-2*time.Hour))
	}
}

func TestInfo(t *testing.T) {
	rep, err := Info(context.Background(), PortSim, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Manufacturer != "SambatSim" || rep.Model != "E173-SIM" || rep.SMSC != "+6281100000" ||
		rep.StorageTotal != 30 || rep.Registration != "home" || rep.SignalRSSI != 20 || rep.SIM != "READY" {
		t.Errorf("report %+v", rep)
	}
	out := rep.String()
	for _, want := range []string{"manufacturer: SambatSim", "signal:       20 (-73 dBm)", "storage:      0 of 30 used"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestModem_PortSim(t *testing.T) {
	in := newFakeIntake()
	m := New(Config{Name: "demo", Port: PortSim}, Deps{Handler: in, Parts: in,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	m.t = testTiming
	t.Cleanup(func() { _ = m.Close() })
	if m.Sim() == nil {
		t.Fatal("no simulator for port sim")
	}
	m.Start(context.Background())
	if err := m.Sim().DeliverText("+6281234567890", longGSM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the demo message", func() bool { return in.count() == 1 })
	if got := in.texts()[longGSM]; got != 1 {
		t.Errorf("received %d times", got)
	}
}

func TestModem_OneDownOthersUp(t *testing.T) {
	dead := modemsim.New(modemsim.Options{})
	dead.NoAnswer(true)
	a := newRig(t, dead, Config{Name: "m1"}, nil)
	a.m.t.cmd = 200 * time.Millisecond
	live := modemsim.New(modemsim.Options{})
	b := newRig(t, live, Config{Name: "m2"}, nil)
	a.start()
	b.start()
	b.waitHealthy()
	if err := live.DeliverText("+6281234567890", "SAMBAT lewat modem kedua"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "message on m2", func() bool { return b.in.count() == 1 })
	if a.m.Health(context.Background()).OK {
		t.Error("silent modem reported up")
	}
	if _, err := b.m.Send(context.Background(), intake.Outgoing{To: "+6281234567890", Text: "ok"}); err != nil {
		t.Errorf("send on m2: %v", err)
	}
}

// memState is the state store of the PIN tests.
type memState struct {
	mu     sync.Mutex
	values map[string]string
}

func (s *memState) State(_ context.Context, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	if !ok {
		return "", fmt.Errorf("state %s: %w", key, intake.ErrNotFound)
	}
	return v, nil
}

func (s *memState) SetState(_ context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]string{}
	}
	s.values[key] = value
	return nil
}

// TestModem_SIMExpiryAlert: a SIM whose active period ends within a week
// is told to the admins once, with the date, in the sim_expiry template.
func TestModem_SIMExpiryAlert(t *testing.T) {
	until := time.Now().AddDate(0, 0, 3).Format("02-01-2006")
	sim := modemsim.New(modemsim.Options{USSD: map[string]string{"*888#": "Sisa pulsa Rp50.000. Masa aktif s/d " + until + "."}})
	r := newRig(t, sim, Config{PollInterval: 30 * time.Millisecond, BalanceUSSD: "*888#", BalanceMin: 10000}, nil)
	r.m.t.balanceEvery = 0 // asked at every poll: the same date is not told twice
	r.start()
	r.waitHealthy()
	waitFor(t, 5*time.Second, "the balance asked three times", func() bool { return sim.Count("+CUSD=1") >= 3 })
	if _, alerts, _, _ := r.in.snapshot(); len(alerts) != 1 || alerts[0] != "sim_expiry m1: "+until {
		t.Errorf("alerts %q, want one sim_expiry naming %s", alerts, until)
	}
}

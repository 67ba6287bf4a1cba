package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/modem/modemsim"
)

// modemRig is a simulated modem on a real pseudo-terminal, owned by the
// test so that its SIM outlives the daemon process; the daemon opens it
// through a symlink the test can re-point (an unplug and replug).
type modemRig struct {
	t    *testing.T
	sim  *modemsim.Modem
	link string
}

func newModemRig(t *testing.T, dir string, seed int64) *modemRig {
	t.Helper()
	return newModemRigWith(t, dir, modemsim.Options{Capacity: 30, Shuffle: true, Seed: seed})
}

func newModemRigWith(t *testing.T, dir string, opts modemsim.Options) *modemRig {
	t.Helper()
	sim := modemsim.New(opts)
	t.Cleanup(func() { sim.Close() })
	r := &modemRig{t: t, sim: sim, link: filepath.Join(dir, "ttyMODEM")}
	r.plug()
	return r
}

// plug serves a new pty and points the symlink at it.
func (r *modemRig) plug() {
	r.t.Helper()
	path, err := r.sim.ServePTY()
	if err != nil {
		r.t.Fatal(err)
	}
	tmp := r.link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(path, tmp); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Rename(tmp, r.link); err != nil {
		r.t.Fatal(err)
	}
}

func (r *modemRig) config(t *testing.T, dir, addr string) string {
	return writeConfig(t, dir, addr, fmt.Sprintf("intake:\n  max_per_day: 0\nmodems:\n  - name: m1\n    port: %s\n"+
		"    send_interval: 10ms\noutbound:\n  order: [modem]\n", r.link))
}

// modemTexts are the complaints of the modem tests: GSM-7, UCS-2 with
// Indonesian text and emoji, and 3-part concatenated ones.
func modemText(i int) string {
	switch i % 4 {
	case 1:
		return fmt.Sprintf("SAMBAT sampah numpuk di pasar Blimbing 😡🙏 sudah seminggu, nomor %d", i)
	case 2:
		return fmt.Sprintf("SAMBAT jalan berlubang nomor %d di Jl Soekarno Hatta. ", i) + strings.Repeat("Lubangnya dalam dan sudah banyak pengendara motor jatuh di malam hari. ", 5)
	}
	return fmt.Sprintf("SAMBAT lampu PJU mati nomor %d di Jl Semeru", i)
}

func modemPhone(i int) string { return fmt.Sprintf("+62811%08d", i) }

// deliverAll puts the messages on the SIM (the network holds what does
// not fit until slots are freed).
func (r *modemRig) deliverAll(n int) {
	for i := 0; i < n; i++ {
		if err := r.sim.DeliverText(modemPhone(i), modemText(i)); err != nil {
			r.t.Fatalf("deliver %d: %v", i, err)
		}
	}
}

var ticketInText = regexp.MustCompile(`\b\d{7}\b`)

// verifyModem checks the end state: every message stored once, one ticket
// each, every reply decoded on the modem side as the outbox row says, and
// the SIM empty.
func verifyModem(t *testing.T, p *proc, r *modemRig, n int, seed int64) {
	t.Helper()
	eventually(t, 120*time.Second, "the SIM drained and every message stored", func() bool {
		var cnt struct{ Count int }
		getJSON(t, p.base+"/api/v1/messages/count?channel=modem:m1", &cnt)
		return r.sim.Stored() == 0 && r.sim.Pending() == 0 && cnt.Count == n
	})
	var list struct{ Tickets []struct{ Number string } }
	getJSON(t, p.base+"/api/v1/tickets?limit=500", &list)
	if len(list.Tickets) != n {
		t.Fatalf("seed %d: %d tickets, want %d", seed, len(list.Tickets), n)
	}
	eventually(t, 120*time.Second, "every reply sent by the modem", func() bool {
		got := map[string]bool{}
		for _, s := range r.sim.Sent() {
			got[s.To] = got[s.To] || s.Complete
		}
		return len(got) >= n
	})
	sent := map[string]string{}
	for _, s := range r.sim.Sent() {
		sent[s.To] = s.Text
	}
	for i := 0; i < n; i++ {
		items := conversation(t, p.base, modemPhone(i))
		if len(items) != 2 || items[0].Direction != "in" || items[1].Direction != "out" {
			t.Fatalf("seed %d: conversation of %d: got %+v, want one message and one reply", seed, i, items)
		}
		if items[0].Text != modemText(i) {
			t.Fatalf("seed %d: message %d stored as %q, want %q", seed, i, items[0].Text, modemText(i))
		}
		if got := sent[modemPhone(i)]; got != items[1].Text || ticketInText.FindString(got) == "" {
			t.Fatalf("seed %d: reply to %d decoded as %q, want %q", seed, i, got, items[1].Text)
		}
	}
}

// TestModem_EndToEnd runs the daemon on a simulated modem over a real
// pseudo-terminal: 200 messages (GSM-7, UCS-2, 3-part with parts out of
// order), one failed +CMGD, and an unplug and replug in the middle.
func TestModem_EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon on a pseudo-terminal")
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	rig := newModemRig(t, dir, seed)
	addr := freeAddr(t)
	p := start(t, rig.config(t, dir, addr), addr)
	defer p.kill()
	const n = 200
	rig.sim.FailNextDelete()
	rig.deliverAll(n / 2)
	eventually(t, 60*time.Second, "the first messages taken in", func() bool {
		var cnt struct{ Count int }
		getJSON(t, p.base+"/api/v1/messages/count?channel=modem:m1", &cnt)
		return cnt.Count >= n/4
	})
	rig.sim.Unplug()
	rig.plug()
	for i := n / 2; i < n; i++ {
		if err := rig.sim.DeliverText(modemPhone(i), modemText(i)); err != nil {
			t.Fatal(err)
		}
	}
	verifyModem(t, p, rig, n, seed)
	m := scrape(t, p.base)
	for _, want := range []string{`sambatd_messages_in_total{channel="modem:m1",outcome="stored"} 200`,
		`sambatd_modem_signal_rssi{channel="modem:m1"} 20`, `sambatd_modem_registered{channel="modem:m1"} 1`,
		`sambatd_channel_up{channel="modem:m1"} 1`} {
		if !strings.Contains(m, want) {
			t.Fatalf("metrics lack %s:\n%s", want, m)
		}
	}
}

// TestModem_PartsAcrossMidnight: a 3-part complaint whose parts reach the
// centre at 23:59:57, 23:59:59 and 00:00:02, delivered last part first, is
// one message with one ticket and one reply, not two halves.
func TestModem_PartsAcrossMidnight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon on a pseudo-terminal")
	}
	dir := t.TempDir()
	rig := newModemRig(t, dir, 1)
	addr := freeAddr(t)
	p := start(t, rig.config(t, dir, addr), addr)
	defer p.kill()
	wib := time.FixedZone("WIB", 7*3600)
	const phone = "+6281100000777"
	text := modemText(2)
	pdus, err := rig.sim.EncodeDeliver(phone, text, time.Date(2026, 12, 31, 23, 59, 57, 0, wib))
	if err != nil {
		t.Fatal(err)
	}
	if len(pdus) != 3 {
		t.Fatalf("%d parts, want 3", len(pdus))
	}
	stamps := []time.Time{time.Date(2026, 12, 31, 23, 59, 57, 0, wib), time.Date(2026, 12, 31, 23, 59, 59, 0, wib),
		time.Date(2027, 1, 1, 0, 0, 2, 0, wib)}
	for _, i := range []int{2, 0, 1} {
		pdu, err := modemsim.Restamp(pdus[i], stamps[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := rig.sim.Deliver(pdu); err != nil {
			t.Fatal(err)
		}
	}
	var items []convItem
	eventually(t, 60*time.Second, "the message and its reply", func() bool {
		items = conversation(t, p.base, phone)
		return len(items) >= 2 && rig.sim.Stored() == 0
	})
	if len(items) != 2 || items[0].Direction != "in" || items[0].Text != text || items[1].Direction != "out" ||
		ticketInText.FindString(items[1].Text) == "" {
		t.Fatalf("conversation: got %+v, want the whole complaint and a reply with a ticket number", items)
	}
	var list struct{ Tickets []struct{ Number string } }
	getJSON(t, p.base+"/api/v1/tickets?limit=10", &list)
	if len(list.Tickets) != 1 {
		t.Fatalf("%d tickets, want 1", len(list.Tickets))
	}
}

// TestModem_PINRefusedAcrossRestart: a SIM that refused the configured
// PIN, on a modem without +CPINR (no retry counter to read), is not sent
// that PIN again by a restarted daemon: the refusal is in the database.
func TestModem_PINRefusedAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon on a pseudo-terminal")
	}
	dir := t.TempDir()
	rig := newModemRigWith(t, dir, modemsim.Options{PIN: "1234", Refuse: []string{"+CPINR"}})
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr, fmt.Sprintf("modems:\n  - name: m1\n    port: %s\n    pin: \"0000\"\n", rig.link))
	modemError := func(p *proc) string {
		var ready struct {
			Parts []struct{ Name, Error string }
		}
		getJSON(t, p.base+"/readyz", &ready)
		for _, part := range ready.Parts {
			if part.Name == "modem:m1" {
				return part.Error
			}
		}
		return ""
	}
	p := start(t, cfg, addr)
	eventually(t, 30*time.Second, "the PIN refused", func() bool {
		return strings.Contains(modemError(p), "refused the PIN")
	})
	p.kill()
	p = start(t, cfg, addr)
	defer p.kill()
	eventually(t, 30*time.Second, "the restarted daemon to stop at the recorded refusal", func() bool {
		return strings.Contains(modemError(p), "refused before")
	})
	if n, left := rig.sim.Count("+CPIN="), rig.sim.PINTries(); n != 1 || left != 2 {
		t.Fatalf("+CPIN= sent %d times (want 1), %d tries left (want 2)", n, left)
	}
}

// TestModem_LowBalanceAlert: credit below balance_min reaches the admins
// once, by SMS through the modem, in the config's low_balance template.
func TestModem_LowBalanceAlert(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon on a pseudo-terminal")
	}
	dir := t.TempDir()
	rig := newModemRig(t, dir, 1) // the simulated operator answers *888# with Rp12.500
	addr := freeAddr(t)
	const admin = "+6281299990000"
	cfg := writeConfig(t, dir, addr, fmt.Sprintf("modems:\n  - name: m1\n    port: %s\n    send_interval: 10ms\n"+
		"    balance_ussd: \"*888#\"\n    balance_min: 20000\nadmins: [\"%s\"]\noutbound:\n  order: [modem]\n"+
		"templates:\n  low_balance: \"PULSA {{.Name}}: {{.Note}}\"\n"+
		"sla:\n  quiet_hours: \"\"\n", rig.link, admin)) // alerts are notifications: none held for the morning
	p := start(t, cfg, addr)
	defer p.kill()
	var got []string
	defer func() {
		if t.Failed() {
			t.Log(p.logText())
		}
	}()
	eventually(t, 60*time.Second, "the alert sent to the admin", func() bool {
		got = got[:0]
		for _, s := range rig.sim.Sent() {
			if s.To == admin && s.Complete {
				got = append(got, s.Text)
			}
		}
		return len(got) > 0
	})
	if want := "PULSA m1: sisa Rp12500, batas Rp20000"; len(got) != 1 || got[0] != want {
		t.Fatalf("admin got %q, want one %q", got, want)
	}
}

// TestKill_Modem SIGKILLs the daemon at seeded random moments while a
// burst of 200 SMS waits on the SIM, and restarts it: the SIM outlives the
// kills, and in the end every message is stored once with one ticket and
// one reply.
func TestKill_Modem(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a daemon process")
	}
	useed := killSeed(t)
	seed := int64(useed)
	rng := rand.New(rand.NewPCG(useed, 2))
	dir := t.TempDir()
	rig := newModemRig(t, dir, seed)
	addr := freeAddr(t)
	cfg := rig.config(t, dir, addr)
	const n, kills = 200, 4
	batch := n / (kills + 1)
	for round := 0; round < kills; round++ {
		for i := round * batch; i < (round+1)*batch; i++ {
			if err := rig.sim.DeliverText(modemPhone(i), modemText(i)); err != nil {
				t.Fatal(err)
			}
		}
		// Kill while 1 to batch-1 PDUs still wait on the SIM or in the network.
		left := 1 + rng.IntN(batch-1)
		p := start(t, cfg, addr)
		eventually(t, 60*time.Second, "the SIM half drained", func() bool {
			return rig.sim.Stored()+rig.sim.Pending() <= left
		})
		p.kill()
		t.Logf("round %d: killed with %d PDUs left on the SIM and %d replies sent", round,
			rig.sim.Stored()+rig.sim.Pending(), len(rig.sim.Sent()))
	}
	for i := kills * batch; i < n; i++ {
		if err := rig.sim.DeliverText(modemPhone(i), modemText(i)); err != nil {
			t.Fatal(err)
		}
	}
	p := start(t, cfg, addr)
	defer p.kill()
	verifyModem(t, p, rig, n, seed)
}

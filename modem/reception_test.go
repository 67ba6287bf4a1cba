package modem

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/modem/modemsim"
)

// inboundSMS is one message a resident sends in the reception tests.
type inboundSMS struct{ from, text string }

// burst returns n messages: GSM-7, UCS-2 with Indonesian text and emoji,
// and 3-part concatenated ones (GSM-7 and UCS-2), all distinct.
func burst(n int) []inboundSMS {
	out := make([]inboundSMS, 0, n)
	for i := 0; i < n; i++ {
		from := fmt.Sprintf("+62812%08d", 10000+i)
		var text string
		switch i % 5 {
		case 0, 1:
			text = fmt.Sprintf("SAMBAT JALAN Jl. Ijen no %d berlubang, mohon ditambal", i)
		case 2:
			text = fmt.Sprintf("SAMBAT lampu PJU mati di Oro-oro Dowo 🙏 no %d, mohon segera 😊", i)
		case 3:
			text = fmt.Sprintf("%s [%d]", longGSM, i)
		default:
			text = fmt.Sprintf("Laporan %d: saluran air di Jalan Kawi mampet 🚧, bau sekali dan nyamuk banyak. "+
				"Sudah lapor RT tapi belum ada tindakan 😞. Mohon Dinas PUPR meninjau lokasi, terima kasih 🙏", i)
		}
		out = append(out, inboundSMS{from, text})
	}
	return out
}

// checkBurst asserts every message arrived exactly once with its sender.
func checkBurst(t *testing.T, in *fakeIntake, msgs []inboundSMS) {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	byText := map[string][]intake.Message{}
	for _, m := range in.msgs {
		byText[m.Text] = append(byText[m.Text], m)
	}
	for _, s := range msgs {
		got := byText[s.text]
		if len(got) != 1 {
			t.Errorf("%.40q received %d times, want 1", s.text, len(got))
			continue
		}
		if got[0].From != s.from || got[0].Channel != "modem:m1" {
			t.Errorf("%.40q from %q on %q, want %q on modem:m1", s.text, got[0].From, got[0].Channel, s.from)
		}
	}
	if len(in.msgs) != len(msgs) {
		t.Errorf("%d messages stored, want %d", len(in.msgs), len(msgs))
	}
}

// checkComposition asserts what burst(200) promises: single GSM-7,
// single UCS-2 and 3-part concatenated messages of both alphabets.
func checkComposition(t *testing.T, msgs []inboundSMS) {
	t.Helper()
	enc := modemsim.New(modemsim.Options{})
	kinds := map[string]int{}
	for _, s := range msgs {
		pdus, err := enc.EncodeDeliver(s.from, s.text, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		in := decodePDU(pdus[0])
		kinds[fmt.Sprintf("%d parts, ucs2 %v", len(pdus), strings.ContainsRune(s.text, '🙏'))]++
		if len(pdus) > 1 && (!in.concat || in.total != len(pdus)) {
			t.Fatalf("%.30q: first part not concatenated", s.text)
		}
	}
	want := map[string]int{"1 parts, ucs2 false": 80, "1 parts, ucs2 true": 40, "3 parts, ucs2 false": 40, "3 parts, ucs2 true": 40}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("burst has %d messages of %s, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
}

func deliverAll(t *testing.T, sim *modemsim.Modem, msgs []inboundSMS) {
	t.Helper()
	for _, s := range msgs {
		if err := sim.DeliverText(s.from, s.text); err != nil {
			t.Fatal(err)
		}
	}
}

func TestModem_Reception200Pipe(t *testing.T) {
	sim := modemsim.New(modemsim.Options{Capacity: 30, Shuffle: true, Noise: true, Echo: true, Seed: 1})
	r := newRig(t, sim, Config{}, nil)
	msgs := burst(200)
	checkComposition(t, msgs)
	// Half arrive while the daemon is away: the SIM fills up and the
	// network holds the rest back until the sweep makes room.
	deliverAll(t, sim, msgs[:100])
	if sim.Stored() != 30 || sim.Pending() == 0 {
		t.Fatalf("SIM holds %d with %d waiting, want it full", sim.Stored(), sim.Pending())
	}
	r.start()
	deliverAll(t, sim, msgs[100:])
	waitFor(t, 60*time.Second, "200 messages", func() bool { return r.in.count() >= 200 })
	waitFor(t, 10*time.Second, "SIM empty", func() bool { return sim.Stored() == 0 && sim.Pending() == 0 })
	checkBurst(t, r.in, msgs)
	if n := sim.Count("+CMGD"); n != 360 {
		t.Errorf("%d deletes for 360 PDUs", n)
	}
}

// ptyPort serves sim on a new pseudo-terminal and points link at it, as a
// udev symlink follows a replugged modem.
func ptyPort(t *testing.T, sim *modemsim.Modem, link string) {
	t.Helper()
	path, err := sim.ServePTY()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	tmp := link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(path, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

func TestModem_Reception200PTY(t *testing.T) {
	sim := modemsim.New(modemsim.Options{Capacity: 30, Shuffle: true, Noise: true, Seed: 2})
	link := filepath.Join(t.TempDir(), "ttyModem")
	ptyPort(t, sim, link)
	// Open nil: the real go.bug.st/serial on the pty, through the symlink.
	r := newRig(t, sim, Config{Port: link}, nil)
	r.m.d.Open = openSerial
	r.start()
	r.waitHealthy()
	msgs := burst(200)
	deliverAll(t, sim, msgs)
	waitFor(t, 60*time.Second, "200 messages", func() bool { return r.in.count() >= 200 })
	waitFor(t, 10*time.Second, "SIM empty", func() bool { return sim.Stored() == 0 && sim.Pending() == 0 })
	checkBurst(t, r.in, msgs)
}

func TestModem_UnplugReplug(t *testing.T) {
	sim := modemsim.New(modemsim.Options{Shuffle: true, Seed: 4})
	link := filepath.Join(t.TempDir(), "ttyModem")
	ptyPort(t, sim, link)
	r := newRig(t, sim, Config{Port: link}, nil)
	r.m.d.Open = openSerial
	r.start()
	r.waitHealthy()
	msgs := burst(20)
	deliverAll(t, sim, msgs[:10])
	waitFor(t, 10*time.Second, "first 10", func() bool { return r.in.count() == 10 })
	inits := sim.Count("+CNMI=")

	sim.Unplug()
	waitFor(t, 10*time.Second, "modem reported down", func() bool { return !r.m.Health(context.Background()).OK })
	if _, err := r.m.Send(context.Background(), intake.Outgoing{To: "+6281234567890", Text: "x"}); !errors.Is(err, intake.ErrChannelDown) {
		t.Errorf("send while unplugged: %v, want ErrChannelDown", err)
	}
	deliverAll(t, sim, msgs[10:]) // the network stores them on the SIM meanwhile

	ptyPort(t, sim, link)
	r.waitHealthy()
	waitFor(t, 20*time.Second, "all 20", func() bool { return r.in.count() == 20 })
	waitFor(t, 10*time.Second, "SIM empty", func() bool { return sim.Stored() == 0 })
	checkBurst(t, r.in, msgs)
	if sim.Count("+CNMI=") <= inits {
		t.Error("+CNMI not sent again after the replug")
	}
}

// TestModemsim_PTYOutlivesClient checks what a daemon-level kill test
// relies on: a client that goes away mid-dialogue (here: closes the port
// with a PDU prompt open and unread output) leaves the pty usable.
func TestModemsim_PTYOutlivesClient(t *testing.T) {
	sim := modemsim.New(modemsim.Options{})
	defer sim.Close()
	path, err := sim.ServePTY()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	p, err := openSerial(context.Background(), path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write([]byte("AT+CMGS=20\r")); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if err := sim.DeliverText("+6281234567890", fmt.Sprintf("SAMBAT %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Info(context.Background(), path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	if rep.StorageUsed != 30 || !strings.Contains(rep.String(), "SambatSim") {
		t.Errorf("second client saw %+v, want 30 stored messages", rep)
	}
}

// TestModemsim_PTYOutlivesKilledClient runs a client in another process,
// kills it with SIGKILL in the middle of a +CMGS prompt while it holds the
// port exclusively (TIOCEXCL), and checks that the next process can open
// the same pty and talk to the modem: what a daemon-level kill test needs.
func TestModemsim_PTYOutlivesKilledClient(t *testing.T) {
	if os.Getenv("MODEMSIM_HELPER_PORT") != "" {
		t.Skip("helper process")
	}
	sim := modemsim.New(modemsim.Options{})
	defer sim.Close()
	path, err := sim.ServePTY()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPTYClient$")
	cmd.Env = append(os.Environ(), "MODEMSIM_HELPER_PORT="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "ready" {
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := sim.DeliverText("+6281234567890", "SAMBAT setelah kill"); err != nil {
		t.Fatal(err)
	}
	var rep InfoReport
	waitFor(t, 10*time.Second, "the pty to open again", func() bool {
		rep, err = Info(context.Background(), path, 115200)
		return err == nil
	})
	if rep.StorageUsed != 1 || rep.Manufacturer != "SambatSim" {
		t.Errorf("next client saw %+v, want the stored message", rep)
	}
}

// TestHelperPTYClient is the client process of the test above.
func TestHelperPTYClient(t *testing.T) {
	path := os.Getenv("MODEMSIM_HELPER_PORT")
	if path == "" {
		t.Skip("only run as a helper process")
	}
	p, err := openSerial(context.Background(), path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write([]byte("AT+CMGS=20\r")); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	select {} // until killed
}

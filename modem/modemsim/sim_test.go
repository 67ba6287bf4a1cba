package modemsim

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/tpdu"
)

// client is a minimal terminal: it types a command and reads the answer
// up to the final result code or the PDU prompt. A goroutine keeps
// reading, as a real terminal would, so unsolicited lines never block.
type client struct {
	t     *testing.T
	c     net.Conn
	lines chan string
}

func dial(t *testing.T, s *Modem) *client {
	t.Helper()
	c, srv := net.Pipe()
	go func() { _ = s.Serve(srv) }()
	cl := &client{t: t, c: c, lines: make(chan string, 100)}
	go cl.readLoop()
	t.Cleanup(func() { c.Close() })
	return cl
}

func (c *client) readLoop() {
	defer close(c.lines)
	r := bufio.NewReader(c.c)
	for {
		if b, err := r.Peek(2); err == nil && string(b) == "> " {
			_, _ = r.Discard(2)
			c.lines <- ">"
			continue
		}
		l, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if l = strings.TrimRight(l, "\r\n"); l != "" {
			c.lines <- l
		}
	}
}

func (c *client) send(text string) []string {
	c.t.Helper()
	if _, err := c.c.Write([]byte(text)); err != nil {
		c.t.Fatal(err)
	}
	return c.read()
}

func (c *client) read() []string {
	c.t.Helper()
	var lines []string
	timeout := time.After(5 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("connection closed after %q", lines)
			}
			lines = append(lines, l)
			if l == ">" || l == "OK" || l == "ERROR" || strings.HasPrefix(l, "+CMS ERROR") || strings.HasPrefix(l, "+CME ERROR") {
				return lines
			}
		case <-timeout:
			c.t.Fatalf("no final result after %q", lines)
		}
	}
}

// next returns the next line, e.g. an unsolicited one.
func (c *client) next() string {
	c.t.Helper()
	select {
	case l := <-c.lines:
		return l
	case <-time.After(5 * time.Second):
		c.t.Fatal("no line")
	}
	return ""
}

func TestModem_Dialogue(t *testing.T) {
	s := New(Options{Capacity: 2, Echo: true, Refuse: []string{"+GCAP"}})
	c := dial(t, s)
	steps := []struct {
		in   string
		want []string
	}{
		{"ATE0\r", []string{"ATE0", "OK"}},
		{"AT+GCAP\r", []string{"ERROR"}},
		{"AT+CMEE=1\r", []string{"OK"}},
		{"AT+CNMI=2,1,0,2,0\r", []string{"OK"}},
		{"AT+CPMS?\r", []string{`+CPMS: "SM",0,2,"SM",0,2,"SM",0,2`, "OK"}},
		{"AT+CMGR=1\r", []string{"+CMS ERROR: 321"}},
		{"AT+NOPE\r", []string{"ERROR"}},
	}
	for _, st := range steps {
		if got := c.send(st.in); strings.Join(got, "|") != strings.Join(st.want, "|") {
			t.Errorf("%q answered %q, want %q", st.in, got, st.want)
		}
	}
}

func TestModem_StorageAndNetworkQueue(t *testing.T) {
	s := New(Options{Capacity: 2})
	c := dial(t, s)
	c.send("AT+CMEE=1\r")
	c.send("AT+CNMI=2,1,0,2,0\r")
	for _, text := range []string{"satu", "dua", "tiga"} {
		if err := s.DeliverText("+6281234567890", text); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{`+CMTI: "SM",1`, `+CMTI: "SM",2`} {
		if got := c.next(); got != want {
			t.Errorf("unsolicited %q, want %q", got, want)
		}
	}
	if s.Stored() != 2 || s.Pending() != 1 {
		t.Fatalf("stored %d pending %d, want 2 and 1", s.Stored(), s.Pending())
	}
	got := c.send("AT+CMGL=4\r")
	var headers []string
	for _, l := range got {
		if strings.HasPrefix(l, "+CMGL:") {
			headers = append(headers, l)
		}
	}
	if len(headers) != 2 || !strings.HasPrefix(headers[0], "+CMGL: 1,0,,") {
		t.Fatalf("listing %q", got)
	}
	s.FailNextDelete()
	if got := c.send("AT+CMGD=1\r"); got[len(got)-1] != "+CMS ERROR: 500" {
		t.Errorf("failed delete answered %q", got)
	}
	got = c.send("AT+CMGD=1\r")
	if got[len(got)-1] != "OK" || s.Stored() != 2 || s.Pending() != 0 {
		t.Errorf("delete answered %q, stored %d pending %d; want the queued message moved in", got, s.Stored(), s.Pending())
	}
}

func TestModem_SendAndStatusReport(t *testing.T) {
	s := New(Options{})
	c := dial(t, s)
	c.send("AT+CMEE=1\r")
	c.send("AT+CNMI=2,1,0,2,0\r")
	var tp tpdu.TPDU
	if err := tp.SetSmsType(tpdu.SmsSubmit); err != nil {
		t.Fatal(err)
	}
	tp.DA = tpdu.NewAddress(tpdu.FromNumber("+6281234567890"))
	tp.FirstOctet |= tpdu.FoSRR
	tps, err := sms.NewEncoder(sms.WithTemplate(tp)).Encode([]byte("Aduan diterima 🙏"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tps[0].MarshalBinary()
	if got := c.send("AT+CMGS=" + strconv.Itoa(len(b)) + "\r"); got[len(got)-1] != ">" {
		t.Fatalf("no prompt: %q", got)
	}
	got := c.send("00" + strings.ToUpper(hex.EncodeToString(b)) + "\x1a")
	if strings.Join(got, "|") != "+CMGS: 1|OK" {
		t.Fatalf("send answered %q", got)
	}
	hdr, pdu := c.next(), c.next()
	if !strings.HasPrefix(hdr, "+CDS: ") {
		t.Fatalf("no status report, got %q", hdr)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(pdu))
	if err != nil {
		t.Fatalf("report PDU %q: %v", pdu, err)
	}
	rep, err := sms.Unmarshal(raw[smscLen(raw):])
	if err != nil || rep.MR != 1 || rep.ST != 0 {
		t.Errorf("report %+v (%v), want MR 1 status 0", rep, err)
	}
	sent := s.Sent()
	if len(sent) != 1 || sent[0].Text != "Aduan diterima 🙏" || sent[0].To != "+6281234567890" || !sent[0].UCS2 {
		t.Errorf("sent %+v", sent)
	}
}

func TestModem_PIN(t *testing.T) {
	s := New(Options{PIN: "1234"})
	c := dial(t, s)
	c.send("AT+CMEE=1\r")
	steps := []struct{ in, last string }{
		{"AT+CPIN?\r", "OK"},
		{"AT+CMGL=4\r", "+CME ERROR: 11"},
		{"AT+CPIN=1111\r", "+CME ERROR: 16"},
		{"AT+CPINR\r", "OK"},
		{"AT+CPIN=1234\r", "OK"},
		{"AT+CMGL=4\r", "OK"},
	}
	for _, st := range steps {
		if got := c.send(st.in); got[len(got)-1] != st.last {
			t.Errorf("%q answered %q, want %q last", st.in, got, st.last)
		}
	}
	if s.Count("+CPIN=") != 2 {
		t.Errorf("counted %d +CPIN=, want 2", s.Count("+CPIN="))
	}
}

func TestModem_EncodeDeliverConcatenated(t *testing.T) {
	s := New(Options{})
	text := strings.Repeat("Sampah di Jalan Kawi belum diangkut 🚮 ", 6)
	pdus, err := s.EncodeDeliver("+6281234567890", text, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var segs []*tpdu.TPDU
	for _, p := range pdus {
		tp, err := sms.Unmarshal(p[smscLen(p):])
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, tp)
	}
	got, err := sms.Decode(segs)
	if err != nil || string(got) != text || len(pdus) < 2 {
		t.Errorf("decoded %d parts to %q (%v)", len(pdus), got, err)
	}
}

func FuzzServe(f *testing.F) {
	f.Add([]byte("ATE1\rAT+CMGL=4\rAT+CMGS=10\r0011\x1aAT+CMGD=1,4\r"))
	f.Add([]byte("AT+CPIN=\"0000\"\r\x1bAT+CNMI=9,9,9,9,9,9\rAT+CUSD=1\r"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s := New(Options{Capacity: 3, Noise: true})
		_ = s.DeliverText("+6281234567890", "halo")
		rw := struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), io.Discard}
		if err := s.Serve(rw); err != nil {
			t.Fatal(err)
		}
	})
}

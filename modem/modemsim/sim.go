// Package modemsim is a simulated GSM modem that speaks the AT command set
// sambatd uses: echo, SIM storage with a capacity, +CMTI, +CMGL/+CMGR/+CMGD,
// +CMGS with status reports, USSD, noise lines and injectable faults. It runs
// on any io.ReadWriter (net.Pipe for in-process tests and the demo) or on a
// real pseudo-terminal (ServePTY) that outlives the processes that open it.
package modemsim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warthog618/sms/encoding/tpdu"
)

// Options configures a simulated modem. The zero value is a plain modem with
// a 30-slot SIM, echo off, no PIN and no noise.
type Options struct {
	Capacity     int               // SIM message slots (default 30)
	ZeroBased    bool              // storage indexes start at 0 instead of 1
	Echo         bool              // echo on at power-up (ATZ restores it)
	Noise        bool              // emit Huawei-style ^RSSI/^BOOT lines at random
	SMSC         string            // service centre (default "+6281100000")
	Number       string            // own number (default "+6281200000000")
	Operator     string            // default "TELKOMSEL"
	Manufacturer string            // default "SambatSim"
	Model        string            // default "E173-SIM"
	PIN          string            // SIM PIN required at power-up when set
	PINTries     int               // PIN attempts left at power-up (default 3)
	Refuse       []string          // command prefixes answered with ERROR, e.g. "+CSMS", "+CNMI=2,1,0,2,0"
	Signal       int               // +CSQ rssi 0..31 (default 20)
	Registration int               // +CREG stat (default 1, home)
	USSD         map[string]string // USSD code -> reply (default *888# answers a balance)
	Shuffle      bool              // DeliverText stores the parts of long texts out of order
	Seed         int64             // seed for noise and shuffling
}

// Modem is one simulated modem with its SIM. The SIM outlives connections:
// Serve may be called again after a connection ends, as after a replug.
type Modem struct {
	opts Options

	mu        sync.Mutex
	slots     [][]byte // full PDUs (SMSC prefix + TPDU); nil = free
	read      []bool   // slot was listed or read
	pending   [][]byte // network queue while the SIM is full
	echo      bool
	cmee      int
	cnmi      [5]int
	pinOK     bool
	pinTries  int
	noAnswer  bool
	failDel   int
	cmsOnSend []int
	staleOK   []string // command prefixes whose answer a stray OK precedes
	noise     bool
	rnd       *rand.Rand
	mr        int
	ref       int
	report    byte
	sent      []sentPart
	cmds      []string
	cur       *conn
	ptys      []*ptyDev
	closed    bool
}

// conn is one attached connection: replies go to the conn that asked,
// unsolicited lines to the newest attached conn. Output goes through a
// queue, like a UART's transmit buffer, so the modem never waits for its
// client: with a synchronous pipe, waiting would deadlock against a client
// that is itself busy writing.
type conn struct {
	w       io.Writer
	closer  io.Closer
	out     chan []byte
	done    chan struct{}
	once    sync.Once
	stalled atomic.Bool // a write timed out: drop output until the client speaks
	pdu     int         // >0 while waiting for a PDU of that TPDU length after +CMGS
}

func newConn(w io.Writer, closer io.Closer) *conn {
	c := &conn{w: w, closer: closer, out: make(chan []byte, 1024), done: make(chan struct{})}
	go c.writeLoop()
	return c
}

func (c *conn) writeLoop() {
	for {
		select {
		case <-c.done:
			return
		case b := <-c.out:
			if c.stalled.Load() {
				continue
			}
			if d, ok := c.w.(interface{ SetWriteDeadline(time.Time) error }); ok {
				_ = d.SetWriteDeadline(time.Now().Add(time.Second))
			}
			if _, err := c.w.Write(b); err != nil {
				c.stalled.Store(true)
			}
		}
	}
}

func (c *conn) stop() { c.once.Do(func() { close(c.done) }) }

// ErrClosed is returned by Serve and the delivery helpers after Close.
var ErrClosed = errors.New("modemsim: closed")

// New builds a simulated modem. Nothing runs until Serve or ServePTY.
func New(o Options) *Modem {
	if o.Capacity <= 0 {
		o.Capacity = 30
	}
	if o.SMSC == "" {
		o.SMSC = "+6281100000"
	}
	if o.Number == "" {
		o.Number = "+6281200000000"
	}
	if o.Operator == "" {
		o.Operator = "TELKOMSEL"
	}
	if o.Manufacturer == "" {
		o.Manufacturer = "SambatSim"
	}
	if o.Model == "" {
		o.Model = "E173-SIM"
	}
	if o.PINTries == 0 {
		o.PINTries = 3
	}
	if o.Signal == 0 {
		o.Signal = 20
	}
	if o.Registration == 0 {
		o.Registration = 1
	}
	s := &Modem{
		opts:     o,
		slots:    make([][]byte, o.Capacity),
		read:     make([]bool, o.Capacity),
		echo:     o.Echo,
		pinOK:    o.PIN == "",
		pinTries: o.PINTries,
		noise:    o.Noise,
		rnd:      rand.New(rand.NewSource(o.Seed)),
	}
	s.ref = s.rnd.Intn(256)
	return s
}

// Serve runs the AT dialogue on rw until rw fails or closes (io.EOF and a
// closed pipe return nil). If rw is an io.Closer, Unplug closes it.
func (s *Modem) Serve(rw io.ReadWriter) error {
	cl, _ := rw.(io.Closer)
	return s.serveConn(newConn(rw, cl), rw)
}

func (s *Modem) serveConn(c *conn, r io.Reader) error {
	if err := s.attach(c); err != nil {
		return err
	}
	defer s.detach(c)
	defer c.stop()
	br := bufio.NewReader(r)
	var line []byte
	for {
		b, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, os.ErrClosed) || s.isClosed() {
				return nil
			}
			return fmt.Errorf("modemsim: read: %w", err)
		}
		c.stalled.Store(false)
		line = s.feed(c, line, b)
	}
}

// feed consumes one input byte: command characters until CR, or PDU
// characters until Ctrl-Z after a +CMGS prompt. ESC cancels either.
func (s *Modem) feed(c *conn, line []byte, b byte) []byte {
	switch {
	case b == 0x1b:
		c.pdu = 0
		return line[:0]
	case c.pdu > 0 && b == 0x1a:
		n := c.pdu
		c.pdu = 0
		s.submit(c, string(line), n)
		return line[:0]
	case c.pdu > 0:
		if b == '\r' || b == '\n' {
			return line
		}
	case b == '\r':
		s.command(c, string(line))
		return line[:0]
	case b == '\n':
		return line
	}
	if len(line) >= 4096 {
		return line
	}
	return append(line, b)
}

func (s *Modem) attach(c *conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.cur = c
	return nil
}

func (s *Modem) detach(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == c {
		s.cur = nil
	}
}

func (s *Modem) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// write queues raw bytes for c. A reader that stopped reading (a pty
// nobody has open) makes the write time out; the bytes are dropped, as a
// real modem's UART would drop them, and so is all output until the next
// client sends something. A full queue drops too.
func (s *Modem) write(c *conn, b []byte) {
	if c == nil || len(b) == 0 {
		return
	}
	select {
	case c.out <- b:
	case <-c.done:
	default:
	}
}

// InjectLine sends an unsolicited line, e.g. a stray "OK" that the client
// will take for the answer to its next command, or a noise line.
func (s *Modem) InjectLine(line string) {
	s.urc([]string{line})
}

// urc sends unsolicited lines to the newest connection, if any.
func (s *Modem) urc(lines []string) {
	if len(lines) == 0 {
		return
	}
	s.mu.Lock()
	c := s.cur
	s.mu.Unlock()
	s.write(c, []byte("\r\n"+strings.Join(lines, "\r\n")+"\r\n"))
}

// Close stops every connection and pseudo-terminal and refuses new ones.
func (s *Modem) Close() error {
	s.mu.Lock()
	s.closed = true
	c := s.cur
	s.cur = nil
	ptys := s.ptys
	s.ptys = nil
	s.mu.Unlock()
	var first error
	if c != nil && c.closer != nil {
		first = c.closer.Close()
	}
	for _, p := range ptys {
		if err := p.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Unplug closes the current connection as if the USB cable were pulled.
// With a pseudo-terminal the device node disappears; call ServePTY again
// to plug a new one in. The SIM keeps its messages.
func (s *Modem) Unplug() {
	s.mu.Lock()
	c := s.cur
	s.cur = nil
	var keep []*ptyDev
	var gone []*ptyDev
	for _, p := range s.ptys {
		if p.conn == c {
			gone = append(gone, p)
		} else {
			keep = append(keep, p)
		}
	}
	s.ptys = keep
	s.mu.Unlock()
	for _, p := range gone {
		_ = p.close()
	}
	if len(gone) == 0 && c != nil && c.closer != nil {
		_ = c.closer.Close()
	}
}

// NoAnswer makes the modem swallow every command without a reply (on) or
// answer again (off).
func (s *Modem) NoAnswer(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noAnswer = on
}

// FailNextDelete makes the next +CMGD answer +CMS ERROR: 500 and keep the message.
func (s *Modem) FailNextDelete() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failDel++
}

// CMSErrorOnNextSend makes the next +CMGS answer +CMS ERROR: code.
func (s *Modem) CMSErrorOnNextSend(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmsOnSend = append(s.cmsOnSend, code)
}

// StaleOKBefore makes the answer to the next command starting with prefix
// begin with an extra "OK", as when the answer to a command that timed
// out arrives late: the client takes it for the end of this command, and
// every answer after it is one behind until the client resynchronises.
func (s *Modem) StaleOKBefore(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.staleOK = append(s.staleOK, prefix)
}

// Noise turns the random ^RSSI/^BOOT lines on or off.
func (s *Modem) Noise(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noise = on
}

// SetReportStatus sets the TP-ST of the status reports that follow sends
// (0 delivered, 0x40.. permanent failure).
func (s *Modem) SetReportStatus(st byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.report = st
}

// SetSignal changes the +CSQ rssi and the +CREG stat.
func (s *Modem) SetSignal(rssi, registration int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Signal = rssi
	s.opts.Registration = registration
}

// SetUSSD sets the reply to a USSD code.
func (s *Modem) SetUSSD(code, reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.USSD == nil {
		s.opts.USSD = map[string]string{}
	}
	s.opts.USSD[code] = reply
}

// Stored returns how many SIM slots are in use (messages and status reports).
func (s *Modem) Stored() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used()
}

// Pending returns how many messages wait in the network because the SIM is full.
func (s *Modem) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// PINTries returns the PIN attempts the SIM has left.
func (s *Modem) PINTries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pinTries
}

// Count returns how many commands seen so far start with prefix (without
// "AT"), e.g. Count("+CPIN=") or Count("+CMGD").
func (s *Modem) Count(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.cmds {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// Commands returns every command seen so far (without "AT"), oldest first.
func (s *Modem) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

func (s *Modem) used() int {
	n := 0
	for _, p := range s.slots {
		if p != nil {
			n++
		}
	}
	return n
}

// Deliver stores a PDU (hex-decoded, with SMSC prefix) on the SIM as the
// network would and announces it with +CMTI. When the SIM is full the PDU
// waits in the network and is stored as soon as a slot frees.
func (s *Modem) Deliver(pdu []byte) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	var out []string
	if len(s.pending) > 0 || !s.store(pdu, "+CMTI", &out) {
		s.pending = append(s.pending, append([]byte(nil), pdu...))
	}
	s.mu.Unlock()
	s.urc(out)
	return nil
}

// store puts pdu in the first free slot and adds the indication (+CMTI or
// +CDSI) to out when new-message indications are on. Callers hold mu.
func (s *Modem) store(pdu []byte, ind string, out *[]string) bool {
	for i, p := range s.slots {
		if p != nil {
			continue
		}
		s.slots[i] = append([]byte(nil), pdu...)
		s.read[i] = false
		on := s.cnmi[1] > 0
		if ind == "+CDSI" {
			on = s.cnmi[3] > 0
		}
		if on {
			*out = append(*out, fmt.Sprintf("%s: \"SM\",%d", ind, s.index(i)))
		}
		return true
	}
	return false
}

// refill moves messages waiting in the network onto freed slots.
func (s *Modem) refill(out *[]string) {
	for len(s.pending) > 0 && s.store(s.pending[0], "+CMTI", out) {
		s.pending = s.pending[1:]
	}
}

func (s *Modem) index(slot int) int {
	if s.opts.ZeroBased {
		return slot
	}
	return slot + 1
}

func (s *Modem) slot(index int) (int, bool) {
	if !s.opts.ZeroBased {
		index--
	}
	return index, index >= 0 && index < len(s.slots)
}

// noiseLine returns a random Huawei unsolicited line, or "" (callers hold mu).
func (s *Modem) noiseLine() string {
	if !s.noise || s.rnd.Intn(3) != 0 {
		return ""
	}
	lines := []string{
		fmt.Sprintf("^RSSI:%d", s.rnd.Intn(32)),
		"^BOOT:20952309,0,0,0,72",
		"^MODE:5,4",
		"^DSFLOWRPT:0000001E,00000000,00000000,0000000000000000,0000000000000000,0003E800,0003E800",
	}
	return lines[s.rnd.Intn(len(lines))]
}

// sentPart is one PDU received with +CMGS and the MR it was given.
type sentPart struct {
	t  *tpdu.TPDU
	mr int
}

package modem

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// InfoReport is what `sambatd modem info` prints about a modem.
type InfoReport struct {
	Port         string
	Manufacturer string
	Model        string
	Revision     string
	SIM          string // +CPIN state: READY, SIM PIN…
	SignalRSSI   int    // 0-31, 99 unknown, -1 not read
	Registration string
	Operator     string
	SMSC         string
	StorageUsed  int
	StorageTotal int
}

// String formats the report one field a line.
func (r InfoReport) String() string {
	var b strings.Builder
	signal := "unknown"
	if r.SignalRSSI >= 0 && r.SignalRSSI != 99 {
		signal = fmt.Sprintf("%d (%d dBm)", r.SignalRSSI, -113+2*r.SignalRSSI)
	}
	storage := "unknown"
	if r.StorageTotal > 0 {
		storage = fmt.Sprintf("%d of %d used", r.StorageUsed, r.StorageTotal)
	}
	for _, kv := range [][2]string{
		{"port", r.Port}, {"manufacturer", r.Manufacturer}, {"model", r.Model}, {"revision", r.Revision},
		{"sim", r.SIM}, {"signal", signal}, {"registration", r.Registration}, {"operator", r.Operator},
		{"smsc", r.SMSC}, {"storage", storage},
	} {
		v := kv[1]
		if v == "" {
			v = "unknown"
		}
		fmt.Fprintf(&b, "%-13s %s\n", kv[0]+":", v)
	}
	return b.String()
}

// Info opens a port, reads what the modem says about itself and closes it.
// It changes nothing on the modem and never enters a PIN. open is optional
// (go.bug.st/serial by default); port "sim" asks a fresh simulator.
func Info(ctx context.Context, port string, baud int, open ...func(ctx context.Context, port string, baud int) (io.ReadWriteCloser, error)) (InfoReport, error) {
	m := New(Config{Name: "info", Port: port, Baud: baud}, Deps{})
	if len(open) > 0 && open[0] != nil {
		m.d.Open = open[0]
	}
	defer func() {
		if m.sim != nil {
			_ = m.sim.Close()
		}
	}()
	m.t.cmd, m.t.settle = 5*time.Second, 500*time.Millisecond
	rw, err := m.d.Open(ctx, port, m.cfg.Baud)
	if err != nil {
		return InfoReport{}, fmt.Errorf("open %s: %w", port, err)
	}
	defer rw.Close()
	s := newSession(m, rw)
	defer close(s.done)
	s.at.Escape()
	for _, c := range []string{"E0", "+CMEE=1"} {
		if err := s.optional(c); err != nil {
			return InfoReport{Port: port}, fmt.Errorf("modem info: %w", err)
		}
	}
	return s.info(port)
}

func (s *session) info(port string) (InfoReport, error) {
	r := InfoReport{Port: port, SignalRSSI: -1}
	first := func(cmd string) string {
		info, _ := s.command(cmd, s.m.t.cmd)
		for _, l := range info {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "^") && !strings.HasPrefix(l, "+") {
				return l
			}
		}
		return ""
	}
	r.Manufacturer, r.Model, r.Revision = first("+CGMI"), first("+CGMM"), first("+CGMR")
	if s.closed() {
		return r, fmt.Errorf("modem info: %w", intake.ErrChannelDown)
	}
	if v, err := s.query("+CPIN?", "+CPIN:"); err == nil {
		r.SIM = strings.Trim(v, `"`)
	}
	r.SignalRSSI, _ = s.queryInt("+CSQ", "+CSQ:", 0)
	if reg, err := s.queryInt("+CREG?", "+CREG:", 1); err == nil {
		r.Registration = registrations[reg]
	}
	if v, err := s.query("+COPS?", "+COPS:"); err == nil {
		r.Operator = quotedField(v, 2)
	}
	if v, err := s.query("+CSCA?", "+CSCA:"); err == nil {
		r.SMSC = quotedField(v, 0)
	}
	r.StorageUsed, r.StorageTotal, _ = s.readStorage()
	return r, nil
}

package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/warthog618/modem/at"
)

// session is one open connection to the modem. Only its serve goroutine
// issues commands, so reception, sends and polls never interleave.
type session struct {
	m    *Modem
	at   *at.AT
	kick chan struct{} // a sweep is due (+CMTI, +CDSI)
	cds  chan string   // status report PDUs routed with +CDS
	ussd chan string   // +CUSD answers
	done chan struct{} // closed when the session ends
	cnmi string        // the +CNMI setting the modem accepted
}

// errUnresponsive means the modem stopped answering: the session ends and
// the port is reopened.
var errUnresponsive = errors.New("modem does not answer")

func newSession(m *Modem, port io.ReadWriter) *session {
	s := &session{
		m:    m,
		kick: make(chan struct{}, 1),
		cds:  make(chan string, 64),
		ussd: make(chan string, 4),
		done: make(chan struct{}),
	}
	s.at = at.New(port, at.WithTimeout(m.t.cmd),
		at.WithIndication("+CMTI:", s.onNew),
		at.WithIndication("+CDSI:", s.onNew),
		at.WithIndication("+CDS:", s.onReport, at.WithTrailingLine),
		at.WithIndication("+CUSD:", s.onUSSD),
	)
	return s
}

// Indication handlers run on goroutines of the at package: they only signal.
func (s *session) onNew([]string) { s.wake() }

func (s *session) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *session) onReport(lines []string) {
	if len(lines) < 2 {
		return
	}
	select {
	case s.cds <- lines[1]:
	default:
		s.m.logRepeat("cds", "status report dropped: queue full")
	}
}

func (s *session) onUSSD(lines []string) {
	select {
	case s.ussd <- lines[0]:
	default:
	}
}

func (s *session) closed() bool {
	select {
	case <-s.at.Closed():
		return true
	default:
		return false
	}
}

// command runs one AT command. After a timeout the late answer would be
// taken for the next command's, so the dialogue is resynchronised first;
// a modem that can't be resynchronised ends the session.
func (s *session) command(cmd string, timeout time.Duration) ([]string, error) {
	info, err := s.at.Command(cmd, at.WithTimeout(timeout))
	return info, s.check(logName(cmd), err)
}

// logName hides the PIN in errors about +CPIN=.
func logName(cmd string) string {
	if strings.HasPrefix(strings.ToUpper(cmd), "+CPIN=") {
		return "AT+CPIN=****"
	}
	return "AT" + cmd
}

func (s *session) check(name string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, at.ErrDeadlineExceeded) {
		if rerr := s.resync(); rerr != nil {
			return fmt.Errorf("%s: %w (%w)", name, err, rerr)
		}
	}
	return fmt.Errorf("%s: %w", name, err)
}

// fatal reports whether err ends the session.
func fatal(err error) bool {
	return errors.Is(err, at.ErrClosed) || errors.Is(err, errUnresponsive) || errors.Is(err, errStop)
}

// resync waits for the modem to go quiet (lines that arrive while no
// command is pending are discarded by the at package), cancels a pending
// PDU prompt, and checks that +CPMS? gets its own answer.
func (s *session) resync() error {
	for try := 0; try < 3; try++ {
		select {
		case <-s.at.Closed():
			return at.ErrClosed
		case <-time.After(s.m.t.settle):
		}
		s.at.Escape()
		info, err := s.at.Command("+CPMS?", at.WithTimeout(s.m.t.cmd))
		if err == nil && len(withPrefix(info, "+CPMS:")) > 0 {
			return nil
		}
		if errors.Is(err, at.ErrClosed) {
			return at.ErrClosed
		}
	}
	return errUnresponsive
}

// withPrefix returns the values of the lines that start with prefix: the
// at package lets unsolicited lines (^RSSI, +CMTI…) into a command's result.
func withPrefix(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, strings.TrimSpace(l[len(prefix):]))
		}
	}
	return out
}

// optional runs a command whose refusal the modem may have good reason
// for (+CSMS, +GCAP, ^CURC on non-Huawei modems); only a dead modem fails.
func (s *session) optional(cmd string) error {
	_, err := s.command(cmd, s.m.t.cmd)
	if fatal(err) {
		return err
	}
	if err != nil {
		s.m.logger.Debug("optional command refused", "cmd", logName(cmd), "err", err)
	}
	return nil
}

// init brings the modem to a known state: echo off, numeric errors, SIM
// unlocked, PDU mode, SIM storage, and new-message indications.
func (s *session) init(ctx context.Context) error {
	s.at.Escape()
	for _, c := range []string{"Z", "E0", "+CMEE=1"} {
		if err := s.optional(c); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	if err := s.unlockSIM(ctx); err != nil {
		return err
	}
	if _, err := s.command("+CMGF=0", s.m.t.cmd); err != nil {
		return fmt.Errorf("PDU mode: %w", err)
	}
	for _, c := range []string{"+CSMS=0", "+GCAP", "^CURC=0", "+CREG=0", "+COPS=3,0"} {
		if err := s.optional(c); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	if err := s.storage(); err != nil {
		return err
	}
	return s.indications()
}

// storage selects the SIM for reading, writing and receiving, or keeps the
// modem's default when it refuses.
func (s *session) storage() error {
	for _, c := range []string{`+CPMS="SM","SM","SM"`, `+CPMS="SM"`} {
		_, err := s.command(c, s.m.t.cmd)
		if err == nil || fatal(err) {
			return err
		}
	}
	s.m.logger.Warn("modem refused SIM storage, using its default")
	return nil
}

// cnmiModes are tried in order: store and announce new messages (+CMTI),
// route status reports directly (+CDS) or store them (+CDSI).
var cnmiModes = []string{"2,1,0,2,0", "2,1,0,1,0", "1,1,0,2,0", "1,1,0,1,0", "2,1,0,0,0", "1,1,0,0,0", "2,1", "1,1"}

func (s *session) indications() error {
	for _, mode := range cnmiModes {
		_, err := s.command("+CNMI="+mode, s.m.t.cmd)
		if err == nil {
			s.cnmi = mode
			return nil
		}
		if fatal(err) {
			return err
		}
	}
	s.m.logger.Warn("modem refused every +CNMI setting; relying on the periodic sweep")
	return nil
}

// unlockSIM enters the PIN when the SIM asks for it, never again once it
// was refused (recorded in the state store, so a restart does not retry)
// and never when the SIM shows that an earlier try failed: three wrong
// PINs lock the SIM.
func (s *session) unlockSIM(ctx context.Context) error {
	state, err := s.pinState()
	if err != nil {
		return err
	}
	switch state {
	case "READY":
		return nil
	case "SIM PIN":
	default:
		return s.m.stop(ctx, fmt.Sprintf("SIM needs %q", state))
	}
	if pin := s.m.cfg.PIN; len(pin) < 4 || len(pin) > 8 || strings.Trim(pin, "0123456789") != "" {
		return s.m.stop(ctx, "SIM PIN required but modems[].pin is not 4 to 8 digits")
	}
	refused, err := s.m.pinRefused(ctx)
	if err != nil {
		return err
	}
	if refused {
		return s.m.stop(ctx, "SIM PIN was refused before; not sending it again "+
			"(put the right one in modems[].pin and restart)")
	}
	if left, def, ok := s.pinTries(); ok && left < def {
		return s.m.stop(ctx, fmt.Sprintf("SIM has %d of %d PIN tries left; not risking one", left, def))
	}
	if _, err := s.command("+CPIN="+s.m.cfg.PIN, s.m.t.cmd); err != nil {
		if errors.Is(err, at.ErrClosed) {
			return err
		}
		wrong := wrongPIN(err)
		s.m.markPINRefused(ctx, wrong)
		if !wrong {
			// Maybe a slow or busy SIM: the PIN may even have been
			// taken, so only this run holds back.
			return s.m.stop(ctx, fmt.Sprintf("SIM did not take the PIN (%v); not sending it again "+
				"until a restart (check modems[].pin and the SIM)", err))
		}
		return s.m.stop(ctx, fmt.Sprintf("SIM refused the PIN (%v); it will not be sent again "+
			"(put the right one in modems[].pin and restart)", err))
	}
	return s.waitReady()
}

func (s *session) pinState() (string, error) {
	info, err := s.command("+CPIN?", s.m.t.cmd)
	if err != nil {
		return "", fmt.Errorf("SIM state: %w", err)
	}
	v := withPrefix(info, "+CPIN:")
	if len(v) == 0 {
		return "", errors.New("SIM state: no +CPIN in answer")
	}
	return strings.Trim(v[0], `"`), nil
}

// pinTries reads the PIN retry counter (+CPINR, 3GPP 27.007), which
// survives restarts of the daemon and of the modem.
func (s *session) pinTries() (left, def int, ok bool) {
	info, err := s.command(`+CPINR="SIM PIN"`, s.m.t.cmd)
	if err != nil {
		return 0, 0, false
	}
	for _, v := range withPrefix(info, "+CPINR:") {
		f := strings.Split(v, ",")
		if len(f) < 3 || strings.Trim(f[0], `" `) != "SIM PIN" {
			continue
		}
		l, err1 := strconv.Atoi(strings.TrimSpace(f[1]))
		d, err2 := strconv.Atoi(strings.TrimSpace(f[2]))
		if err1 == nil && err2 == nil {
			return l, d, true
		}
	}
	return 0, 0, false
}

func (s *session) waitReady() error {
	for try := 0; try < 10; try++ {
		if state, err := s.pinState(); err == nil && state == "READY" {
			return nil
		} else if err != nil && fatal(err) {
			return err
		}
		select {
		case <-s.at.Closed():
			return at.ErrClosed
		case <-time.After(s.m.t.pinWait):
		}
	}
	return errors.New("SIM not ready after the PIN")
}

package modem

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/warthog618/modem/at"
)

// job is one PDU to send, handed to the session goroutine.
type job struct {
	tpdu []byte
	msg  *outMsg // the long message it is a part of, nil for a single PDU
	last bool    // the last part of msg
	res  chan jobResult
}

type jobResult struct {
	mr  int
	err error
}

// Send sends one outbox row as one or more PDUs (a long text is
// concatenated under a reference from Deps.NextRef, so references are not
// reused after a restart) and returns the message reference of the last
// part, which its status report will carry.
func (m *Modem) Send(ctx context.Context, o intake.Outgoing) (string, error) {
	to := o.To
	if to == "" {
		to = o.Phone
	}
	if m.session() == nil {
		return "", fmt.Errorf("send via %s: %w", m.channel, intake.ErrChannelDown)
	}
	tps, err := m.encode(ctx, to, o.Text)
	if err != nil {
		return "", err
	}
	var msg *outMsg
	if len(tps) > 1 {
		msg = &outMsg{last: -1}
	}
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	mr := 0
	for i, tp := range tps {
		if err := m.waitInterval(ctx); err != nil {
			return "", err
		}
		j := &job{tpdu: tp, msg: msg, last: i == len(tps)-1, res: make(chan jobResult, 1)}
		mr, err = m.submit(ctx, j)
		m.nextSend = time.Now().Add(m.cfg.SendInterval)
		if err != nil {
			return "", fmt.Errorf("send part %d of %d: %w", i+1, len(tps), err)
		}
	}
	return strconv.Itoa(mr), nil
}

func (m *Modem) encode(ctx context.Context, to, text string) ([][]byte, error) {
	tps, err := encodeSubmit(to, text, 0)
	if errors.Is(err, errBadAddress) {
		return nil, fmt.Errorf("encode: %w: %w", err, intake.ErrPermanent)
	}
	if err != nil || len(tps) == 1 {
		return tps, err
	}
	ref, err := m.nextRef(ctx)
	if err != nil {
		return nil, fmt.Errorf("concatenation reference: %w", err)
	}
	return encodeSubmit(to, text, ref)
}

func (m *Modem) nextRef(ctx context.Context) (int, error) {
	if m.d.NextRef != nil {
		return m.d.NextRef(ctx)
	}
	// No durable counter wired: the clock at least changes between restarts.
	return int(time.Now().UnixNano()/int64(time.Millisecond)) & 0xff, nil
}

// waitInterval keeps modems[].send_interval between two PDUs.
func (m *Modem) waitInterval(ctx context.Context) error {
	d := time.Until(m.nextSend)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (m *Modem) session() *session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}

func (m *Modem) submit(ctx context.Context, j *job) (int, error) {
	s := m.session()
	if s == nil {
		return 0, fmt.Errorf("send via %s: %w", m.channel, intake.ErrChannelDown)
	}
	select {
	case m.jobs <- j:
	case <-s.done:
		return 0, fmt.Errorf("send via %s: %w", m.channel, intake.ErrChannelDown)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case r := <-j.res:
		return r.mr, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// runJob sends one PDU, after a sweep when messages wait on the SIM.
func (s *session) runJob(ctx context.Context, j *job) error {
	select {
	case <-s.kick:
		if err := s.sweep(ctx); fatal(err) {
			j.res <- jobResult{err: fmt.Errorf("%w: %w", intake.ErrChannelDown, err)}
			return err
		}
	default:
	}
	mr, err := s.sendPDU(j.tpdu)
	if err == nil && j.msg != nil {
		// Registered here, before this goroutine can read the part's
		// status report.
		s.m.registerPart(mr, j.msg, j.last)
	}
	j.res <- jobResult{mr: mr, err: err}
	s.m.flushReports(ctx)
	if fatal(err) {
		return err
	}
	return nil
}

func (s *session) sendPDU(tp []byte) (int, error) {
	cmd := fmt.Sprintf("+CMGS=%d", len(tp))
	info, err := s.at.SMSCommand(cmd, pduHex(tp), at.WithTimeout(s.m.t.send))
	var cms at.CMSError
	switch {
	case errors.As(err, &cms):
		code, _ := strconv.Atoi(strings.TrimSpace(string(cms)))
		if permanentCMS(code) {
			return 0, fmt.Errorf("AT%s: %w: %w", cmd, err, intake.ErrPermanent)
		}
		return 0, fmt.Errorf("AT%s: %w", cmd, err)
	case errors.Is(err, at.ErrClosed):
		return 0, fmt.Errorf("AT%s: %w: %w", cmd, err, intake.ErrChannelDown)
	case err != nil:
		return 0, s.check("AT"+cmd, err)
	}
	v := withPrefix(info, "+CMGS:")
	if len(v) == 0 {
		// A late OK ended the command: whether the PDU left is unknown,
		// and the dialogue must be resynchronised before anything else.
		return 0, errors.Join(errors.New("AT"+cmd+": no +CMGS in answer"), s.resync())
	}
	mr, err := strconv.Atoi(strings.TrimSpace(strings.Split(v[0], ",")[0]))
	if err != nil {
		return 0, fmt.Errorf("AT%s: malformed %q", cmd, v[0])
	}
	return mr, nil
}

// permanentCMS reports whether a +CMS ERROR code condemns the message
// itself (bad number, barred, invalid PDU) rather than the moment
// (congestion, no network, SMSC busy). Codes: 3GPP TS 24.011 (0-127),
// TS 23.040 TP-FCS (128-255), TS 27.005 (300-).
func permanentCMS(code int) bool {
	switch code {
	case 1, 8, 10, 21, 28, 29, 30, 50, 69, 95, 96, 97, 98, 99, 111, 303, 304, 305:
		return true
	}
	if code >= 128 && code <= 255 {
		switch code {
		case 0xC0, 0xC2, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xFF: // SC busy, SC failure, SIM, unspecified
			return false
		}
		return true
	}
	return false
}

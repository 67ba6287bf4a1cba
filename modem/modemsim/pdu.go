package modemsim

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// SentSMS is one message the modem sent with +CMGS, with the parts of a
// concatenated message joined.
type SentSMS struct {
	To           string
	Text         string
	Ref          int   // concatenation reference, 0 for a single part
	Parts        int   // number of PDUs
	MRs          []int // message reference of each part, in part order
	Complete     bool  // every part arrived
	UCS2         bool  // sent in UCS-2
	StatusReport bool  // a status report was requested
}

// MR returns the message reference of the last part.
func (m SentSMS) MR() int {
	if len(m.MRs) == 0 {
		return -1
	}
	return m.MRs[len(m.MRs)-1]
}

// submit handles the PDU typed after a +CMGS prompt.
func (s *Modem) submit(c *conn, hexPDU string, n int) {
	s.mu.Lock()
	if s.noAnswer {
		s.mu.Unlock()
		return
	}
	var out strings.Builder
	if s.echo {
		out.WriteString(hexPDU + "\x1a")
	}
	r := s.accept(hexPDU, n)
	s.render(&out, r)
	s.mu.Unlock()
	s.write(c, []byte(out.String()))
	s.urc(r.after)
}

func (s *Modem) accept(hexPDU string, n int) reply {
	raw, err := hex.DecodeString(strings.TrimSpace(hexPDU))
	if err != nil || len(raw) != smscLen(raw)+n {
		return s.cms(304)
	}
	if len(s.cmsOnSend) > 0 {
		code := s.cmsOnSend[0]
		s.cmsOnSend = s.cmsOnSend[1:]
		return s.cms(code)
	}
	t, err := sms.Unmarshal(raw[smscLen(raw):], sms.AsMO)
	if err != nil || t.SmsType() != tpdu.SmsSubmit {
		return s.cms(304)
	}
	s.mr = (s.mr + 1) % 256
	s.sent = append(s.sent, sentPart{t: t, mr: s.mr})
	r := ok(fmt.Sprintf("+CMGS: %d", s.mr))
	if t.FirstOctet.SRR() {
		s.statusReport(t, s.mr, &r.after)
	}
	return r
}

// statusReport routes a report for a sent message as +CNMI's ds asks:
// 2 = +CDS with the PDU, 1 = stored on the SIM and announced with +CDSI.
func (s *Modem) statusReport(t *tpdu.TPDU, mr int, out *[]string) {
	pdu, err := s.reportPDU(t.DA, mr)
	if err != nil {
		return
	}
	switch s.cnmi[3] {
	case 2:
		*out = append(*out, fmt.Sprintf("+CDS: %d", len(pdu)-smscLen(pdu)), strings.ToUpper(hex.EncodeToString(pdu)))
	case 1:
		if !s.store(pdu, "+CDSI", out) {
			s.pending = append(s.pending, pdu)
		}
	}
}

func (s *Modem) reportPDU(ra tpdu.Address, mr int) ([]byte, error) {
	var t tpdu.TPDU
	if err := t.SetSmsType(tpdu.SmsStatusReport); err != nil {
		return nil, err
	}
	now := time.Now().In(time.FixedZone("WIB", 7*3600)).Truncate(time.Second)
	t.MR = byte(mr)
	t.RA = ra
	t.SCTS = tpdu.Timestamp{Time: now}
	t.DT = tpdu.Timestamp{Time: now}
	t.ST = s.report
	b, err := t.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("marshal status report: %w", err)
	}
	return withSMSC(s.opts.SMSC, b)
}

func withSMSC(smsc string, tp []byte) ([]byte, error) {
	p := pdumode.PDU{TPDU: tp}
	p.SMSC.SetNumber(smsc)
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("marshal smsc: %w", err)
	}
	return b, nil
}

// Restamp returns an SMS-DELIVER PDU (SMSC prefix included) with its
// service centre time stamp set to scts, as when the parts of one message
// reach the centre seconds apart, on either side of midnight.
func Restamp(pdu []byte, scts time.Time) ([]byte, error) {
	var p pdumode.PDU
	if err := p.UnmarshalBinary(pdu); err != nil {
		return nil, fmt.Errorf("restamp: %w", err)
	}
	t, err := sms.Unmarshal(p.TPDU)
	if err != nil {
		return nil, fmt.Errorf("restamp: %w", err)
	}
	t.SCTS = tpdu.Timestamp{Time: scts}
	tp, err := t.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("restamp: %w", err)
	}
	p.TPDU = tp
	return p.MarshalBinary()
}

// Sent returns everything the modem sent, oldest first, with concatenated
// messages joined (incomplete ones have Complete false).
func (s *Modem) Sent() []SentSMS {
	s.mu.Lock()
	parts := append([]sentPart(nil), s.sent...)
	s.mu.Unlock()
	type key struct {
		to         string
		ref, total int
	}
	var out []SentSMS
	groups := map[key]int{} // key -> index in out
	segs := map[key][]*tpdu.TPDU{}
	for _, p := range parts {
		total, seq, ref, concat := p.t.ConcatInfo()
		a, _ := p.t.Alphabet()
		if !concat {
			text, _ := sms.Decode([]*tpdu.TPDU{p.t})
			out = append(out, SentSMS{To: p.t.DA.Number(), Text: string(text), Parts: 1, MRs: []int{p.mr},
				Complete: true, UCS2: a == tpdu.AlphaUCS2, StatusReport: p.t.FirstOctet.SRR()})
			continue
		}
		k := key{p.t.DA.Number(), ref, total}
		i, found := groups[k]
		if !found || out[i].Complete {
			out = append(out, SentSMS{To: k.to, Ref: ref, UCS2: a == tpdu.AlphaUCS2, StatusReport: p.t.FirstOctet.SRR()})
			i = len(out) - 1
			groups[k] = i
			segs[k] = make([]*tpdu.TPDU, total)
		}
		if seq >= 1 && seq <= total {
			segs[k][seq-1] = p.t
		}
		out[i].Parts++
		out[i].MRs = append(out[i].MRs, p.mr)
		out[i].Text, out[i].Complete = joinSegments(segs[k])
	}
	return out
}

func joinSegments(segs []*tpdu.TPDU) (string, bool) {
	var have []*tpdu.TPDU
	for _, t := range segs {
		if t != nil {
			have = append(have, t)
		}
	}
	text, err := sms.Decode(have)
	if err != nil {
		return "", false
	}
	return string(text), len(have) == len(segs)
}

// EncodeDeliver builds the SMS-DELIVER PDUs (with this modem's SMSC prefix)
// that the network would store for a text from from, sent at scts: GSM-7
// when the text allows, UCS-2 otherwise, concatenated with the next 8-bit
// reference when it does not fit in one. A from with letters is an
// alphanumeric sender.
func (s *Modem) EncodeDeliver(from, text string, scts time.Time) ([][]byte, error) {
	var t tpdu.TPDU
	if err := t.SetSmsType(tpdu.SmsDeliver); err != nil {
		return nil, err
	}
	t.OA = address(from)
	t.SCTS = tpdu.Timestamp{Time: scts}
	e := sms.NewEncoder(sms.WithTemplate(t))
	s.mu.Lock()
	s.ref = (s.ref + 1) % 256
	e.ConcatRef = fixed(s.ref)
	s.mu.Unlock()
	tps, err := e.Encode([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("encode deliver: %w", err)
	}
	out := make([][]byte, 0, len(tps))
	for _, tp := range tps {
		b, err := tp.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("marshal deliver: %w", err)
		}
		p, err := withSMSC(s.opts.SMSC, b)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

type fixed int

// Count returns the fixed reference.
func (f fixed) Count() int { return int(f) }

func address(from string) tpdu.Address {
	if strings.IndexFunc(from, unicode.IsLetter) >= 0 {
		a := tpdu.Address{Addr: from}
		a.SetTypeOfNumber(tpdu.TonAlphanumeric)
		a.SetNumberingPlan(tpdu.NpUnknown)
		a.TOA |= 0x80
		return a
	}
	if strings.HasPrefix(from, "+") {
		return tpdu.NewAddress(tpdu.FromNumber(from))
	}
	a := tpdu.NewAddress()
	a.SetNumberingPlan(tpdu.NpISDN)
	a.Addr = from
	return a
}

// DeliverText delivers a text from a sender as the network would: one PDU,
// or the parts of a concatenated message (in random order when
// Options.Shuffle is set), each stored on the SIM and announced.
func (s *Modem) DeliverText(from, text string) error {
	now := time.Now().In(time.FixedZone("WIB", 7*3600)).Truncate(time.Second)
	pdus, err := s.EncodeDeliver(from, text, now)
	if err != nil {
		return err
	}
	if s.opts.Shuffle {
		s.mu.Lock()
		s.rnd.Shuffle(len(pdus), func(i, j int) { pdus[i], pdus[j] = pdus[j], pdus[i] })
		s.mu.Unlock()
	}
	for _, p := range pdus {
		if err := s.Deliver(p); err != nil {
			return err
		}
	}
	return nil
}

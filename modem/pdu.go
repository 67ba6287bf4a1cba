package modem

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/kotamalang/sambatd/intake"
	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// pduKind is what a PDU read from the SIM turned out to be.
type pduKind int

const (
	kindGarbage pduKind = iota // could not be decoded: kept verbatim all the same
	kindDeliver                // an SMS-DELIVER: a message from a resident
	kindReport                 // an SMS-STATUS-REPORT for something we sent
)

// inbound is one decoded PDU.
type inbound struct {
	raw  []byte // the PDU as read, SMSC prefix included
	kind pduKind
	err  error  // why a garbage PDU could not be decoded
	note string // for kindGarbage: why it is not a message ("" = undecodable)

	from            string
	text            string
	scts            time.Time
	concat          bool
	ref, seq, total int
	key, group      string
	near            string // the group on the other side of midnight, for a part stamped near it
	mr              int    // status report: the MR of the message it is about
	status          byte
	discharge       time.Time
}

// decodePDU decodes a PDU read from the SIM. It never fails: a PDU that
// can't be decoded comes back as kindGarbage with its reason, to be kept
// verbatim.
func decodePDU(raw []byte) (in inbound) {
	in = inbound{raw: raw, kind: kindGarbage}
	defer func() {
		if r := recover(); r != nil {
			in = inbound{raw: raw, kind: kindGarbage, err: fmt.Errorf("decoder panic: %v", r)}
			in.key = garbageKey(raw)
		}
	}()
	in.key = garbageKey(raw)
	var p pdumode.PDU
	if err := p.UnmarshalBinary(raw); err != nil {
		in.err = fmt.Errorf("smsc address: %w", err)
		return in
	}
	t, err := sms.Unmarshal(p.TPDU)
	if err != nil {
		in.err = fmt.Errorf("tpdu: %w", err)
		return in
	}
	switch t.SmsType() {
	case tpdu.SmsDeliver:
		in.fillDeliver(t, p.TPDU)
	case tpdu.SmsStatusReport:
		in.kind, in.mr, in.status, in.discharge = kindReport, int(t.MR), t.ST, t.DT.Time
		in.from = t.RA.Number()
	default:
		in.err = fmt.Errorf("unexpected %s", t.SmsType())
	}
	return in
}

func (in *inbound) fillDeliver(t *tpdu.TPDU, tp []byte) {
	in.kind = kindDeliver
	in.from = t.OA.Number()
	in.scts = t.SCTS.Time
	in.text = decodeText(t)
	in.total, in.seq, in.ref, in.concat = t.ConcatInfo()
	if in.concat && (in.total < 1 || in.seq < 1 || in.seq > in.total) {
		in.concat = false // a broken header: treat it as a message of its own
	}
	sum := sha256.Sum256(tp)
	part := "-"
	if in.concat {
		part = fmt.Sprintf("%d/%d/%d", in.ref, in.seq, in.total)
	}
	in.key = fmt.Sprintf("%s|%s|%s|%x", in.from, in.scts.Format("20060102150405-0700"), part, sum[:8])
	// The date keeps a reference a phone reuses months later apart from
	// this message; the parts of one message reach the centre seconds apart.
	in.group = in.groupOn(in.scts)
	if in.concat {
		in.near = in.groupNear()
	}
}

// nearMidnight is how close to midnight a part's time stamp must be for
// its message to be looked for on the other side as well.
const nearMidnight = 15 * time.Minute

// groupOn is the group key of this message's parts stamped on day's date.
func (in *inbound) groupOn(day time.Time) string {
	return fmt.Sprintf("%s|%s|%d|%d", in.from, day.Format("20060102-0700"), in.ref, in.total)
}

// groupNear is the group the other parts have when they were stamped on
// the other side of midnight ("" when this part is not near midnight).
func (in *inbound) groupNear() string {
	h, m, s := in.scts.Clock()
	since := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	switch {
	case since < nearMidnight:
		return in.groupOn(in.scts.AddDate(0, 0, -1))
	case since >= 24*time.Hour-nearMidnight:
		return in.groupOn(in.scts.AddDate(0, 0, 1))
	}
	return ""
}

func garbageKey(raw []byte) string {
	sum := sha256.Sum256(raw)
	return fmt.Sprintf("raw|%x", sum[:16])
}

// decodeText decodes the user data of one PDU into valid UTF-8. UCS-2 is
// decoded leniently, so half a surrogate pair (a part boundary in the
// middle of an emoji, from encoders that split them) becomes U+FFFD
// instead of losing the whole text.
func decodeText(t *tpdu.TPDU) string {
	if a, _ := t.Alphabet(); a == tpdu.AlphaUCS2 {
		ud := t.UD
		u := make([]uint16, 0, len(ud)/2)
		for i := 0; i+1 < len(ud); i += 2 {
			u = append(u, uint16(ud[i])<<8|uint16(ud[i+1]))
		}
		return string(utf16.Decode(u))
	}
	b, err := sms.Decode([]*tpdu.TPDU{t})
	if err != nil && len(b) == 0 {
		return ""
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

// deliveryStatus maps TP-ST to an outbox delivery state; final is false
// while the centre is still trying (temporary errors 0x20-0x3F).
func deliveryStatus(st byte) (status string, final bool) {
	switch {
	case st < 0x20:
		return intake.OutDelivered, true
	case st < 0x40:
		return "", false
	default:
		return intake.OutFailed, true
	}
}

// errBadAddress means a recipient can't be addressed by SMS at all.
var errBadAddress = errors.New("not a phone number")

// encodeSubmit builds the SMS-SUBMIT TPDUs for text to a number: GSM-7 when
// the text allows, UCS-2 otherwise, concatenated under the 8-bit reference
// ref when it does not fit in one, each asking for a status report.
func encodeSubmit(to, text string, ref int) ([][]byte, error) {
	da, err := recipient(to)
	if err != nil {
		return nil, err
	}
	var t tpdu.TPDU
	if err := t.SetSmsType(tpdu.SmsSubmit); err != nil {
		return nil, fmt.Errorf("submit template: %w", err)
	}
	t.DA = da
	t.FirstOctet |= tpdu.FoSRR
	e := sms.NewEncoder(sms.WithTemplate(t))
	e.ConcatRef = fixedRef(ref & 0xff)
	tps, err := e.Encode([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	out := make([][]byte, 0, len(tps))
	for _, tp := range tps {
		b, err := tp.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("marshal: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// fixedRef is a tpdu.Counter that always gives the reference it holds
// (sms.Encode would always use 1).
type fixedRef int

// Count returns the fixed reference.
func (f fixedRef) Count() int { return int(f) }

// recipient parses "+62…" (international) or a national/short number.
func recipient(to string) (tpdu.Address, error) {
	digits := strings.TrimPrefix(to, "+")
	if len(digits) < 3 || len(digits) > 20 || strings.Trim(digits, "0123456789") != "" {
		return tpdu.Address{}, fmt.Errorf("recipient %q: %w", intake.MaskPhone(to), errBadAddress)
	}
	if strings.HasPrefix(to, "+") {
		return tpdu.NewAddress(tpdu.FromNumber(to)), nil
	}
	a := tpdu.NewAddress()
	a.SetNumberingPlan(tpdu.NpISDN)
	a.Addr = digits
	return a, nil
}

// pduHex is the hex form +CMGS takes: "00" (the modem's own SMSC) + TPDU.
func pduHex(tp []byte) string {
	return "00" + strings.ToUpper(hex.EncodeToString(tp))
}

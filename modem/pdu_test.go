package modem

import (
	"bufio"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/kotamalang/sambatd/modem/modemsim"
	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/tpdu"
)

// vector is one line of testdata/pdu-vectors.tsv: PDUs made by other
// people's encoders (oFono, ModemManager, python-gsmmodem, a Huawei capture).
type vector struct {
	source, pdu, from, text, note string
}

func readVectors(t *testing.T) []vector {
	t.Helper()
	f, err := os.Open("testdata/pdu-vectors.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) < 4 {
			t.Fatalf("malformed vector line %q", line)
		}
		v := vector{source: c[0], pdu: c[1], from: c[2], text: c[3]}
		if len(c) > 4 {
			v.note = c[4]
		}
		vs = append(vs, v)
	}
	if len(vs) < 7 {
		t.Fatalf("only %d vectors read", len(vs))
	}
	return vs
}

func TestDecodePDU_PublicVectors(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.source+"/"+v.from, func(t *testing.T) {
			raw, err := hex.DecodeString(v.pdu)
			if err != nil {
				t.Fatal(err)
			}
			in := decodePDU(raw)
			if in.kind != kindDeliver {
				t.Fatalf("kind %v, err %v; want a deliver", in.kind, in.err)
			}
			if in.from != v.from {
				t.Errorf("from %q, want %q", in.from, v.from)
			}
			if in.text != v.text {
				t.Errorf("text %q, want %q", in.text, v.text)
			}
			if strings.Contains(v.note, "part 1 of 2") && (!in.concat || in.seq != 1 || in.total != 2 || in.ref != 16) {
				t.Errorf("concat %v seq %d total %d ref %d, want part 1 of 2 ref 16", in.concat, in.seq, in.total, in.ref)
			}
			if string(in.raw) != string(raw) {
				t.Error("raw PDU not kept verbatim")
			}
		})
	}
}

func TestDecodePDU_StatusReport(t *testing.T) {
	raw, _ := hex.DecodeString("0006D60B911326880736F4111011719551401110117195714000")
	in := decodePDU(raw)
	if in.kind != kindReport {
		t.Fatalf("kind %v (%v), want report", in.kind, in.err)
	}
	if in.mr != 214 || in.status != 0 {
		t.Errorf("mr %d status %d, want 214 and 0", in.mr, in.status)
	}
	if st, final := deliveryStatus(in.status); st != "delivered" || !final {
		t.Errorf("status %q final %v, want delivered", st, final)
	}
}

func TestDeliveryStatus(t *testing.T) {
	tests := []struct {
		st    byte
		want  string
		final bool
	}{
		{0x00, "delivered", true}, {0x02, "delivered", true}, {0x20, "", false},
		{0x30, "", false}, {0x41, "failed", true}, {0x60, "failed", true},
	}
	for _, tt := range tests {
		got, final := deliveryStatus(tt.st)
		if got != tt.want || final != tt.final {
			t.Errorf("deliveryStatus(%#x) = %q, %v; want %q, %v", tt.st, got, final, tt.want, tt.final)
		}
	}
}

func TestDecodePDU_Keys(t *testing.T) {
	a := deliverPDU(t, "+6281234567890", "Jalan rusak", time.Date(2025, 3, 1, 10, 0, 0, 0, wib))
	b := deliverPDU(t, "+6281234567890", "Jalan rusak!", time.Date(2025, 3, 1, 10, 0, 0, 0, wib))
	ka, kb := decodePDU(a).key, decodePDU(b).key
	if ka == kb {
		t.Errorf("different texts share key %q", ka)
	}
	if again := decodePDU(append([]byte(nil), a...)).key; again != ka {
		t.Errorf("same PDU gave keys %q and %q", ka, again)
	}
	if !strings.HasPrefix(ka, "+6281234567890|20250301100000+0700|-|") {
		t.Errorf("key %q lacks originator, SCTS or part", ka)
	}
	g := decodePDU([]byte{0x00, 0xff, 0x01})
	if g.kind != kindGarbage || g.err == nil || !strings.HasPrefix(g.key, "raw|") {
		t.Errorf("garbage decoded as %+v", g)
	}
}

var wib = time.FixedZone("WIB", 7*3600)

// deliverPDU encodes an SMS-DELIVER with an empty SMSC prefix.
func deliverPDU(t *testing.T, from, text string, scts time.Time) []byte {
	t.Helper()
	var tp tpdu.TPDU
	if err := tp.SetSmsType(tpdu.SmsDeliver); err != nil {
		t.Fatal(err)
	}
	tp.OA = tpdu.NewAddress(tpdu.FromNumber(from))
	tp.SCTS = tpdu.Timestamp{Time: scts}
	tps, err := sms.NewEncoder(sms.WithTemplate(tp)).Encode([]byte(text))
	if err != nil || len(tps) != 1 {
		t.Fatalf("encode: %v (%d parts)", err, len(tps))
	}
	b, err := tps[0].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{0}, b...)
}

func TestEncodeSubmit(t *testing.T) {
	long := strings.Repeat("Laporan diterima, terima kasih 🙏 ", 5)
	tests := []struct {
		name, to, text string
		parts          int
		ucs2           bool
	}{
		{"GSM7", "+6281234567890", "Aduan 2500013 diterima.", 1, false},
		{"UCS2", "+6281234567890", "Terima kasih 🙏", 1, true},
		{"LongUCS2", "+6281234567890", long, 3, true},
		{"National", "081234567890", "ok", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tps, err := encodeSubmit(tt.to, tt.text, 300)
			if err != nil {
				t.Fatal(err)
			}
			if len(tps) != tt.parts {
				t.Fatalf("%d parts, want %d", len(tps), tt.parts)
			}
			var segs []*tpdu.TPDU
			for _, b := range tps {
				p, err := sms.Unmarshal(b, sms.AsMO)
				if err != nil {
					t.Fatal(err)
				}
				if !p.FirstOctet.SRR() {
					t.Error("status report not requested")
				}
				if a, _ := p.Alphabet(); (a == tpdu.AlphaUCS2) != tt.ucs2 {
					t.Errorf("alphabet %v, want UCS-2 %v", a, tt.ucs2)
				}
				if _, _, ref, ok := p.ConcatInfo(); ok && ref != 300&0xff {
					t.Errorf("reference %d, want %d", ref, 300&0xff)
				}
				segs = append(segs, p)
			}
			got, err := sms.Decode(segs)
			if err != nil || string(got) != tt.text {
				t.Errorf("round trip %q (%v), want %q", got, err, tt.text)
			}
			if p, _ := sms.Unmarshal(tps[0], sms.AsMO); p.DA.Number() != tt.to {
				t.Errorf("to %q, want %q", p.DA.Number(), tt.to)
			}
		})
	}
	for _, bad := range []string{"whatsapp:+6281234567890", "TELKOMSEL", "", "12"} {
		if _, err := encodeSubmit(bad, "x", 1); err == nil {
			t.Errorf("encodeSubmit(%q) succeeded", bad)
		}
	}
}

func TestPermanentCMS(t *testing.T) {
	tests := []struct {
		code int
		want bool
	}{
		{1, true}, {21, true}, {96, true}, {304, true}, {0xC3, true},
		{38, false}, {41, false}, {42, false}, {0xC0, false}, {300, false},
		{331, false}, {332, false}, {500, false}, {512, false},
	}
	for _, tt := range tests {
		if got := permanentCMS(tt.code); got != tt.want {
			t.Errorf("permanentCMS(%d) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestParseListing(t *testing.T) {
	pdu := "07911326040000F0040B911346610089F60000208062917314480CC8F71D14969741F977FD07"
	tests := []struct {
		name   string
		lines  []string
		prefix string
		want   []int
	}{
		{"Plain", []string{"+CMGL: 3,0,,30", pdu}, "+CMGL:", []int{3}},
		{"Noise", []string{"^RSSI:12", "+CMGL: 1,1,,30", "^BOOT:1,2", pdu, "+CMTI: \"SM\",2", "+CMGL: 2,0,,30", pdu}, "+CMGL:", []int{1, 2}},
		{"WrongLength", []string{"+CMGL: 1,0,,29", pdu}, "+CMGL:", nil},
		{"HeaderWithoutPDU", []string{"+CMGL: 1,0,,30", "+CMGL: 2,0,,30", pdu}, "+CMGL:", []int{2}},
		{"OrphanPDU", []string{pdu}, "+CMGL:", nil},
		{"Read", []string{"+CMGR: 0,,30", pdu}, "+CMGR:", []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, e := range parseListing(tt.lines, tt.prefix) {
				got = append(got, e.index)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("indexes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseBalance(t *testing.T) {
	tests := []struct {
		text string
		want int
		ok   bool
	}{
		{"Sisa pulsa Anda Rp12.500. Masa aktif s/d 31-12-2030.", 12500, true},
		{"Pulsa: Rp 5.000,00 aktif hingga 01/02/2026", 5000, true},
		{"Saldo 1.250.000", 1250000, true},
		{"Balance: 500", 500, true},
		{"Maaf, layanan sibuk", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseBalance(tt.text)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseBalance(%q) = %d, %v; want %d, %v", tt.text, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseActiveUntil(t *testing.T) {
	tests := []struct {
		text, want string
	}{
		{"Sisa pulsa Rp12.500. Masa aktif s/d 31-12-2030.", "2030-12-31"},
		{"aktif hingga 01/02/26", "2026-02-01"},
		{"Pulsa Rp100, berlaku sampai 5 Des 2025", "2025-12-05"},
		{"Pulsa Rp100", ""},
	}
	for _, tt := range tests {
		got, ok := parseActiveUntil(tt.text)
		s := ""
		if ok {
			s = got.Format("2006-01-02")
		}
		if s != tt.want {
			t.Errorf("parseActiveUntil(%q) = %q, want %q", tt.text, s, tt.want)
		}
	}
}

func TestUSSDText(t *testing.T) {
	tests := []struct{ line, want string }{
		{`+CUSD: 0,"Sisa pulsa Rp5.000, aktif s/d 01-01-2026",15`, "Sisa pulsa Rp5.000, aktif s/d 01-01-2026"},
		{`+CUSD: 0,"00500075006C00730061",72`, "Pulsa"},
		{`+CUSD: 2`, ""},
	}
	for _, tt := range tests {
		if got := ussdText(tt.line); got != tt.want {
			t.Errorf("ussdText(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func FuzzDecodePDU(f *testing.F) {
	for _, s := range []string{
		"07911326040000F0040B911346610089F60000208062917314480CC8F71D14969741F977FD07",
		"0006D60B911326880736F4111011719551401110117195714000",
		"00", "0791", "07911356131313F64004850120390011609232239180A006080400100201D7",
	} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := decodePDU(raw)
		if in.key == "" {
			t.Fatal("no dedup key")
		}
		if in.kind == kindDeliver && !utf8.ValidString(in.text) {
			t.Fatalf("invalid UTF-8 text %q", in.text)
		}
	})
}

func FuzzParseListing(f *testing.F) {
	f.Add("+CMGL: 3,0,,30\n07911326040000F0040B911346610089F60000208062917314480CC8F71D14969741F977FD07")
	f.Add("^RSSI:3\n+CMGL: 1,1,,1\n0000\n+CMGL: x,y\nZZ")
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range parseListing(strings.Split(s, "\n"), "+CMGL:") {
			if len(e.pdu) == 0 || e.index < 0 {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

func FuzzBalance(f *testing.F) {
	f.Add(`+CUSD: 0,"Sisa pulsa Anda Rp12.500. Masa aktif s/d 31-12-2030.",15`)
	f.Add(`+CUSD: 0,"00500075",72`)
	f.Fuzz(func(t *testing.T, line string) {
		text := ussdText(line)
		if n, ok := parseBalance(text); ok && n < 0 {
			t.Fatalf("negative balance %d", n)
		}
		parseActiveUntil(text)
	})
}

// TestDecodePDU_NearMidnight: the parts of one message stamped on either
// side of midnight have groups of two dates, and each names the other's
// group as near; parts stamped away from midnight name none.
func TestDecodePDU_NearMidnight(t *testing.T) {
	wib := time.FixedZone("WIB", 7*3600)
	enc := modemsim.New(modemsim.Options{})
	text := strings.Repeat("SAMBAT saluran air di Jl Kawi mampet dan meluap ke jalan. ", 4)
	pdus, err := enc.EncodeDeliver("+6281234567890", text, time.Date(2026, 12, 31, 12, 0, 0, 0, wib))
	if err != nil {
		t.Fatal(err)
	}
	if len(pdus) < 2 {
		t.Fatalf("%d parts, want a concatenated message", len(pdus))
	}
	decode := func(i int, at time.Time) inbound {
		t.Helper()
		raw, err := modemsim.Restamp(pdus[i], at)
		if err != nil {
			t.Fatal(err)
		}
		in := decodePDU(raw)
		if in.kind != kindDeliver || !in.concat {
			t.Fatalf("part %d: kind %v concat %v err %v", i, in.kind, in.concat, in.err)
		}
		return in
	}
	noon := decode(0, time.Date(2026, 12, 31, 12, 0, 0, 0, wib))
	if noon.near != "" {
		t.Errorf("a part stamped at noon names near group %q", noon.near)
	}
	before := decode(0, time.Date(2026, 12, 31, 23, 59, 58, 0, wib))
	after := decode(1, time.Date(2027, 1, 1, 0, 0, 3, 0, wib))
	if before.group == after.group {
		t.Fatalf("both parts in group %q: the date no longer tells a reused reference apart", before.group)
	}
	if before.near != after.group || after.near != before.group {
		t.Errorf("near groups: 23:59:58 names %q (want %q), 00:00:03 names %q (want %q)",
			before.near, after.group, after.near, before.group)
	}
	if edge := decode(1, time.Date(2027, 1, 1, 0, 15, 0, 0, wib)); edge.near != "" {
		t.Errorf("a part stamped at 00:15 names near group %q", edge.near)
	}
	if edge := decode(0, time.Date(2026, 12, 31, 23, 45, 0, 0, wib)); edge.near != before.near {
		t.Errorf("a part stamped at 23:45 names near group %q, want %q", edge.near, before.near)
	}
	single, err := enc.EncodeDeliver("+6281234567890", "SAMBAT lampu mati", time.Date(2026, 12, 31, 23, 59, 0, 0, wib))
	if err != nil {
		t.Fatal(err)
	}
	if in := decodePDU(single[0]); in.near != "" {
		t.Errorf("a single message names near group %q", in.near)
	}
}

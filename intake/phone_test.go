package intake

import (
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in   string
		want string
		kind AddrKind
	}{
		{"081234567890", "+6281234567890", AddrMobile},
		{"0812-3456-7890", "+6281234567890", AddrMobile},
		{"0812 3456 7890", "+6281234567890", AddrMobile},
		{"(0812) 3456.7890", "+6281234567890", AddrMobile},
		{"6281234567890", "+6281234567890", AddrMobile},
		{"+6281234567890", "+6281234567890", AddrMobile},
		{"+62 812-3456-7890", "+6281234567890", AddrMobile},
		{"+62 0812 3456 7890", "+6281234567890", AddrMobile},
		{"006281234567890", "+6281234567890", AddrMobile},
		{"81234567890", "+6281234567890", AddrMobile},
		{"whatsapp:+6281234567890", "+6281234567890", AddrMobile},
		{"WhatsApp:+6281234567890", "+6281234567890", AddrMobile},
		{"sms:081234567890", "+6281234567890", AddrMobile},
		{" +6281234567890\n", "+6281234567890", AddrMobile},
		{"0341551234", "+62341551234", AddrMobile}, // Malang landline
		{"+447700900123", "+447700900123", AddrMobile},
		{"+14155552671", "+14155552671", AddrMobile},
		{"+1234567890123456", "+1234567890123456", AddrInvalid}, // 16 digits
		{"+62812345", "+62812345", AddrInvalid},                 // too short
		{"+620", "+620", AddrInvalid},
		{"62000000000", "62000000000", AddrInvalid}, // +62 0 0…: the trunk 0 once only
		{"0812345678901234", "0812345678901234", AddrInvalid},
		{"123", "123", AddrShortCode},
		{"3636", "3636", AddrShortCode},
		{"99899", "99899", AddrShortCode},
		{"1500 123", "1500 123", AddrInvalid}, // 7 digits: neither
		{"123456", "123456", AddrShortCode},
		{"12", "12", AddrInvalid},
		{"TELKOMSEL", "TELKOMSEL", AddrAlpha},
		{" Info Promo ", "Info Promo", AddrAlpha},
		{"INFO123", "INFO123", AddrAlpha},
		{"", "", AddrInvalid},
		{"   ", "", AddrInvalid},
		{"whatsapp:", "", AddrInvalid},
		{"+", "+", AddrInvalid},
		{"0812#3456", "0812#3456", AddrInvalid},
		{"08123+4567890", "08123+4567890", AddrInvalid},
	}
	for _, tt := range tests {
		got, kind := NormalizePhone(tt.in)
		if got != tt.want || kind != tt.kind {
			t.Errorf("NormalizePhone(%q) = %q, %v, want %q, %v", tt.in, got, kind, tt.want, tt.kind)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+6281234567890", "+62812****890"},
		{"+62341551234", "+62341****234"},
		{"081234567890", "081234****890"},
		{"123456789", "1********"},
		{"3636", "3***"},
		{"x", "x"},
		{"", ""},
		{"ÄÖÜ", "Ä**"},
		{"whatsapp:+6281234567890", "whatsapp:+62812****890"},
		{"12345", "1****"},
	}
	for _, tt := range tests {
		if got := MaskPhone(tt.in); got != tt.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"081234567890", "whatsapp:+62 812", "TELKOMSEL", "3636", "+620", "\xff", "(0)-."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, kind := NormalizePhone(in)
		switch kind {
		case AddrMobile:
			if !strings.HasPrefix(got, "+") || strings.Trim(got[1:], "0123456789") != "" || len(got) < 9 || len(got) > 16 {
				t.Fatalf("NormalizePhone(%q) = %q: not E.164", in, got)
			}
			if again, k := NormalizePhone(got); again != got || k != AddrMobile {
				t.Fatalf("NormalizePhone(%q) = %q, %v: not idempotent", got, again, k)
			}
			if m, want := MaskPhone(got), got[:6]+"****"+got[len(got)-3:]; len(got) >= 10 && m != want {
				t.Fatalf("MaskPhone(%q) = %q, want %q", got, m, want)
			}
		case AddrShortCode:
			if len(got) < 3 || len(got) > 6 || strings.Trim(got, "0123456789") != "" {
				t.Fatalf("NormalizePhone(%q) = %q: not a short code", in, got)
			}
		case AddrAlpha, AddrInvalid:
		default:
			t.Fatalf("NormalizePhone(%q): kind %d", in, kind)
		}
	})
}

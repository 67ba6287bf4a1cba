package intake

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestToGSM7(t *testing.T) {
	tests := []struct{ in, want string }{
		{"jalan rusak", "jalan rusak"},
		{"“Tolong” ‘cepat’", `"Tolong" 'cepat'`},
		{"Jl Ijen – depan — SDN", "Jl Ijen - depan - SDN"},
		{"tunggu…", "tunggu..."},
		{"a\u00a0b\tc", "a b c"},
		{"café résumé", "café résumé"}, // é is GSM-7
		{"Ñandú über Ålesund", "Ñandu über Ålesund"},
		{"naïve façade ōkubo", "naive facade okubo"},
		{"€10 {x} [y] ~z^ \\|", "€10 {x} [y] ~z^ \\|"},
		{"jalan 😡 rusak", "jalan rusak"},
		{"😡😡 jalan rusak 😡", "jalan rusak"},
		{"👍🏽 ok", "ok"},
		{"bad\xff\xfebytes", "badbytes"},
		{"nul\x00 and\x07bell", "nul andbell"},
		{"line1\r\nline2\rline3", "line1\nline2\nline3"},
		{"  spaces   inside  ", "spaces inside"},
		{"baris 1 \n  baris 2", "baris 1\nbaris 2"},
		{"ＣＥＫ　４８２１３０３", "CEK 4821303"},
		{"中文", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got := ToGSM7(tt.in)
		if got != tt.want {
			t.Errorf("ToGSM7(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !IsGSM7(got) {
			t.Errorf("ToGSM7(%q) = %q is not GSM-7", tt.in, got)
		}
	}
}

func TestIsGSM7(t *testing.T) {
	for _, s := range []string{"", "SAMBAT jalan", "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ", "¡¿§ÄÖÑÜäöñüà", "^{}\\[~]|€"} {
		if !IsGSM7(s) {
			t.Errorf("IsGSM7(%q) = false", s)
		}
	}
	for _, s := range []string{"“", "😀", "ç", "á", "\t", "\x1b", "\xff", "\f"} {
		if IsGSM7(s) {
			t.Errorf("IsGSM7(%q) = true", s)
		}
	}
}

func TestSegments(t *testing.T) {
	tests := []struct {
		name    string
		s       string
		septets int
		want    int
	}{
		{"empty", "", 0, 0},
		{"one char", "a", 1, 1},
		{"160", strings.Repeat("a", 160), 160, 1},
		{"161", strings.Repeat("a", 161), 161, 2},
		{"306", strings.Repeat("a", 306), 306, 2},
		{"307", strings.Repeat("a", 307), 307, 3},
		{"80 euro", strings.Repeat("€", 80), 160, 1},
		{"81 euro", strings.Repeat("€", 81), 162, 2},
		// 152 septets then an escape pair: the pair moves to the next part.
		{"escape pair at boundary", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152), 306, 3},
		{"70 ucs2", strings.Repeat("ç", 70), 70, 1},
		{"71 ucs2", strings.Repeat("ç", 71), 71, 2},
		{"134 ucs2", strings.Repeat("ç", 134), 134, 2},
		{"135 ucs2", strings.Repeat("ç", 135), 135, 3},
		{"35 emoji", strings.Repeat("😀", 35), 35, 1},
		{"36 emoji", strings.Repeat("😀", 36), 36, 2},
		// 66 units then a surrogate pair: the pair moves to the next part.
		{"surrogate at boundary", strings.Repeat("ç", 66) + "😀" + strings.Repeat("ç", 66), 133, 3},
		{"one emoji in gsm text", strings.Repeat("a", 100) + "😀", 101, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Segments(tt.s); got != tt.want {
				t.Errorf("Segments = %d, want %d", got, tt.want)
			}
			if got := Septets(tt.s); got != tt.septets {
				t.Errorf("Septets = %d, want %d", got, tt.septets)
			}
		})
	}
}

func TestTruncateSegments(t *testing.T) {
	short := "Tiket 4821303 diterima."
	if got := TruncateSegments(short, 1); got != short {
		t.Errorf("a fitting text changed: %q", got)
	}
	long := strings.Repeat("jalan berlubang ", 40) // 640 septets
	for n := 1; n <= 3; n++ {
		got := TruncateSegments(long, n)
		if Segments(got) > n || !strings.HasSuffix(got, "..") {
			t.Errorf("n=%d: %d segments, %q", n, Segments(got), got)
		}
		if !strings.HasSuffix(got, "berlubang..") && !strings.HasSuffix(got, "jalan..") {
			t.Errorf("n=%d: not cut at a word boundary: %q", n, got[len(got)-20:])
		}
		if n == 1 && len(got) < 140 {
			t.Errorf("n=1: cut too much: %d chars", len(got))
		}
	}
	emoji := strings.Repeat("😀", 200)
	got := TruncateSegments(emoji, 2)
	if Segments(got) > 2 || !utf8.ValidString(got) {
		t.Errorf("emoji: %d segments, valid %v", Segments(got), utf8.ValidString(got))
	}
	if got := TruncateSegments(long, 0); got != "" {
		t.Errorf("n=0: got %q, want empty", got)
	}
	word := strings.Repeat("x", 400)
	if got := TruncateSegments(word, 1); Segments(got) != 1 || len(got) != 160 {
		t.Errorf("one long word: got %d chars", len(got))
	}
}

func FuzzToGSM7(f *testing.F) {
	for _, s := range []string{"“halo” 😀 jalan—rusak…", "\xff\x00\r\n\t", "ＣＥＫ", "a  b \n c", "€€€{}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := ToGSM7(in)
		if !IsGSM7(got) || !utf8.ValidString(got) {
			t.Fatalf("ToGSM7(%q) = %q: not GSM-7", in, got)
		}
		if strings.Contains(got, "  ") || strings.Contains(got, " \n") || strings.HasPrefix(got, " ") {
			t.Fatalf("ToGSM7(%q) = %q: stray spaces", in, got)
		}
		if again := ToGSM7(got); again != got {
			t.Fatalf("ToGSM7 not idempotent: %q -> %q", got, again)
		}
		for n := 1; n <= 3; n++ {
			if c := TruncateSegments(in, n); Segments(c) > n {
				t.Fatalf("TruncateSegments(%q, %d) has %d segments", in, n, Segments(c))
			}
		}
	})
}

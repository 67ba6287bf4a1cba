package intake

import (
	"strings"
	"unicode/utf8"
)

// SMS payload sizes: one segment carries 160 septets or 70 UTF-16 units; a
// part of a concatenated message loses room to its header.
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// gsmBasic is the GSM 03.38 default alphabet (ESC excluded).
var gsmBasic = gsmRuneSet("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")

// gsmExtension is the GSM 03.38 extension table (each costs two septets).
// The form feed is left out on purpose: it is a control character.
var gsmExtension = gsmRuneSet("^{}\\[~]|€")

func gsmRuneSet(s string) map[rune]bool {
	m := make(map[rune]bool, len(s))
	for _, r := range s {
		m[r] = true
	}
	return m
}

// gsmFold maps common characters outside GSM-7 to a GSM-7 replacement:
// typographic punctuation and accented letters the alphabet lacks.
var gsmFold = map[rune]string{
	'‘': "'", '’': "'", '‚': "'", '‛': "'", '′': "'", '`': "'", '´': "'", '‹': "'", '›': "'",
	'“': `"`, '”': `"`, '„': `"`, '‟': `"`, '″': `"`, '«': `"`, '»': `"`,
	'‐': "-", '‑': "-", '‒': "-", '–': "-", '—': "-", '―': "-", '−': "-", '•': "-", '·': ".",
	'…': "...", '×': "x", '÷': "/", '¦': "|", '¹': "1", '²': "2", '³': "3",
	'á': "a", 'â': "a", 'ã': "a", 'ā': "a", 'ă': "a", 'ą': "a",
	'Á': "A", 'À': "A", 'Â': "A", 'Ã': "A", 'Ā': "A", 'Ă': "A", 'Ą': "A",
	'ç': "c", 'ć': "c", 'č': "c", 'Ć': "C", 'Č': "C", 'ď': "d", 'Ď': "D", 'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D",
	'ê': "e", 'ë': "e", 'ē': "e", 'ė': "e", 'ę': "e", 'ě': "e",
	'È': "E", 'Ê': "E", 'Ë': "E", 'Ē': "E", 'Ė': "E", 'Ę': "E", 'Ě': "E",
	'ğ': "g", 'Ğ': "G", 'í': "i", 'î': "i", 'ï': "i", 'ī': "i", 'ı': "i", 'Í': "I", 'Ì': "I", 'Î': "I", 'Ï': "I", 'Ī': "I", 'İ': "I",
	'ł': "l", 'Ł': "L", 'ń': "n", 'ň': "n", 'Ń': "N", 'Ň': "N",
	'ó': "o", 'ô': "o", 'õ': "o", 'ō': "o", 'ő': "o", 'Ó': "O", 'Ò': "O", 'Ô': "O", 'Õ': "O", 'Ō': "O", 'Ő': "O",
	'œ': "oe", 'Œ': "OE", 'ř': "r", 'Ř': "R", 'ś': "s", 'š': "s", 'ş': "s", 'Ś': "S", 'Š': "S", 'Ş': "S",
	'ť': "t", 'Ť': "T", 'þ': "th", 'Þ': "Th",
	'ú': "u", 'û': "u", 'ū': "u", 'ů': "u", 'ű': "u", 'Ú': "U", 'Ù': "U", 'Û': "U", 'Ū': "U", 'Ů': "U", 'Ű': "U",
	'ý': "y", 'ÿ': "y", 'Ý': "Y", 'Ÿ': "Y", 'ź': "z", 'ż': "z", 'ž': "z", 'Ź': "Z", 'Ż': "Z", 'Ž': "Z",
}

// gsmRune returns what r becomes in GSM-7 text: itself, a replacement, a
// space, or "" when it is dropped.
func gsmRune(r rune) string {
	switch {
	case gsmBasic[r] && r != '\r', gsmExtension[r]:
		return string(r)
	case r == '\t' || r == '\u00a0' || r == '\u3000' || r == '\u202f' || r == '\u205f' || (r >= '\u2000' && r <= '\u200a'):
		return " "
	case r >= '\uff01' && r <= '\uff5e': // fullwidth ASCII
		return gsmRune(r - 0xfee0)
	}
	return gsmFold[r]
}

// ToGSM7 cleans s to the GSM 03.38 default alphabet and its extension
// table, so that one stray character does not turn an SMS into UCS-2:
// typographic quotes and dashes become ASCII, accented letters the alphabet
// lacks lose their accent, tabs and unusual spaces become spaces, and emoji,
// other symbols, control characters (except the line break) and invalid
// UTF-8 are dropped. Runs of spaces are collapsed and spaces at the ends of
// lines removed, so nothing dropped leaves a double space behind.
func ToGSM7(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == '\r' {
			r = '\n'
		}
		if r == utf8.RuneError && size == 1 {
			continue
		}
		b.WriteString(gsmRune(r))
	}
	return gsmCollapseSpaces(b.String())
}

// gsmCollapseSpaces turns runs of spaces into one and removes spaces at the
// start and end of every line.
func gsmCollapseSpaces(s string) string {
	if !strings.Contains(s, "  ") && !strings.Contains(s, " \n") && !strings.Contains(s, "\n ") &&
		!strings.HasPrefix(s, " ") && !strings.HasSuffix(s, " ") {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.FieldsFunc(l, func(r rune) bool { return r == ' ' }), " ")
	}
	return strings.Join(lines, "\n")
}

// IsGSM7 reports whether every character of s is in the GSM 03.38 default
// alphabet or its extension table.
func IsGSM7(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if !gsmBasic[r] && !gsmExtension[r] {
			return false
		}
	}
	return true
}

// Septets returns the length of s in GSM-7 septets: characters of the
// extension table count two. Characters outside GSM-7 count one.
func Septets(s string) int {
	n := 0
	for _, r := range s {
		n += septetWidth(r)
	}
	return n
}

func septetWidth(r rune) int {
	if gsmExtension[r] {
		return 2
	}
	return 1
}

func utf16Width(r rune) int {
	if r > 0xffff {
		return 2
	}
	return 1
}

// Segments returns how many SMS s takes: GSM-7 when IsGSM7(s) (160
// septets alone, 153 per part), else UCS-2 (70 UTF-16 units alone, 67 per
// part). An escape pair or a surrogate pair is never split between parts.
// An empty text takes no SMS.
func Segments(s string) int {
	if s == "" {
		return 0
	}
	width, single, part := utf16Width, ucs2Single, ucs2Part
	if IsGSM7(s) {
		width, single, part = septetWidth, gsmSingle, gsmPart
	}
	total := 0
	for _, r := range s {
		total += width(r)
	}
	if total <= single {
		return 1
	}
	n, cur := 1, 0
	for _, r := range s {
		w := width(r)
		if cur+w > part {
			n++
			cur = 0
		}
		cur += w
	}
	return n
}

// TruncateSegments cuts s so that it fits in n SMS: on a character
// boundary, at a word boundary when one is near, ending with "..". It
// returns s unchanged when it already fits, and "" when n < 1.
func TruncateSegments(s string, n int) string {
	if n < 1 {
		return ""
	}
	if Segments(s) <= n {
		return s
	}
	starts := make([]int, 0, len(s))
	for i := range s {
		starts = append(starts, i)
	}
	// Segments of a prefix plus ".." never shrink as the prefix grows, so
	// a binary search finds the longest prefix that fits.
	lo, hi := 0, len(starts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if Segments(s[:starts[mid]]+"..") <= n {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return trimToWord(s[:starts[lo]], 20) + ".."
}

// trimToWord removes a partial last word from a prefix p when a space lies
// within the last window runes, and trims trailing spaces and punctuation.
func trimToWord(p string, window int) string {
	if sp := strings.LastIndexAny(p, " \n"); sp > 0 && utf8.RuneCountInString(p[sp:]) <= window {
		p = p[:sp]
	}
	return strings.TrimRight(p, " \n,;:-.")
}

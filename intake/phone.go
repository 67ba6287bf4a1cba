package intake

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// AddrKind is what kind of sender address a string is.
type AddrKind int

// Kinds of address. Only mobiles are ever answered.
const (
	AddrMobile    AddrKind = iota // a phone number, normalised to E.164
	AddrShortCode                 // 3 to 6 digits: an operator or service short code
	AddrAlpha                     // an alphanumeric sender ("TELKOMSEL", "INFO")
	AddrInvalid                   // empty or unusable
)

// String returns the kind's name for logs.
func (k AddrKind) String() string {
	switch k {
	case AddrMobile:
		return "mobile"
	case AddrShortCode:
		return "shortcode"
	case AddrAlpha:
		return "alpha"
	}
	return "invalid"
}

// NormalizePhone classifies a sender address and returns its canonical form.
// Spaces, dashes, dots and parentheses are ignored and a "whatsapp:", "sms:"
// or "tel:" prefix is removed. Indonesian numbers become E.164: "0812…",
// "62812…", "0062812…", "+62 0812…" and "812…" all become "+62812…" (+62
// followed by 8 to 12 digits, which admits landlines with an area code);
// other "+<country>" numbers are kept when they have 8 to 15 digits. 3 to 6
// digits are a short code, returned as digits. An address with letters is
// alphanumeric, returned trimmed. Anything else is invalid and returned
// trimmed.
func NormalizePhone(s string) (string, AddrKind) {
	s = strings.TrimSpace(s)
	for _, p := range []string{"whatsapp:", "sms:", "tel:"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			s = strings.TrimSpace(s[len(p):])
			break
		}
	}
	if s == "" {
		return "", AddrInvalid
	}
	if strings.IndexFunc(s, unicode.IsLetter) >= 0 {
		return s, AddrAlpha
	}
	plus, digits, ok := phoneDigits(s)
	if !ok {
		return s, AddrInvalid
	}
	switch {
	case plus:
	case len(digits) >= 3 && len(digits) <= 6:
		return digits, AddrShortCode
	case strings.HasPrefix(digits, "00"):
		digits = digits[2:]
	case strings.HasPrefix(digits, "0"):
		digits = "62" + digits[1:]
	case strings.HasPrefix(digits, "62"):
	case strings.HasPrefix(digits, "8"):
		digits = "62" + digits
	default:
		return s, AddrInvalid
	}
	if strings.HasPrefix(digits, "620") { // "+62 0812…"
		digits = "62" + digits[3:]
	}
	if !validE164(digits) {
		return s, AddrInvalid
	}
	return "+" + digits, AddrMobile
}

// phoneDigits extracts the digits of s, skipping the usual punctuation. It
// reports a leading '+' and false for any other character.
func phoneDigits(s string) (plus bool, digits string, ok bool) {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
		default:
			return false, "", false
		}
	}
	return plus, b.String(), b.Len() > 0
}

// validE164 checks the digits of an E.164 number without its '+'.
func validE164(d string) bool {
	if d == "" || d[0] == '0' {
		return false
	}
	if strings.HasPrefix(d, "62") {
		n := len(d) - 2
		return n >= 8 && n <= 12 && d[2] != '0'
	}
	return len(d) >= 8 && len(d) <= 15
}

// MaskPhone hides the middle of a phone number for logs and listings:
// "+6281234567890" becomes "+62812****890". A channel address keeps its
// prefix readable: "whatsapp:+62812****890". Strings too short to keep six
// and three characters keep only their first one.
func MaskPhone(s string) string {
	if i := strings.IndexByte(s, ':'); i > 0 && isLetters(s[:i]) {
		return s[:i+1] + MaskPhone(s[i+1:])
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return ""
	case n < 10:
		_, size := utf8.DecodeRuneInString(s)
		return s[:size] + strings.Repeat("*", n-1)
	}
	runes := []rune(s)
	return string(runes[:6]) + "****" + string(runes[n-3:])
}

// isLetters reports whether s is only ASCII letters ("whatsapp", "sms").
func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

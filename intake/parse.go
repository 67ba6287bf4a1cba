package intake

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// keywordSpec is one SMS keyword of the spec's table.
type keywordSpec struct {
	word string
	kind Kind
	typo bool // recognised with one typo (harmless keywords of 5+ letters)
}

var smsKeywords = []keywordSpec{
	{"SAMBAT", KindComplaint, true}, {"ADUAN", KindComplaint, true},
	{"LAPOR", KindComplaint, true}, {"KELUHAN", KindComplaint, true},
	{"CEK", KindStatus, false}, {"STATUS", KindStatus, true},
	{"TAMBAH", KindAdd, false}, {"BATAL", KindCancel, false}, {"BELUM", KindReopen, false},
	{"INFO", KindHelp, false}, {"BANTUAN", KindHelp, true}, {"HELP", KindHelp, false},
	{"MENU", KindMenu, false},
	{"STOP", KindStop, false}, {"BERHENTI", KindStop, false},
	{"MULAI", KindStart, false}, {"START", KindStart, false},
	{"KIM", KindKIM, false},
}

// typoDecoys are ordinary words one edit away from a keyword. They must not
// be taken for a mistyped keyword ("Lapo" is Malang Javanese for "why").
var typoDecoys = map[string]bool{
	"SAMBAL": true, "SAMBAR": true, "SAMBUT": true, "SAMBIT": true, "RAMBAT": true, "SABAT": true,
	"PADUAN": true, "ADUKAN": true, "ADUNAN": true, "ADAN": true,
	"LAPAR": true, "LAPO": true, "LAPOK": true,
	"STATIS": true, "BATUAN": true,
}

// ticketLabels are words residents put before a ticket number.
var ticketLabels = map[string]bool{
	"no": true, "nomor": true, "nomer": true, "nmr": true, "tiket": true, "tiketnya": true,
	"ticket": true, "tkt": true, "noticket": true, "notiket": true, "kode": true,
}

// isKeywordSep reports whether r may follow a keyword.
func isKeywordSep(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune("#*.,:?!", r)
}

// Parse reads one SMS as a command of the spec's table. Keywords are
// case-insensitive and must be followed by a separator (space, line break,
// '#', '*', '.', ',', ':', and also '?' and '!' as in "INFO?") or the end
// of the text; one non-alphanumeric
// character before the keyword is tolerated ("#SAMBAT"). The one exception
// is CEK/STATUS written against its number ("CEK4821303"): asking for a
// status is harmless and residents type it that way. Complaint keywords and
// STATUS/BANTUAN are recognised with one typo (Typo is set). A message with
// no keyword is KindNone with its trimmed text, its category and location
// inferred as for a complaint (for intake.unknown: complaint). Parse takes
// any input, invalid UTF-8 included, and a nil catalog.
func Parse(text string, cat *Catalog) Command {
	s := strings.TrimSpace(cleanParseInput(text))
	if s == "" {
		return Command{Kind: KindNone}
	}
	if strings.Trim(s, "?") == "" {
		return Command{Kind: KindHelp, Keyword: "?", Exact: true}
	}
	spec, typo, rest, ok := matchKeyword(s)
	if !ok {
		c := Command{Kind: KindNone, Text: s}
		c.Category, c.Location = inferComplaint(s, cat)
		return c
	}
	c := Command{Kind: spec.kind, Keyword: spec.word, Typo: typo, Exact: true}
	switch spec.kind {
	case KindComplaint:
		parseComplaint(&c, rest, cat)
	case KindStatus:
		c.Ticket, _, _ = findTicket(rest)
	case KindAdd, KindCancel, KindReopen:
		parseTicketText(&c, rest)
	case KindKIM:
		parseKIM(&c, rest, cat)
	default:
		c.Text = trimKeywordSeps(rest)
	}
	return c
}

// cleanParseInput makes any input safe to slice: invalid UTF-8 becomes
// U+FFFD, line breaks become "\n", other control characters spaces.
func cleanParseInput(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, s)
}

// matchKeyword finds the keyword at the start of s, or after one noise
// character. rest is what follows the keyword, separator included.
func matchKeyword(s string) (spec keywordSpec, typo bool, rest string, ok bool) {
	if spec, typo, rest, ok = keywordAt(s); ok {
		return
	}
	r, size := utf8.DecodeRuneInString(s)
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return keywordSpec{}, false, "", false
	}
	return keywordAt(strings.TrimLeftFunc(s[size:], unicode.IsSpace))
}

func keywordAt(s string) (keywordSpec, bool, string, bool) {
	end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	if end < 0 {
		end = len(s)
	}
	word, rest := strings.ToUpper(s[:end]), s[end:]
	if word == "" {
		return keywordSpec{}, false, "", false
	}
	next, _ := utf8.DecodeRuneInString(rest)
	sep := rest == "" || isKeywordSep(next)
	for _, k := range smsKeywords {
		if word == k.word && (sep || (k.kind == KindStatus && next >= '0' && next <= '9')) {
			return k, false, rest, true
		}
	}
	// word is no keyword here. It may be a mistyped one when a separator
	// follows and it is not an ordinary word.
	if !sep || typoDecoys[word] {
		return keywordSpec{}, false, "", false
	}
	for _, k := range smsKeywords {
		if k.typo && len(k.word) >= 5 && keywordOneEdit(word, k.word) {
			return k, true, rest, true
		}
	}
	return keywordSpec{}, false, "", false
}

// keywordOneEdit reports whether a and b are exactly one Damerau–Levenshtein
// edit apart: one substitution, insertion, deletion or swap of neighbours.
func keywordOneEdit(a, b string) bool {
	if d := len(a) - len(b); d > 4 || d < -4 { // a rune takes at most 4 bytes
		if d := utf8.RuneCountInString(a) - utf8.RuneCountInString(b); d > 1 || d < -1 {
			return false
		}
	}
	x, y := []rune(a), []rune(b)
	if len(x) > len(y) {
		x, y = y, x
	}
	switch len(y) - len(x) {
	case 0:
		var diff []int
		for i := range x {
			if x[i] != y[i] {
				diff = append(diff, i)
			}
		}
		switch len(diff) {
		case 1:
			return true
		case 2:
			i, j := diff[0], diff[1]
			return j == i+1 && x[i] == y[j] && x[j] == y[i]
		}
		return false
	case 1:
		i := 0
		for i < len(x) && x[i] == y[i] {
			i++
		}
		return string(x[i:]) == string(y[i+1:])
	}
	return false
}

// trimKeywordSeps removes separators and white space around s.
func trimKeywordSeps(s string) string {
	return strings.TrimRightFunc(strings.TrimLeftFunc(s, isKeywordSep), unicode.IsSpace)
}

// parseLeadingWord skips separators and returns the first word of s (a run of
// letters and digits) and what follows it.
func parseLeadingWord(s string) (word, rest string) {
	s = strings.TrimLeftFunc(s, isKeywordSep)
	end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if end < 0 {
		end = len(s)
	}
	return s[:end], s[end:]
}

// parseComplaint fills a complaint from what follows its keyword.
func parseComplaint(c *Command, rest string, cat *Catalog) {
	if w, after := parseLeadingWord(rest); strings.EqualFold(w, "RAHASIA") {
		if r, _ := utf8.DecodeRuneInString(after); after == "" || isKeywordSep(r) {
			c.Confidential = true
			rest = after
		}
	}
	if fields, ok := hashFields(rest); ok {
		c.Structured = true
		complaintFields(c, fields, cat)
		return
	}
	c.Text = trimKeywordSeps(rest)
	c.Category, c.Location = inferComplaint(c.Text, cat)
}

// hashFields splits a '#' form: rest starts (after white space) with '#'.
func hashFields(rest string) ([]string, bool) {
	t := strings.TrimLeftFunc(rest, unicode.IsSpace)
	if !strings.HasPrefix(t, "#") {
		return nil, false
	}
	fields := strings.Split(t[1:], "#")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return fields, true
}

// complaintFields reads kategori#lokasi#isi, kategori#isi, lokasi#isi or
// isi. Extra '#' stay in isi. A kategori field that names no category is
// kept at the start of the text so nothing the resident wrote is lost.
func complaintFields(c *Command, f []string, cat *Catalog) {
	var kat, lok, isi string
	switch len(f) {
	case 1:
		isi = f[0]
	case 2:
		if _, ok := cat.Lookup(f[0]); ok {
			kat, isi = f[0], f[1]
		} else {
			lok, isi = f[0], f[1]
		}
	default:
		kat, lok, isi = f[0], f[1], strings.Join(f[2:], "#")
	}
	c.Text = isi
	if k, ok := cat.Lookup(kat); ok {
		c.Category = k.Code
	} else if kat != "" {
		c.Text = strings.TrimSpace(kat + " " + isi)
	}
	inferredCat, inferredLoc := inferComplaint(c.Text, cat)
	if c.Category == "" {
		c.Category = inferredCat
	}
	c.Location = lok
	if c.Location == "" {
		c.Location = inferredLoc
	}
}

// inferComplaint finds the category and location of a free complaint text:
// the first word when it names a category (or a category's phrase opens the
// text: "lampu merah …"), else the words of the text. A street
// abbreviation first ("Jln Ijen …") starts an address, not the JALAN
// category.
func inferComplaint(text string, cat *Catalog) (category, location string) {
	w, _ := parseLeadingWord(text)
	if k, ok := cat.leadingPhrase(text); ok {
		category = k.Code
	} else if lw := strings.ToLower(w); lw != "jl" && lw != "jln" {
		if k, ok := cat.Lookup(w); ok {
			category = k.Code
		}
	}
	if category == "" {
		if k, ok := cat.Infer(text); ok {
			category = k.Code
		}
	}
	return category, InferLocation(text)
}

// parseTicketText reads "<no> [<isi>]" for TAMBAH, BATAL and BELUM.
func parseTicketText(c *Command, rest string) {
	digits, before, after := findTicket(rest)
	c.Ticket = digits
	c.Text = strings.TrimSpace(trimKeywordSeps(before) + " " + trimKeywordSeps(after))
}

// parseKIM reads "KIM <hp warga> <isi>" or "KIM#hp#nama#kat#lok#isi".
func parseKIM(c *Command, rest string, cat *Catalog) {
	if f, ok := hashFields(rest); ok {
		c.Structured = true
		c.Resident = f[0]
		if len(f) > 2 {
			c.ResidentName = f[1]
			f = f[2:]
		} else {
			f = f[1:]
		}
		if len(f) == 0 {
			f = []string{""}
		}
		complaintFields(c, f, cat)
		return
	}
	c.Resident, rest = residentPhone(trimKeywordSeps(rest))
	if c.Resident != "-" {
		c.Resident = strings.TrimRight(c.Resident, ",.:;")
	}
	c.Text = trimKeywordSeps(rest)
	c.Category, c.Location = inferComplaint(c.Text, cat)
}

// residentPhone takes the phone token at the start of s: "-" for a
// resident without a phone, or a token with digits. Up to five groups of
// digits split by spaces ("0812 3456 7890") are joined until ten digits
// are reached.
// A first word without any digit is not a phone: it stays in the text.
func residentPhone(s string) (phone, rest string) {
	tok, after := kimToken(s)
	if tok == "-" {
		return tok, after
	}
	if strings.IndexFunc(tok, unicode.IsDigit) < 0 {
		return "", s
	}
	phone, rest = tok, after
	for groups := 1; groups < 5 && kimDigitCount(phone) < 10; groups++ {
		next, after := kimToken(rest)
		if kimDigitCount(next) == 0 || strings.Trim(next, "0123456789-.") != "" {
			break
		}
		phone, rest = phone+" "+next, after
	}
	return phone, rest
}

func kimToken(s string) (tok, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	end := strings.IndexFunc(s, unicode.IsSpace)
	if end < 0 {
		return s, ""
	}
	return s[:end], s[end:]
}

func kimDigitCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// findTicket finds the ticket number in what follows CEK, TAMBAH, BATAL or
// BELUM and returns its digits with the text before and after it. The
// number is the one at the start (after labels such as "no." or "tiket"),
// else the first with six digits or more, else the first at all. Within a
// number '-', '.' and '/' between digits are ignored, and spaces too while
// fewer than seven digits are read ("4821 303"), so a count that follows a
// full number ("4821303 2 lubang") is not glued to it.
func findTicket(s string) (digits, before, after string) {
	if d, after, ok := ticketAtStart(s); ok {
		return d, "", after
	}
	start := -1
	for i := 0; i < len(s); i++ {
		if ticketDigit(s[i]) && (i == 0 || !ticketDigit(s[i-1])) {
			if d, _ := readTicketDigits(s, i); len(d) >= 6 {
				start = i
				break
			} else if start < 0 {
				start = i
			}
		}
	}
	if start < 0 {
		return "", s, ""
	}
	d, end := readTicketDigits(s, start)
	return d, s[:start], s[end:]
}

// ticketAtStart reads a number at the start of s, after labels such as
// "no." or "tiket" (which are dropped).
func ticketAtStart(s string) (digits, after string, ok bool) {
	i := skipTicketLabels(s)
	if i >= len(s) || !ticketDigit(s[i]) {
		return "", s, false
	}
	d, end := readTicketDigits(s, i)
	return d, s[end:], true
}

// skipTicketLabels returns the index after the separators and label words
// at the start of s.
func skipTicketLabels(s string) int {
	i := 0
	for {
		j := i
		for j < len(s) && strings.IndexByte(" \t\n#*.,:;-()", s[j]) >= 0 {
			j++
		}
		k := j
		for k < len(s) && (s[k]|0x20 >= 'a' && s[k]|0x20 <= 'z') {
			k++
		}
		if k == j || !ticketLabels[strings.ToLower(s[j:k])] {
			return j
		}
		i = k
	}
}

func ticketDigit(c byte) bool { return c >= '0' && c <= '9' }

// readTicketDigits reads one number starting at s[i] (a digit).
func readTicketDigits(s string, i int) (string, int) {
	var b strings.Builder
	for i < len(s) {
		c := s[i]
		switch {
		case ticketDigit(c):
			b.WriteByte(c)
			i++
			continue
		case (c == '-' || c == '.' || c == '/') && i+1 < len(s) && ticketDigit(s[i+1]):
			i++
			continue
		case c == ' ' && b.Len() < 7:
			j := i
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if j < len(s) && ticketDigit(s[j]) {
				i = j
				continue
			}
		}
		break
	}
	return b.String(), i
}

// Fingerprint folds a complaint text for repeat detection: lower case,
// white space collapsed, trimmed.
func Fingerprint(text string) string {
	return strings.Join(strings.Fields(strings.ToLower(strings.ToValidUTF8(text, "\uFFFD"))), " ")
}

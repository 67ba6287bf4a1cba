package intake

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Catalog answers questions about the configured complaint categories:
// which one a word names, and which one a free text is most likely about.
// It is read-only after NewCatalog and safe for concurrent use. A nil
// *Catalog knows no category.
type Catalog struct {
	cats  []Category
	index map[string]int // folded code, name or alias -> position in cats
	terms [][]catTerm    // per category, the terms Infer looks for
}

// catTerm is one word or phrase that suggests a category.
type catTerm struct {
	tokens []string
	weight int
}

// Weights of the terms Infer scores. An alias ("LAMPU") says more than a
// word from the text list ("mati"), which says more than the category's own
// code or name ("jalan" is in every street address). A phrase ("lampu
// merah") says the most and claims its words, so they count for nobody else.
const (
	weightName   = 1
	weightWord   = 2
	weightAlias  = 3
	weightPhrase = 3
)

// NewCatalog indexes cats, keeping their order: Infer breaks ties by it.
func NewCatalog(cats []Category) *Catalog {
	c := &Catalog{
		cats:  append([]Category(nil), cats...),
		index: make(map[string]int),
		terms: make([][]catTerm, len(cats)),
	}
	for i, cat := range c.cats {
		for _, w := range append([]string{cat.Code, cat.Name}, cat.Aliases...) {
			if k := catalogKey(w); k != "" {
				if _, dup := c.index[k]; !dup {
					c.index[k] = i
				}
			}
		}
		c.terms[i] = categoryTerms(cat)
	}
	return c
}

// categoryTerms collects the distinct terms of a category, each with the
// highest weight any of its sources gives it.
func categoryTerms(cat Category) []catTerm {
	weights := map[string]int{}
	var order []string
	add := func(w string, weight int) {
		toks := catalogTokens(w)
		if len(toks) == 0 {
			return
		}
		if len(toks) > 1 {
			weight = weightPhrase
		}
		k := strings.Join(toks, " ")
		if _, seen := weights[k]; !seen {
			order = append(order, k)
		}
		weights[k] = max(weights[k], weight)
	}
	add(cat.Code, weightName)
	add(cat.Name, weightName)
	for _, a := range cat.Aliases {
		add(a, weightAlias)
	}
	for _, w := range cat.Words {
		add(w, weightWord)
	}
	terms := make([]catTerm, 0, len(order))
	for _, k := range order {
		terms = append(terms, catTerm{tokens: strings.Split(k, " "), weight: weights[k]})
	}
	return terms
}

// catalogKey folds a word for Lookup: lower case, surrounding punctuation
// removed ("Jalan," and "#JALAN" name the same thing), inner spaces kept
// single.
func catalogKey(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// catalogTokens splits a text into lower-case words of letters and digits.
func catalogTokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Lookup returns the category whose code, name or alias is word, ignoring
// case and surrounding punctuation.
func (c *Catalog) Lookup(word string) (Category, bool) {
	if c == nil {
		return Category{}, false
	}
	if i, ok := c.index[catalogKey(word)]; ok {
		return c.cats[i], true
	}
	return Category{}, false
}

// Get returns the category with that code, ignoring case.
func (c *Catalog) Get(code string) (Category, bool) {
	if c == nil {
		return Category{}, false
	}
	for _, cat := range c.cats {
		if strings.EqualFold(cat.Code, code) {
			return cat, true
		}
	}
	return Category{}, false
}

// All returns the categories in config order.
func (c *Catalog) All() []Category {
	if c == nil {
		return nil
	}
	return append([]Category(nil), c.cats...)
}

// Infer guesses the category of a free text. Every category scores the
// weights of its distinct terms (words, aliases, code and name) found in
// the folded text; a term of four letters or more also matches the start of
// a word ("lubang" matches "lubangnya"), a shorter one only a whole word
// ("got" does not match "gotong").
// The highest score wins, a tie goes to the category listed first, and a
// text with no term at all reports false.
func (c *Catalog) Infer(text string) (Category, bool) {
	if c == nil {
		return Category{}, false
	}
	toks := catalogTokens(text)
	if len(toks) == 0 {
		return Category{}, false
	}
	claimed := c.claimPhrases(toks)
	best, bestScore := -1, 0
	for i, terms := range c.terms {
		score := 0
		for _, t := range terms {
			if len(t.tokens) > 1 {
				if termPhraseAt(toks, t.tokens) >= 0 {
					score += t.weight
				}
				continue
			}
			if termInText(toks, claimed, t.tokens[0]) {
				score += t.weight
			}
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return Category{}, false
	}
	return c.cats[best], true
}

// leadingPhrase returns the category of a phrase that opens text ("lampu
// merah mati" is about traffic lights, though "lampu" alone names PJU).
func (c *Catalog) leadingPhrase(text string) (Category, bool) {
	if c == nil {
		return Category{}, false
	}
	toks := catalogTokens(text)
	for i, terms := range c.terms {
		for _, t := range terms {
			if len(t.tokens) > 1 && len(t.tokens) <= len(toks) && termPhraseAt(toks[:len(t.tokens)], t.tokens) == 0 {
				return c.cats[i], true
			}
		}
	}
	return Category{}, false
}

// claimPhrases marks the text words taken by any category's phrase.
func (c *Catalog) claimPhrases(toks []string) []bool {
	claimed := make([]bool, len(toks))
	for _, terms := range c.terms {
		for _, t := range terms {
			if len(t.tokens) < 2 {
				continue
			}
			for from := 0; from < len(toks); {
				at := termPhraseAt(toks[from:], t.tokens)
				if at < 0 {
					break
				}
				for k := range t.tokens {
					claimed[from+at+k] = true
				}
				from += at + 1
			}
		}
	}
	return claimed
}

// termMatches reports whether text word tok matches term word w.
func termMatches(tok, w string) bool {
	if len(w) >= 4 {
		return strings.HasPrefix(tok, w)
	}
	return tok == w
}

func termInText(toks []string, claimed []bool, w string) bool {
	for i, tok := range toks {
		if !claimed[i] && termMatches(tok, w) {
			return true
		}
	}
	return false
}

// termPhraseAt returns the index of the first occurrence of phrase in toks, or -1.
func termPhraseAt(toks, phrase []string) int {
	for i := 0; i+len(phrase) <= len(toks); i++ {
		ok := true
		for k, w := range phrase {
			if !termMatches(toks[i+k], w) {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// DefaultCategories returns the built-in categories of Kota Malang, with
// Indonesian and common Javanese (Malangan) words. LAINNYA goes to triage.
func DefaultCategories() []Category {
	return []Category{
		{Code: "JALAN", Name: "Jalan", Aliases: []string{"JLN", "ASPAL"}, OPD: "DPUPRPKP", ServiceCode: "JALAN",
			Words: []string{"berlubang", "lubang", "rusak", "aspal", "ambles", "amblas", "retak", "bolong", "growong",
				"kubangan", "paving", "trotoar", "jembatan", "mengelupas", "polisi tidur"}},
		{Code: "POHON", Name: "Pohon", Aliases: []string{"WIT"}, OPD: "DLH", ServiceCode: "POHON",
			Words: []string{"pohon", "tumbang", "dahan", "ranting", "roboh", "rubuh", "ambruk", "pangkas", "tebang",
				"rindang", "nggantung"}},
		{Code: "SAMPAH", Name: "Sampah", Aliases: []string{"UWUH", "LIMBAH"}, OPD: "DLH", ServiceCode: "SAMPAH",
			Words: []string{"sampah", "bau", "tps", "numpuk", "menumpuk", "tumpukan", "kotor", "reged", "mambu",
				"bacin", "bosok", "diangkut", "bakar sampah", "pembuangan"}},
		{Code: "PJU", Name: "Lampu Jalan", Aliases: []string{"LAMPU", "PENERANGAN"}, OPD: "DPUPRPKP", ServiceCode: "PJU",
			Words: []string{"lampu", "mati", "padam", "peteng", "gelap", "remang", "kedip", "korslet", "byar pet",
				"lampu jalan"}},
		{Code: "BANJIR", Name: "Banjir/Drainase", Aliases: []string{"DRAINASE", "GORONG", "SALURAN"}, OPD: "DPUPRPKP",
			ServiceCode: "BANJIR",
			Words: []string{"banjir", "genangan", "tergenang", "selokan", "got", "mampet", "kebanjiran", "gorong gorong",
				"kalen", "luber", "meluap", "mbanjiri", "drainase"}},
		{Code: "LALIN", Name: "Lalu Lintas/Parkir", Aliases: []string{"PARKIR", "BANGJO"}, OPD: "DISHUB", ServiceCode: "LALIN",
			Words: []string{"parkir", "macet", "lampu merah", "jukir", "rambu", "marka", "angkot", "ngetem",
				"traffic light", "lalu lintas", "parkir liar", "zebra cross", "lampu lalin"}},
		{Code: "ADMINDUK", Name: "Adminduk", Aliases: []string{"KTP", "DUKCAPIL", "CAPIL"},
			OPD: "DISPENDUKCAPIL", ServiceCode: "ADMINDUK",
			Words: []string{"ktp", "kk", "akta", "akte", "e-ktp", "kartu keluarga", "kia", "nik", "blangko", "blanko",
				"surat pindah", "kependudukan"}},
		{Code: "TIBUM", Name: "Ketertiban Umum", Aliases: []string{"SATPOL", "TRANTIB", "PKL"}, OPD: "SATPOLPP", ServiceCode: "TIBUM",
			Words: []string{"pkl", "preman", "berisik", "miras", "mabuk", "mendem", "judi", "pengamen", "pengemis",
				"balap liar", "bising", "reklame", "gepeng", "tawuran"}},
		{Code: "LAINNYA", Name: "Lainnya", OPD: "TRIASE", ServiceCode: "LAINNYA"},
	}
}

// DefaultOPDs returns the departments the default categories route to.
// TRIASE is the city's complaint desk, which forwards what fits no category.
func DefaultOPDs() []OPD {
	return []OPD{
		{Code: "DPUPRPKP", Name: "Dinas PU, Penataan Ruang, Perumahan dan Kawasan Permukiman"},
		{Code: "DLH", Name: "Dinas Lingkungan Hidup"},
		{Code: "DISHUB", Name: "Dinas Perhubungan"},
		{Code: "DISPENDUKCAPIL", Name: "Dinas Kependudukan dan Pencatatan Sipil"},
		{Code: "SATPOLPP", Name: "Satuan Polisi Pamong Praja"},
		{Code: "TRIASE", Name: "Sambat Online / Kominfo"},
	}
}

// Words that start a place. Address nouns begin an address and end the
// name of another one ("Jl Ijen Kel Oro-oro Dowo"); landmark nouns begin a
// place but may also sit inside a street name ("Jl Pasar Besar").
var (
	locAddressNouns = locWordSet("jl jln jalan gg gang perum perumahan kel kelurahan desa ds kec kecamatan " +
		"kampung kp dusun dsn komplek kompleks rt rw")
	locLandmarkNouns = locWordSet("pasar terminal stasiun alun bundaran perempatan pertigaan simpang jembatan " +
		"taman sd sdn smp smpn sma sman smk smkn masjid musholla puskesmas kantor balai tps")
	// locAbbrevs end with a dot that does not end the phrase.
	locAbbrevs = locWordSet("jl jln gg kel kec ds dsn kp no rt rw perum")
	// locLabels may be followed by a bare number inside a name.
	locLabels = locWordSet("no nomor nmr rt rw blok gg gang km")
	// locNear start a place phrase and stay in it ("depan SDN 3").
	locNear = locWordSet("depan dekat sebelah samping belakang seberang sekitar pinggir ngarep cedak " +
		"utara selatan timur barat")
	// locAt start a place phrase and are dropped ("di Sawojajar").
	locAt = locWordSet("di nang neng ning daerah wilayah kawasan area lokasi alamat")
	// locStops end a place name: function words, verbs, time words and
	// what residents complain about.
	locStops = locWordSet("ada adalah akan agar sudah sdh udah dah wis uwis belum blm durung tidak tdk tak gak ga gk " +
		"nggak ngga enggak ndak ora tolong mohon minta segera harap yang yg dan dgn dengan karena krn soale " +
		"sejak sampai sampe untuk utk sehingga jadi jd tapi tetapi sangat banget sekali pol sering banyak akibat " +
		"saat ketika pas kalau kalo lek selama terus trus mulai lagi juga pak bu bapak ibu min mas mbak kak " +
		"saya aku kami kita kulo warga ini itu iku iki tersebut sini situ sana mana ke dari pada oleh arah " +
		"menuju masuk keluar atas bawah dalam luar tengah hari minggu bulan tahun jam malam pagi siang sore " +
		"bengi cuma hanya lebih kurang kira ya yo maaf terima kasih makasih cepat bahaya berbahaya parah licin " +
		"padahal disana disini onok ono ana gawe bikin buat membuat menyebabkan air sudah rumah tiap setiap saben")
	locRTRW = regexp.MustCompile(`(?i)\bRT\.?\s*:?\s*\d{1,3}(?:\s*[/,]?\s*RW\.?\s*:?\s*\d{1,3}|\s*/\s*\d{1,3})?\b`)
)

func init() {
	for _, c := range DefaultCategories() {
		for _, w := range c.Words {
			if t := catalogTokens(w); len(t) == 1 && !locLandmarkNouns[t[0]] {
				locStops[t[0]] = true
			}
		}
	}
}

func locWordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// locMaxLen is the longest location InferLocation returns, in runes.
const locMaxLen = 40

// locToken is one word of a text as InferLocation sees it.
type locToken struct {
	word  string // letters and digits as written, outer punctuation removed
	lower string
	dot   bool // written with a trailing dot
	end   bool // punctuation after it ends the phrase
}

// InferLocation guesses a short location (at most 40 characters) from a
// free complaint text: a street, alley, housing estate or kelurahan
// ("Jl. Ijen no 5", "Gg 3", "Perum Griya Shanta", "Kel. Sawojajar"), a
// landmark ("SDN 3", "Pasar Besar"), "RT 03 RW 05", or else a phrase after
// depan/dekat/di ("depan Pasar Blimbing", "di Sawojajar"). A name ends at
// punctuation, a function word, a verb-like word or a complaint word. It
// returns "" when it finds nothing.
func InferLocation(text string) string {
	toks := locTokenize(strings.ToValidUTF8(text, "\uFFFD"))
	for i, t := range toks {
		if !locAddressNouns[t.lower] && !locLandmarkNouns[t.lower] {
			continue
		}
		if name := locName(toks, i+1, false); len(name) > 0 {
			return locJoin(locHead(t), name)
		}
	}
	if m := locRTRW.FindString(text); m != "" {
		return locJoin(strings.Join(strings.Fields(m), " "), nil)
	}
	for i, t := range toks {
		switch {
		case locNear[t.lower]:
			if name := locName(toks, i+1, false); len(name) > 0 {
				return locJoin(t.word, name)
			}
		case locAt[t.lower]:
			if name := locName(toks, i+1, t.lower == "di" || t.lower == "nang" || t.lower == "neng" ||
				t.lower == "ning"); len(name) > 0 {
				return locJoin(name[0], name[1:])
			}
		}
	}
	return ""
}

// locTokenize splits a text into words, noting the punctuation after them.
// "Jl.Ijen" and "Ijen,rusak" are two words each.
func locTokenize(text string) []locToken {
	var toks []locToken
	isCut := func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune(".,;:!?()\"#*/", r) }
	for {
		text = strings.TrimLeftFunc(text, func(r rune) bool { return r == ' ' || r == '\t' || r == '/' })
		end := strings.IndexFunc(text, isCut)
		if end < 0 {
			end = len(text)
		}
		w := strings.Trim(text[:end], "'-/")
		text = text[end:]
		r, size := utf8.DecodeRuneInString(text)
		t := locToken{word: w, lower: strings.ToLower(w), dot: r == '.'}
		t.end = text != "" && (r == '\n' || !unicode.IsSpace(r) && r != '/' && !(t.dot && locAbbrevs[t.lower]))
		if w != "" {
			toks = append(toks, t)
		} else if t.end && len(toks) > 0 {
			toks[len(toks)-1].end = true
		}
		if text == "" {
			return toks
		}
		text = text[size:]
	}
}

// locHead writes the noun that starts a place as typed, keeping the dot of
// an abbreviation ("Jl.").
func locHead(t locToken) string {
	if t.dot && locAbbrevs[t.lower] && t.lower != "rt" && t.lower != "rw" {
		return t.word + "."
	}
	return t.word
}

// locName collects the words of a place name from toks[i]. strict asks for
// a first word that looks like a proper name (capitalised or with a digit),
// used after "di", which in SMS also starts passive verbs ("di buang").
func locName(toks []locToken, i int, strict bool) []string {
	var words []string
	afterLabel := true // the first word may be a bare number ("Gg 3")
	for j := i; j < len(toks) && len(words) < 6; j++ {
		t := toks[j]
		first := len(words) == 0
		switch {
		case locLabels[t.lower] && !t.end && j+1 < len(toks) && strings.ContainsAny(toks[j+1].lower, "0123456789"):
			// "no 5", "RT 03": kept with the number that follows
		case locAllDigits(t.lower):
			// a bare number belongs to the name after a label ("no 5"), first
			// ("Gg 3"), or last ("Gg Buntu 3,"), but not before more words
			// ("Jl Ijen 3 hari")
			if !afterLabel && !t.end && j+1 < len(toks) {
				return words
			}
		case strings.IndexFunc(t.word, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0:
			return words
		case locStops[t.lower], locAddressNouns[t.lower], locNear[t.lower], locAt[t.lower],
			!first && locVerbLike(t.lower), first && strict && !locProperName(t.word):
			return words
		}
		words = append(words, t.word)
		afterLabel = locLabels[t.lower]
		if t.end {
			break
		}
	}
	return words
}

// locVerbLike reports words that are rarely part of a place name: verbs
// ("diperbaiki", "bersihkan") and possessives ("jalannya").
func locVerbLike(w string) bool {
	n := len(w)
	return n >= 6 && (strings.HasSuffix(w, "kan") || strings.HasSuffix(w, "nya") ||
		strings.HasPrefix(w, "di") && strings.HasSuffix(w, "i"))
}

func locProperName(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.IsUpper(r) || strings.ContainsAny(w, "0123456789")
}

func locAllDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// locJoin joins a place head and its name, stopping before locMaxLen runes.
func locJoin(head string, words []string) string {
	out := head
	if utf8.RuneCountInString(out) > locMaxLen {
		return string([]rune(out)[:locMaxLen])
	}
	for i, w := range words {
		room := locMaxLen - utf8.RuneCountInString(out) - 1
		if utf8.RuneCountInString(w) > room {
			if i == 0 && room > 0 {
				out += " " + string([]rune(w)[:room])
			}
			break
		}
		out += " " + w
	}
	return out
}

package intake

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var parseTestCatalog = NewCatalog(DefaultCategories())

// TestParse runs realistic messages through the parser. Decisions the table
// pins down: a keyword must be followed by a separator or the end, except
// CEK/STATUS glued to digits ("cek4821303"); "SAMBAT-jalan" and "LAPORAN"
// are not keywords; one typo is forgiven only for complaint keywords,
// STATUS and BANTUAN.
func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Command
	}{
		{"SAMBAT jalan berlubang di Jl. Ijen depan SDN 3", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Location: "Jl. Ijen", Text: "jalan berlubang di Jl. Ijen depan SDN 3"}},
		{"sambat lampu PJU mati di Gg 3 Sawojajar", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "PJU", Location: "Gg 3 Sawojajar", Text: "lampu PJU mati di Gg 3 Sawojajar"}},
		{"Sambat: jalan rusak parah di Jl Soekarno Hatta", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Location: "Jl Soekarno Hatta", Text: "jalan rusak parah di Jl Soekarno Hatta"}},
		{"SAMBAT\njalan ambles depan Pasar Blimbing", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Location: "Pasar Blimbing", Text: "jalan ambles depan Pasar Blimbing"}},
		{"sambat,lampu mati sudah seminggu", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "PJU", Text: "lampu mati sudah seminggu"}},
		{"Lapor pak, sampah numpuk di TPS Merjosari", Command{Kind: KindComplaint, Keyword: "LAPOR", Exact: true, Category: "SAMPAH", Location: "TPS Merjosari", Text: "pak, sampah numpuk di TPS Merjosari"}},
		{"ADUAN pohon tumbang Jl. Kawi", Command{Kind: KindComplaint, Keyword: "ADUAN", Exact: true, Category: "POHON", Location: "Jl. Kawi", Text: "pohon tumbang Jl. Kawi"}},
		{"KELUHAN selokan mampet RT 03 RW 05 Kel. Sawojajar", Command{Kind: KindComplaint, Keyword: "KELUHAN", Exact: true, Category: "BANJIR", Location: "RT 03 RW 05", Text: "selokan mampet RT 03 RW 05 Kel. Sawojajar"}},
		{"SAMBT jalan rusak", Command{Kind: KindComplaint, Keyword: "SAMBAT", Typo: true, Exact: true, Category: "JALAN", Text: "jalan rusak"}},
		{"SMABAT lampu mati", Command{Kind: KindComplaint, Keyword: "SAMBAT", Typo: true, Exact: true, Category: "PJU", Text: "lampu mati"}},
		{"ADUAAN banjir", Command{Kind: KindComplaint, Keyword: "ADUAN", Typo: true, Exact: true, Category: "BANJIR", Text: "banjir"}},
		{"LAPORR parkir liar", Command{Kind: KindComplaint, Keyword: "LAPOR", Typo: true, Exact: true, Category: "LALIN", Text: "parkir liar"}},
		{"SAMBATT sampah", Command{Kind: KindComplaint, Keyword: "SAMBAT", Typo: true, Exact: true, Category: "SAMPAH", Text: "sampah"}},
		{"SAMBAL enak", Command{Kind: KindNone, Text: "SAMBAL enak"}},
		{"Lapo kok dalane rusak", Command{Kind: KindNone, Category: "JALAN", Text: "Lapo kok dalane rusak"}},
		{"LAPORAN jalan rusak", Command{Kind: KindNone, Category: "JALAN", Text: "LAPORAN jalan rusak"}},
		{"SAMBAT#JALAN#Jl Ijen#berlubang besar", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Location: "Jl Ijen", Text: "berlubang besar", Structured: true}},
		{"SAMBAT#PJU#Gg 3#lampu mati#sejak senin", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "PJU", Location: "Gg 3", Text: "lampu mati#sejak senin", Structured: true}},
		{"SAMBAT#POHON#dahan patah", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "POHON", Text: "dahan patah", Structured: true}},
		{"SAMBAT#Jl Ijen 5#jalan berlubang", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Location: "Jl Ijen 5", Text: "jalan berlubang", Structured: true}},
		{"SAMBAT#selokan mampet bau", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "BANJIR", Text: "selokan mampet bau", Structured: true}},
		{"SAMBAT##Jl Ijen#berlubang", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Location: "Jl Ijen", Text: "berlubang", Structured: true}},
		{"SAMBAT#jalanan#Jl Ijen#rusak", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Location: "Jl Ijen", Text: "jalanan rusak", Structured: true}},
		{"SAMBAT RAHASIA preman minta uang di Pasar Besar", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "TIBUM", Location: "Pasar Besar", Text: "preman minta uang di Pasar Besar", Confidential: true}},
		{"sambat rahasia: ada pungli", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Text: "ada pungli", Confidential: true}},
		{"SAMBAT#RAHASIA#TIBUM#Pasar Besar#pungli parkir", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "TIBUM", Location: "Pasar Besar", Text: "pungli parkir", Confidential: true, Structured: true}},
		{"SAMBAT RAHASIANYA bocor", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Text: "RAHASIANYA bocor"}},
		{"SAMBAT", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true}},
		{"SAMBAT   ", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true}},
		{"sambat 😡😡 jalan rusak 😡", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Text: "😡😡 jalan rusak 😡"}},
		{"SAMBAT jalan rusak'; DROP TABLE tickets;--", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Text: "jalan rusak'; DROP TABLE tickets;--"}},
		{"SAMBAT lampu jalan peteng ndedet nang Jl Sukarno Hatta", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "PJU", Location: "Jl Sukarno Hatta", Text: "lampu jalan peteng ndedet nang Jl Sukarno Hatta"}},
		{"SAMBAT wit tumbang nang ngarep omahku", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "POHON", Location: "ngarep omahku", Text: "wit tumbang nang ngarep omahku"}},
		{"SAMBAT KTP saya belum jadi 3 bulan", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "ADMINDUK", Text: "KTP saya belum jadi 3 bulan"}},
		{"SAMBAT Jln Ijen lampu mati", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "PJU", Location: "Jln Ijen", Text: "Jln Ijen lampu mati"}},
		{"SAMBAT-jalan rusak", Command{Kind: KindNone, Category: "JALAN", Text: "SAMBAT-jalan rusak"}},
		{"SAMBATAN warga", Command{Kind: KindNone, Text: "SAMBATAN warga"}},
		{"CEK 4821303", Command{Kind: KindStatus, Keyword: "CEK", Exact: true, Ticket: "4821303"}},
		{"cek 4821303", Command{Kind: KindStatus, Keyword: "CEK", Exact: true, Ticket: "4821303"}},
		{"CEK no. 4821-303", Command{Kind: KindStatus, Keyword: "CEK", Exact: true, Ticket: "4821303"}},
		{"CEK 4821 303", Command{Kind: KindStatus, Keyword: "CEK", Exact: true, Ticket: "4821303"}},
		{"CEK#4821303", Command{Kind: KindStatus, Keyword: "CEK", Exact: true, Ticket: "4821303"}},
		{"cek4821303", Command{Kind: KindStatus, Keyword: "CEK", Exact: true, Ticket: "4821303"}},
		{"CEK", Command{Kind: KindStatus, Keyword: "CEK", Exact: true}},
		{"cek tiket saya", Command{Kind: KindStatus, Keyword: "CEK", Exact: true}},
		{"STATUS 4821303", Command{Kind: KindStatus, Keyword: "STATUS", Exact: true, Ticket: "4821303"}},
		{"STATSU 4821303", Command{Kind: KindStatus, Keyword: "STATUS", Typo: true, Exact: true, Ticket: "4821303"}},
		{"Status: tiket no 4821303", Command{Kind: KindStatus, Keyword: "STATUS", Exact: true, Ticket: "4821303"}},
		{"CEKAL", Command{Kind: KindNone, Text: "CEKAL"}},
		{"TAMBAH 4821303 lubangnya makin besar", Command{Kind: KindAdd, Keyword: "TAMBAH", Exact: true, Ticket: "4821303", Text: "lubangnya makin besar"}},
		{"TAMBAH no. 4821303: sudah 2 motor jatuh", Command{Kind: KindAdd, Keyword: "TAMBAH", Exact: true, Ticket: "4821303", Text: "sudah 2 motor jatuh"}},
		{"TAMBAH 4821303 2 lubang lagi", Command{Kind: KindAdd, Keyword: "TAMBAH", Exact: true, Ticket: "4821303", Text: "2 lubang lagi"}},
		{"TAMBAH lubang makin besar 4821303", Command{Kind: KindAdd, Keyword: "TAMBAH", Exact: true, Ticket: "4821303", Text: "lubang makin besar"}},
		{"TAMBAH", Command{Kind: KindAdd, Keyword: "TAMBAH", Exact: true}},
		{"TAMBAK 4821303", Command{Kind: KindNone, Text: "TAMBAK 4821303"}},
		{"BATAL 4821303", Command{Kind: KindCancel, Keyword: "BATAL", Exact: true, Ticket: "4821303"}},
		{"batal 4821303 sudah diperbaiki sendiri", Command{Kind: KindCancel, Keyword: "BATAL", Exact: true, Ticket: "4821303", Text: "sudah diperbaiki sendiri"}},
		{"BATAS 4821303", Command{Kind: KindNone, Text: "BATAS 4821303"}},
		{"BELUM 4821303", Command{Kind: KindReopen, Keyword: "BELUM", Exact: true, Ticket: "4821303"}},
		{"BELUM 4821303 lampu masih mati", Command{Kind: KindReopen, Keyword: "BELUM", Exact: true, Ticket: "4821303", Text: "lampu masih mati"}},
		{"BELOM 4821303", Command{Kind: KindNone, Text: "BELOM 4821303"}},
		{"STOP", Command{Kind: KindStop, Keyword: "STOP", Exact: true}},
		{"stop.", Command{Kind: KindStop, Keyword: "STOP", Exact: true}},
		{"BERHENTI", Command{Kind: KindStop, Keyword: "BERHENTI", Exact: true}},
		{"MULAI", Command{Kind: KindStart, Keyword: "MULAI", Exact: true}},
		{"START", Command{Kind: KindStart, Keyword: "START", Exact: true}},
		{"INFO", Command{Kind: KindHelp, Keyword: "INFO", Exact: true}},
		{"info?", Command{Kind: KindHelp, Keyword: "INFO", Exact: true}},
		{"BANTUAN", Command{Kind: KindHelp, Keyword: "BANTUAN", Exact: true}},
		{"BANTUN", Command{Kind: KindHelp, Keyword: "BANTUAN", Typo: true, Exact: true}},
		{"HELP", Command{Kind: KindHelp, Keyword: "HELP", Exact: true}},
		{"?", Command{Kind: KindHelp, Keyword: "?", Exact: true}},
		{"??", Command{Kind: KindHelp, Keyword: "?", Exact: true}},
		{"MENU", Command{Kind: KindMenu, Keyword: "MENU", Exact: true}},
		{"menu 1", Command{Kind: KindMenu, Keyword: "MENU", Exact: true, Text: "1"}},
		{"KIM 081234567890 jalan rusak di Jl Ijen", Command{Kind: KindKIM, Keyword: "KIM", Exact: true, Category: "JALAN", Location: "Jl Ijen", Text: "jalan rusak di Jl Ijen", Resident: "081234567890"}},
		{"KIM 0812-3456-7890 sampah numpuk", Command{Kind: KindKIM, Keyword: "KIM", Exact: true, Category: "SAMPAH", Text: "sampah numpuk", Resident: "0812-3456-7890"}},
		{"KIM 0812 3456 7890 lampu mati", Command{Kind: KindKIM, Keyword: "KIM", Exact: true, Category: "PJU", Text: "lampu mati", Resident: "0812 3456 7890"}},
		{"KIM - mbah Sri, rumah kebanjiran RT 2", Command{Kind: KindKIM, Keyword: "KIM", Exact: true, Category: "BANJIR", Location: "RT 2", Text: "mbah Sri, rumah kebanjiran RT 2", Resident: "-"}},
		{"KIM jalan rusak", Command{Kind: KindKIM, Keyword: "KIM", Exact: true, Category: "JALAN", Text: "jalan rusak"}},
		{"KIM#081234567890#Bu Sri#JALAN#Jl Ijen#berlubang", Command{Kind: KindKIM, Keyword: "KIM", Exact: true, Category: "JALAN", Location: "Jl Ijen", Text: "berlubang", Structured: true, Resident: "081234567890", ResidentName: "Bu Sri"}},
		{"KIM#-#Mbah Darmo#banjir setinggi lutut", Command{Kind: KindKIM, Keyword: "KIM", Exact: true, Category: "BANJIR", Text: "banjir setinggi lutut", Structured: true, Resident: "-", ResidentName: "Mbah Darmo"}},
		{"KIM#081234567890#Bu Sri#PJU#lampu mati", Command{Kind: KindKIM, Keyword: "KIM", Exact: true, Category: "PJU", Text: "lampu mati", Structured: true, Resident: "081234567890", ResidentName: "Bu Sri"}},
		{"KIMIA", Command{Kind: KindNone, Text: "KIMIA"}},
		{"halo min", Command{Kind: KindNone, Text: "halo min"}},
		{"Selamat pagi, jalan depan rumah saya rusak", Command{Kind: KindNone, Category: "JALAN", Text: "Selamat pagi, jalan depan rumah saya rusak"}},
		{"1", Command{Kind: KindNone, Text: "1"}},
		{"", Command{Kind: KindNone}},
		{"   \n\t ", Command{Kind: KindNone}},
		{"\x00\x00SAMBAT\x00jalan", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Text: "jalan"}},
		{"\xff\xfeSAMBAT jalan", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Text: "jalan"}},
		{"SAMBAT \xffjalan rusak", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Text: "�jalan rusak"}},
		{"#SAMBAT lampu mati", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "PJU", Text: "lampu mati"}},
		{"*CEK 4821303", Command{Kind: KindStatus, Keyword: "CEK", Exact: true, Ticket: "4821303"}},
		{"  sambat   jalan rusak  ", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Text: "jalan rusak"}},
		{"Sambat* lampu mati", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "PJU", Text: "lampu mati"}},
		{"SAMBAT. Jalan rusak", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Text: "Jalan rusak"}},
		{"SaMbAt JaLaN rUsAk", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "JALAN", Text: "JaLaN rUsAk"}},
		{"sambat lampu merah mati di perempatan ITN", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "LALIN", Location: "perempatan ITN", Text: "lampu merah mati di perempatan ITN"}},
		{"SAMBAT parkir liar depan Matos", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "LALIN", Location: "depan Matos", Text: "parkir liar depan Matos"}},
		{"SAMBAT banjir di Jalan Soekarno Hatta", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "BANJIR", Location: "Jalan Soekarno Hatta", Text: "banjir di Jalan Soekarno Hatta"}},
		{"SAMBAT pkl jualan di trotoar Jl Ijen", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "TIBUM", Location: "Jl Ijen", Text: "pkl jualan di trotoar Jl Ijen"}},
		{"SAMBAT akta kelahiran anak belum jadi", Command{Kind: KindComplaint, Keyword: "SAMBAT", Exact: true, Category: "ADMINDUK", Text: "akta kelahiran anak belum jadi"}},
	}
	if len(tests) < 70 {
		t.Fatalf("only %d cases, want at least 70", len(tests))
	}
	for _, tt := range tests {
		if got := Parse(tt.in, parseTestCatalog); got != tt.want {
			t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestParse_Typo(t *testing.T) {
	accepted := map[string]string{
		"SAMBT": "SAMBAT", "SMABAT": "SAMBAT", "SAMBATT": "SAMBAT", "SANBAT": "SAMBAT", "ADUAAN": "ADUAN",
		"ADUN": "ADUAN", "LAPORR": "LAPOR", "LAPRO": "LAPOR", "KELUHN": "KELUHAN", "KELUHKAN": "KELUHAN",
		"STATSU": "STATUS", "STATUSS": "STATUS", "BANTUN": "BANTUAN", "BNATUAN": "BANTUAN",
	}
	for word, kw := range accepted {
		got := Parse(strings.ToLower(word)+" jalan rusak", parseTestCatalog)
		if got.Keyword != kw || !got.Typo || !got.Exact {
			t.Errorf("Parse(%q): got keyword %q typo %v, want %q with typo", word, got.Keyword, got.Typo, kw)
		}
	}
	// Keywords that change something are exact; ordinary words one edit
	// from a keyword are not keywords; two edits are too many.
	for _, word := range []string{"TAMBAK", "BATAS", "BATL", "BELOM", "STOPP", "MULIA", "STRAT", "KIMM", "CEKK",
		"INFOO", "HLEP", "MENUU", "BERHENTII", "SAMBAL", "SAMBUT", "RAMBAT", "LAPAR", "LAPO", "STATIS", "PADUAN",
		"BATUAN", "LAPORAN", "SAMPAH", "SMABT"} {
		if got := Parse(word+" 4821303 jalan rusak", parseTestCatalog); got.Kind != KindNone || got.Exact {
			t.Errorf("Parse(%q): got kind %d keyword %q, want KindNone", word, got.Kind, got.Keyword)
		}
	}
}

func TestKeywordOneEdit(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"SAMBAT", "SAMBAT", false},
		{"SAMBT", "SAMBAT", true},   // deletion
		{"SAMBAAT", "SAMBAT", true}, // insertion
		{"SAMBAR", "SAMBAT", true},  // substitution
		{"SMABAT", "SAMBAT", true},  // swap
		{"SAMBTA", "SAMBAT", true},  // swap at the end
		{"ASMBAT", "SAMBAT", true},  // swap at the start
		{"SMABTA", "SAMBAT", false}, // two swaps
		{"SAMPAH", "SAMBAT", false},
		{"SAMBATAN", "SAMBAT", false},
		{"", "A", true},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := keywordOneEdit(tt.a, tt.b); got != tt.want {
			t.Errorf("keywordOneEdit(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestParse_TicketNumbers(t *testing.T) {
	tests := []struct{ in, ticket, text string }{
		{"CEK no. 4821-303", "4821303", ""},
		{"CEK No.4821303", "4821303", ""},
		{"CEK tiket: 48.21.303", "4821303", ""},
		{"CEK (4821303)", "4821303", ""},
		{"CEK 48 21 30 3", "4821303", ""},
		{"CEK 4821303 4821310", "4821303", ""},
		{"CEK 12", "12", ""},
		{"TAMBAH 4821303 sudah 3 hari", "4821303", "sudah 3 hari"},
		{"TAMBAH #4821303# lubang 2", "4821303", "lubang 2"},
		{"TAMBAH nomor 4821303, sekarang ada 2 lubang", "4821303", "sekarang ada 2 lubang"},
		{"TAMBAH mohon cepat 3 motor jatuh tiket 4821303", "4821303", "mohon cepat 3 motor jatuh tiket"},
		{"BELUM 4821 303 masih mati", "4821303", "masih mati"},
		{"BATAL", "", ""},
		{"BATAL tidak jadi", "", "tidak jadi"},
	}
	for _, tt := range tests {
		got := Parse(tt.in, parseTestCatalog)
		if got.Ticket != tt.ticket || got.Text != tt.text {
			t.Errorf("Parse(%q): got ticket %q text %q, want %q, %q", tt.in, got.Ticket, got.Text, tt.ticket, tt.text)
		}
	}
}

func TestParse_LongAndHostile(t *testing.T) {
	body := strings.Repeat("jalan berlubang dalam sekali ", 70)[:2000]
	got := Parse("SAMBAT "+body, parseTestCatalog)
	if got.Kind != KindComplaint || got.Text != strings.TrimSpace(body) || got.Category != "JALAN" {
		t.Errorf("2,000-char complaint: got kind %d category %q text of %d bytes", got.Kind, got.Category, len(got.Text))
	}
	big := "CEK " + strings.Repeat("9", 10000)
	if got := Parse(big, parseTestCatalog); got.Kind != KindStatus || len(got.Ticket) != 10000 {
		t.Errorf("10 kB CEK: got kind %d ticket of %d digits", got.Kind, len(got.Ticket))
	}
	for _, in := range []string{
		strings.Repeat("\x00", 10000), strings.Repeat("\xff", 10000), strings.Repeat("#", 10000),
		"SAMBAT#" + strings.Repeat("#", 5000), "KIM#" + strings.Repeat("0812#", 2000),
		"SAMBAT " + strings.Repeat("😡", 3000), "\u202eSAMBAT jalan", "SAMBAT \xed\xa0\x80 jalan",
	} {
		got := Parse(in, parseTestCatalog)
		if !utf8.ValidString(got.Text) || !utf8.ValidString(got.Location) || !utf8.ValidString(got.Resident) {
			t.Errorf("Parse(%.20q…): invalid UTF-8 in %+v", in, got)
		}
	}
	if got := Parse("SAMBAT jalan rusak di Jl Ijen", nil); got.Kind != KindComplaint || got.Category != "" ||
		got.Location != "Jl Ijen" {
		t.Errorf("nil catalog: got %+v", got)
	}
}

func TestInferLocation(t *testing.T) {
	tests := []struct{ in, want string }{
		{"jalan berlubang di Jl. Ijen no 5 depan SDN 3, bahaya", "Jl. Ijen no 5"},
		{"Jl.Soekarno Hatta depan Indomaret banjir", "Jl. Soekarno Hatta"},
		{"lampu mati jln mt haryono gang 2", "jln mt haryono gang 2"},
		{"banjir di Jalan Raya Tlogomas sejak pagi", "Jalan Raya Tlogomas"},
		{"jalan rusak parah", ""},
		{"jalanan berlubang", ""},
		{"sampah di Gg. Buntu 3, bau sekali", "Gg. Buntu 3"},
		{"selokan mampet Perum Griya Shanta blok L", "Perum Griya Shanta blok L"},
		{"selokan mampet Perum Griya Shanta blok L 12", "Perum Griya Shanta blok L 12"},
		{"pohon tumbang Kel. Oro-oro Dowo", "Kel. Oro-oro Dowo"},
		{"Jl Ijen Kel. Oro-oro Dowo", "Jl Ijen"},
		{"sampah numpuk RT 03 RW 05 kel. Sawojajar", "RT 03 RW 05"},
		{"sampah numpuk RT.03/RW.05", "RT 03 RW 05"},
		{"sampah numpuk rt03/rw05", "rt03/rw05"},
		{"pohon tumbang dekat Pasar Blimbing", "Pasar Blimbing"},
		{"parkir liar depan Matos tiap sore", "depan Matos"},
		{"macet di depan Alun-alun Tugu", "depan Alun-alun Tugu"},
		{"sampah numpuk di Sawojajar", "Sawojajar"},
		{"sampah di buang sembarangan", ""},
		{"sampah di buang sembarangan di Sawojajar", "Sawojajar"},
		{"lampu peteng nang Jl Sukarno Hatta", "Jl Sukarno Hatta"},
		{"Jln MT Haryono diperbaiki kapan", "Jln MT Haryono"},
		{"Jl Ijen sudah 3 hari", "Jl Ijen"},
		{"Jl Ijen 3 hari belum", "Jl Ijen"},
		{"Jl Danau Toba jalannya rusak", "Jl Danau Toba"},
		{"Jl " + strings.Repeat("Panjang ", 10), "Jl Panjang Panjang Panjang Panjang"},
		{"Jl " + strings.Repeat("X", 60), "Jl " + strings.Repeat("X", 37)},
		{"", ""},
		{"\xff\xfe Jl \xff", ""},
		{"Jl.", ""},
	}
	for _, tt := range tests {
		got := InferLocation(tt.in)
		if got != tt.want {
			t.Errorf("InferLocation(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if n := utf8.RuneCountInString(got); n > 40 || !utf8.ValidString(got) {
			t.Errorf("InferLocation(%q) = %q: %d runes or invalid UTF-8", tt.in, got, n)
		}
	}
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint("  SAMBAT  Jalan\trusak\n di Jl Ijen ")
	b := Fingerprint("sambat jalan rusak di jl ijen")
	if a != b || a != "sambat jalan rusak di jl ijen" {
		t.Errorf("Fingerprint: got %q and %q, want both %q", a, b, "sambat jalan rusak di jl ijen")
	}
	if Fingerprint("jalan rusak") == Fingerprint("jalan rusak parah") {
		t.Error("Fingerprint folds different texts together")
	}
	if got := Fingerprint("\xff jalan"); !utf8.ValidString(got) {
		t.Errorf("Fingerprint(invalid UTF-8) = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"SAMBAT jalan rusak", "CEK no. 4821-303", "KIM#-#Bu#JALAN#Jl Ijen#rusak",
		"TAMBAH 4821303 2 lubang", "smabat#rahasia#", "\xff\x00?", "?", "KIM 0812 3456 7890 x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c := Parse(in, parseTestCatalog)
		if c.Kind < KindNone || c.Kind > KindKIM {
			t.Fatalf("Parse(%q): kind %d", in, c.Kind)
		}
		for _, s := range []string{c.Keyword, c.Ticket, c.Category, c.Location, c.Text, c.Resident, c.ResidentName} {
			if !utf8.ValidString(s) {
				t.Fatalf("Parse(%q): invalid UTF-8 in %+v", in, c)
			}
		}
		if strings.Trim(c.Ticket, "0123456789") != "" {
			t.Fatalf("Parse(%q): ticket %q is not only digits", in, c.Ticket)
		}
		if c.Category != "" {
			if _, ok := parseTestCatalog.Get(c.Category); !ok {
				t.Fatalf("Parse(%q): unknown category %q", in, c.Category)
			}
		}
		if c.Kind == KindNone && (c.Exact || c.Keyword != "") {
			t.Fatalf("Parse(%q): KindNone with keyword %q", in, c.Keyword)
		}
	})
}

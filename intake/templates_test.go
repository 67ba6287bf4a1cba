package intake

import (
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// tplReplyKeys are the templates of templates.go (dialog prompts are
// added by dialog.go and tested there).
var tplReplyKeys = []string{"ack", "ack_kim", "ack_resident_kim", "repeat", "over_limit", "status",
	"status_list", "status_none", "invalid_ticket", "unknown_ticket", "added", "add_closed", "cancelled",
	"cancel_closed", "reopened", "reopen_denied", "help", "stopped", "started", "kim_refused", "kim_bad_phone",
	"empty_complaint", "notify_status", "missing_ticket", "missing_text", "error", "reminder", "reminder_missed", "escalation",
	"low_balance", "sim_expiry", "modem_stopped", "forward"}

// tplRealistic is what a typical reply echoes.
var tplRealistic = TemplateData{
	Ticket: "4821303", Category: "Jalan", Location: "Jl Ijen", OPD: "DPUPRPKP", Status: "diproses",
	Deadline: "19/12", Note: "Sudah disurvei, ditambal minggu depan", Text: "jalan berlubang", Keyword: "CEK",
	Price: "tarif SMS biasa", Name: "Bu Sri", Phone: "0812-3456-7890",
	Categories: []string{"JALAN", "POHON", "SAMPAH", "PJU", "BANJIR"},
	Tickets:    []TicketLine{{"4821303", "Jalan", "diproses"}, {"4821310", "Sampah", "diterima"}, {"4821327", "Lampu Jalan", "diteruskan"}},
	Count:      3, Max: 5,
}

// tplLongest holds the longest values a reply may realistically echo, and
// a 1,000-character note and text full of emoji.
func tplLongest() TemplateData {
	cat := "Saluran Air dan Drainase" // 24
	loc := "Jl. Raya Mayjen Sungkono Gg. III depan Masjid An-Nur RT 03/05"[:60]
	opd := "Dinas Pekerjaan Umum dan Penataan Ruang." // 40
	long := strings.Repeat("Sudah 2 minggu 😡 “belum” ada tindakan… ", 40)[:1000]
	return TemplateData{
		Ticket: "12" + "4821303", Category: cat, Location: loc, OPD: opd, Status: "diteruskan",
		Deadline: "19/12/2025", Note: long, Text: long, Keyword: "SAMBAT", Price: "Rp 350 per SMS (tarif biasa)",
		Name: "Ibu Sri Wahyuningsih Rahayu", Phone: "+6281234567890",
		Categories: []string{"JALAN", "POHON", "SAMPAH", "PJU", "BANJIR", "LALIN", "ADMINDUK", "TIBUM", "LAINNYA"},
		Tickets: []TicketLine{{"124821303", cat, "diteruskan"}, {"124821310", cat, "diproses"},
			{"124821327", cat, "diterima"}},
		Count: 12, Max: 5,
	}
}

func newTplTexts(t *testing.T, overrides map[string]string) *Texts {
	t.Helper()
	tx, err := NewTexts(overrides)
	if err != nil {
		t.Fatalf("NewTexts: %v", err)
	}
	return tx
}

func TestTexts_EveryTemplateFits(t *testing.T) {
	tx := newTplTexts(t, nil)
	keys := make([]string, 0, len(DefaultTemplates))
	for k := range DefaultTemplates {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	long := tplLongest()
	for _, k := range keys {
		for _, d := range []TemplateData{tplRealistic, long, {}} {
			got, err := tx.Render(k, d)
			if err != nil {
				t.Errorf("Render(%s): %v", k, err)
				continue
			}
			if n := Segments(got); n > MaxReplySegments || !IsGSM7(got) || !utf8.ValidString(got) {
				t.Errorf("Render(%s) = %d segments, GSM-7 %v: %q", k, n, IsGSM7(got), got)
			}
			if strings.Contains(got, "  ") || strings.Contains(got, "<no value>") {
				t.Errorf("Render(%s) = %q: double space or missing value", k, got)
			}
			if strings.Contains(DefaultTemplates[k], "{{.Ticket}}") && !strings.Contains(got, d.Ticket) {
				t.Errorf("Render(%s) lost the ticket number %q: %q", k, d.Ticket, got)
			}
		}
	}
}

// tplDefaultCodes are the codes of every default category, as help lists them.
func tplDefaultCodes() []string {
	var codes []string
	for _, c := range DefaultCategories() {
		codes = append(codes, c.Code)
	}
	return codes
}

func TestTexts_RealisticFitOneSMS(t *testing.T) {
	tx := newTplTexts(t, nil)
	d := tplRealistic
	d.Categories = tplDefaultCodes()
	for _, k := range tplReplyKeys {
		if !tx.Has(k) {
			t.Errorf("template %s missing", k)
			continue
		}
		got, err := tx.Render(k, d)
		if err != nil {
			t.Fatalf("Render(%s): %v", k, err)
		}
		if Segments(got) != 1 || len(got) > 160 {
			t.Errorf("Render(%s) takes %d segments (%d chars): %q", k, Segments(got), len(got), got)
		}
	}
	help, _ := tx.Render("help", d)
	for _, code := range d.Categories {
		if !strings.Contains(help, code) {
			t.Errorf("help %q does not list category %s", help, code)
		}
	}
	// The spec's own examples.
	want := map[string]string{
		"ack":            "Sambat diterima. No tiket 4821303 (Jalan, DPUPRPKP). Cek status: CEK 4821303",
		"status":         "Tiket 4821303 (Jalan, Jl Ijen): DIPROSES oleh DPUPRPKP. Target selesai 19/12.",
		"invalid_ticket": "No tiket 4821303 tidak valid, periksa lagi nomornya.",
	}
	for k, w := range want {
		if got, _ := tx.Render(k, tplRealistic); got != w {
			t.Errorf("Render(%s) = %q, want %q", k, got, w)
		}
	}
}

// TestTexts_StatusListFitsOneSMS: three open tickets in the categories with
// the longest default names, at the longest open status, fit one SMS.
func TestTexts_StatusListFitsOneSMS(t *testing.T) {
	cats := DefaultCategories()
	sort.Slice(cats, func(i, j int) bool { return len(cats[i].Name) > len(cats[j].Name) })
	d := TemplateData{Count: 3}
	for i, c := range cats[:3] {
		d.Tickets = append(d.Tickets, TicketLine{Ticket: TicketNumber("", int64(482130+i)), Category: c.Name, Status: string(Diteruskan)})
	}
	got, err := newTplTexts(t, nil).Render("status_list", d)
	if err != nil {
		t.Fatal(err)
	}
	if Segments(got) != 1 {
		t.Errorf("status_list takes %d segments (%d chars): %q", Segments(got), len(got), got)
	}
	for _, l := range d.Tickets {
		if !strings.Contains(got, l.Ticket+" "+l.Category+" DITERUSKAN") {
			t.Errorf("status_list %q lacks %s", got, l.Ticket)
		}
	}
}

func TestTexts_StatusNamesEverything(t *testing.T) {
	tx := newTplTexts(t, nil)
	long := tplLongest()
	long.Note = ""
	for _, k := range []string{"status", "notify_status", "reminder", "reminder_missed", "escalation", "cancelled",
		"reopened", "forward"} {
		got, err := tx.Render(k, long)
		if err != nil {
			t.Fatalf("Render(%s): %v", k, err)
		}
		for _, part := range []string{long.Ticket, long.Category, long.Location[:15], long.OPD} {
			if !strings.Contains(got, part) {
				t.Errorf("Render(%s) = %q lacks %q", k, got, part)
			}
		}
	}
	// A long location is shortened when that keeps the status one SMS.
	got, _ := tx.Render("status", long)
	if Segments(got) != 1 {
		t.Errorf("status with a 60-char location takes %d segments: %q", Segments(got), got)
	}
}

func TestTexts_CleansEchoes(t *testing.T) {
	tx := newTplTexts(t, nil)
	d := tplRealistic
	d.Note = "  “Sudah”\n\tdiperbaiki 👍…  "
	got, err := tx.Render("notify_status", d)
	if err != nil {
		t.Fatal(err)
	}
	if want := `Ket: "Sudah" diperbaiki ...`; !strings.HasSuffix(got, want) {
		t.Errorf("got %q, want suffix %q", got, want)
	}
	d.Note = strings.Repeat("catatan panjang ", 100)
	got, _ = tx.Render("notify_status", d)
	if Segments(got) > MaxReplySegments || !strings.Contains(got, "Tiket 4821303 (Jalan, Jl Ijen): DIPROSES") {
		t.Errorf("long note: %d segments, %q", Segments(got), got)
	}
	if !strings.Contains(got, "catatan panjang catatan") {
		t.Errorf("long note dropped entirely instead of shortened: %q", got)
	}
}

func TestNewTexts_Overrides(t *testing.T) {
	tx := newTplTexts(t, map[string]string{
		"ack":       "OK {{.Ticket}} {{upper .Category}}",
		"custom":    "Halo {{lower .Name}}\n\n{{.Text}}",
		"blank_out": "",
	})
	if got, _ := tx.Render("ack", tplRealistic); got != "OK 4821303 JALAN" {
		t.Errorf("override: got %q", got)
	}
	if got, _ := tx.Render("custom", tplRealistic); got != "Halo bu sri\njalan berlubang" {
		t.Errorf("new template: got %q", got)
	}
	if !tx.Has("custom") || tx.Has("nope") {
		t.Error("Has is wrong")
	}
	if _, err := tx.Render("nope", tplRealistic); err == nil {
		t.Error("Render of an unknown template: no error")
	}
	for key, bad := range map[string]string{"status": "{{.Ticket", "ack": "{{.Tiket}}", "help": "{{nofunc .Text}}"} {
		_, err := NewTexts(map[string]string{key: bad})
		if err == nil || !strings.HasPrefix(err.Error(), "templates."+key+":") {
			t.Errorf("NewTexts(%s: %q) = %v, want an error naming templates.%s", key, bad, err, key)
		}
	}
}

func TestNewTexts_ReadsDefaultsAtCall(t *testing.T) {
	const key = "zz_test_added_later"
	DefaultTemplates[key] = "ditambah {{.Ticket}}"
	defer delete(DefaultTemplates, key)
	tx := newTplTexts(t, nil)
	if got, err := tx.Render(key, tplRealistic); err != nil || got != "ditambah 4821303" {
		t.Errorf("template added to DefaultTemplates: got %q, %v", got, err)
	}
}

func FuzzRender(f *testing.F) {
	f.Add("Sudah diperbaiki", "jalan rusak", "Jl Ijen")
	f.Add(strings.Repeat("😀", 500), strings.Repeat("x", 2000), strings.Repeat("“", 100))
	f.Add("\xff\xfe\x00", "{{.Ticket}}", "\r\n\r\n")
	tx, err := NewTexts(nil)
	if err != nil {
		f.Fatal(err)
	}
	keys := append([]string(nil), tplReplyKeys...)
	f.Fuzz(func(t *testing.T, note, text, loc string) {
		d := tplLongest()
		d.Note, d.Text, d.Location, d.Name = note, text, loc, note
		for _, k := range keys {
			got, err := tx.Render(k, d)
			if err != nil {
				t.Fatalf("Render(%s): %v", k, err)
			}
			if Segments(got) > MaxReplySegments || !utf8.ValidString(got) || !IsGSM7(got) {
				t.Fatalf("Render(%s) = %q: %d segments", k, got, Segments(got))
			}
		}
	})
}

package intake

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/template"
	"unicode/utf8"
)

// MaxReplySegments is the most SMS one reply may take.
const MaxReplySegments = 3

// renderLocationLimit is how far Render may shorten a location to keep a reply
// in one SMS.
const renderLocationLimit = 25

// DefaultTemplates holds the Indonesian reply texts (text/template syntax,
// fields of TemplateData, functions upper, lower and join). The config's
// templates.* override them one by one; other files of this package add
// their own (dialog prompts) in init(). Field use per template:
//
//	ack, ack_kim, ack_resident_kim, repeat: Ticket, Category, OPD
//	cancelled, reopened: Ticket, Category, Location, OPD
//	  (ack_kim: Name or masked Phone of the resident; ack_resident_kim: Name or
//	  masked Phone of the volunteer)
//	status, notify_status: Ticket, Category, Location, Status, OPD, Deadline, Note
//	status_list: Tickets; status_none: none; over_limit: Max
//	invalid_ticket, unknown_ticket, added, add_closed, cancel_closed, reopen_denied: Ticket, Status, OPD
//	missing_text (TAMBAH with a ticket number but no text): Ticket, Category, OPD
//	help: Categories, Price; missing_ticket, empty_complaint: Keyword
//	kim_bad_phone: Phone and Text, both the number as typed
//	reminder, reminder_missed, escalation: Ticket, Category, Location, OPD, Deadline, Status, Count
//	forward (to humas: a resident's TAMBAH or BELUM when central.updates does not carry it):
//	  Ticket, Category, Location, OPD, Status, Note ("TAMBAH: …" or "BELUM: …")
//	low_balance, modem_stopped (to admins): Name (modem), Note (balance and limit; the reason)
//	sim_expiry (to admins): Name (modem), Deadline (the SIM's last active day)
//	digest: OPD, Deadline (the date), Count open, Max overdue, Tickets the longest overdue
var DefaultTemplates = map[string]string{
	"ack":              `Sambat diterima. No tiket {{.Ticket}} ({{.Category}}, {{.OPD}}). Cek status: CEK {{.Ticket}}`,
	"ack_kim":          `Sambat untuk warga {{or .Name .Phone "tanpa HP"}} diterima. No tiket {{.Ticket}} ({{.Category}}, {{.OPD}}). Cek: CEK {{.Ticket}}`,
	"ack_resident_kim": `Relawan KIM{{with or .Name .Phone}} {{.}}{{end}} mengirim sambat Anda. No tiket {{.Ticket}} ({{.Category}}, {{.OPD}}). Cek status: CEK {{.Ticket}}`,
	"repeat":           `Sambat ini sudah diterima sebelumnya, No tiket {{.Ticket}} ({{.Category}}). Cek status: CEK {{.Ticket}}`,
	"over_limit":       `Maaf, nomor ini sudah mengirim {{.Max}} sambat hari ini (batas harian). Pesan Anda disimpan. Silakan kirim lagi besok.`,
	"status":           `Tiket {{.Ticket}} ({{.Category}}{{with .Location}}, {{.}}{{end}}): {{upper .Status}} oleh {{.OPD}}.{{if .Deadline}} Target selesai {{.Deadline}}.{{end}}`,
	"status_list":      "Tiket terbuka:{{range .Tickets}}\n{{.Ticket}} {{.Category}} {{upper .Status}}{{end}}\nRincian: CEK <no>",
	"status_none":      `Tidak ada tiket terbuka dari nomor ini. Sambat baru: SAMBAT <isi>. Bantuan: INFO`,
	"invalid_ticket":   `No tiket {{.Ticket}} tidak valid, periksa lagi nomornya.`,
	"unknown_ticket":   `Tiket {{.Ticket}} tidak ditemukan untuk nomor ini. Periksa lagi nomornya.`,
	"added":            `Tambahan untuk tiket {{.Ticket}} diterima dan diteruskan ke {{.OPD}}.`,
	"add_closed":       `Tiket {{.Ticket}} sudah {{upper .Status}}, tambahan tidak bisa diteruskan. Sambat baru: SAMBAT <isi>`,
	"cancelled":        `Tiket {{.Ticket}} ({{.Category}}{{with .Location}}, {{.}}{{end}}) di {{.OPD}} sudah dibatalkan sesuai permintaan Anda.`,
	"cancel_closed":    `Tiket {{.Ticket}} sudah {{upper .Status}}, tidak bisa dibatalkan lagi.`,
	"reopened":         `Tiket {{.Ticket}} ({{.Category}}{{with .Location}}, {{.}}{{end}}) dibuka lagi dan dikembalikan ke {{.OPD}} untuk diproses.`,
	"reopen_denied":    `Tiket {{.Ticket}} tidak bisa dibuka lagi: hanya sekali, paling lambat 14 hari setelah SELESAI. Sambat baru: SAMBAT <isi>`,
	"help":             `SAMBAT <isi> atau SAMBAT#kategori#lokasi#isi. Kategori: {{join .Categories ","}}. Cek: CEK <no tiket>. Biaya: {{.Price}}`,
	"stopped":          `Kabar status tiket ke nomor ini dihentikan. Sambat tetap diterima. Kirim MULAI untuk mengaktifkan lagi.`,
	"started":          `Kabar status tiket ke nomor ini aktif lagi. Kirim STOP untuk menghentikan.`,
	"kim_refused":      `Maaf, nomor ini belum terdaftar sebagai relawan KIM, sambat tidak dibuat. Warga bisa kirim sendiri: SAMBAT <isi>`,
	"kim_bad_phone":    `No HP warga {{or .Phone .Text}} tidak valid. Format: KIM <hp warga> <isi>. Pakai - bila warga tidak punya HP.`,
	"empty_complaint":  `Isi sambat kosong. Kirim: {{or .Keyword "SAMBAT"}} <isi>, contoh: SAMBAT jalan berlubang depan SDN 3 Jl Ijen`,
	"notify_status":    `Tiket {{.Ticket}} ({{.Category}}{{with .Location}}, {{.}}{{end}}): {{upper .Status}} oleh {{.OPD}}.{{if .Note}} Ket: {{.Note}}{{end}}`,
	"missing_ticket":   `Sertakan no tiket, contoh: {{or .Keyword "CEK"}} 4821303`,
	"missing_text":     `Tulis tambahan info setelah no tiket, contoh: TAMBAH {{.Ticket}} lubang makin besar`,
	"error":            `Maaf, sedang ada gangguan. Silakan kirim ulang pesan Anda beberapa saat lagi.`,
	"reminder":         `[SAMBAT] Tiket {{.Ticket}} ({{.Category}}{{with .Location}}, {{.}}{{end}}) di {{.OPD}} harus ditangani sebelum {{.Deadline}}. Status: {{upper .Status}}`,
	"forward":          `[SAMBAT] Tiket {{.Ticket}} ({{.Category}}{{with .Location}}, {{.}}{{end}}) di {{.OPD}}, dari pelapor: {{.Note}}`,
	"reminder_missed":  `[SAMBAT] Tiket {{.Ticket}} ({{.Category}}{{with .Location}}, {{.}}{{end}}) di {{.OPD}} melewati target {{.Deadline}}. Mohon segera ditindaklanjuti.`,
	"escalation":       `[SAMBAT] Eskalasi: tiket {{.Ticket}} ({{.Category}}{{with .Location}}, {{.}}{{end}}) di {{.OPD}} lewat target {{.Deadline}}, status {{upper .Status}}.`,
	"low_balance":      `[SAMBAT] Pulsa modem {{.Name}} hampir habis: {{.Note}}. Mohon segera isi ulang.`,
	"sim_expiry":       `[SAMBAT] Masa aktif kartu modem {{.Name}} berakhir {{.Deadline}}. Mohon segera perpanjang.`,
	"modem_stopped":    `[SAMBAT] Modem {{.Name}} berhenti: {{.Note}}. Perbaiki lalu restart sambatd.`,
	"digest":           `[SAMBAT] Ringkasan {{.OPD}} {{.Deadline}}: {{.Count}} tiket terbuka, {{.Max}} lewat target.{{if .Tickets}} Terlama: {{range $i, $t := .Tickets}}{{if $i}}, {{end}}{{$t.Ticket}}{{end}}{{end}}`,
}

// TemplateData is what a reply template may use.
type TemplateData struct {
	Ticket, Category, Location, OPD, Status, Deadline, Note, Text, Keyword, Price, Name, Phone string

	Categories []string     // category codes, for help
	Tickets    []TicketLine // for status_list
	Count, Max int
}

// TicketLine is one ticket in a list reply.
type TicketLine struct{ Ticket, Category, Status string }

// Texts renders reply templates. It is read-only after NewTexts and safe
// for concurrent use.
type Texts struct {
	set map[string]*template.Template
}

var templateFuncs = template.FuncMap{
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"join":  strings.Join,
}

// NewTexts parses DefaultTemplates, as they are at the time of the call,
// with overrides replacing or adding entries. Each template is also run
// once on sample data, so a reference to a field that does not exist is
// caught here and not when a resident is waiting. Errors name the key
// ("templates.status: ...").
func NewTexts(overrides map[string]string) (*Texts, error) {
	src := make(map[string]string, len(DefaultTemplates)+len(overrides))
	for k, v := range DefaultTemplates {
		src[k] = v
	}
	for k, v := range overrides {
		src[k] = v
	}
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t := &Texts{set: make(map[string]*template.Template, len(src))}
	var errs []error
	for _, k := range keys {
		tpl, err := template.New(k).Funcs(templateFuncs).Option("missingkey=error").Parse(src[k])
		if err == nil {
			err = tpl.Execute(&bytes.Buffer{}, templateSample)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("templates.%s: %w", k, err))
			continue
		}
		t.set[k] = tpl
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// templateSample exercises every field when NewTexts checks a template.
var templateSample = TemplateData{
	Ticket: "4821303", Category: "Jalan", Location: "Jl Ijen", OPD: "DPUPRPKP", Status: "diproses",
	Deadline: "19/12", Note: "sudah dicek", Text: "jalan berlubang", Keyword: "SAMBAT", Price: "tarif SMS biasa",
	Name: "Bu Sri", Phone: "+6281234567890", Categories: []string{"JALAN", "SAMPAH"},
	Tickets: []TicketLine{{"4821303", "Jalan", "diproses"}, {"4821310", "Sampah", "diterima"}}, Count: 2, Max: 5,
}

// Has reports whether a template with that name exists.
func (t *Texts) Has(name string) bool {
	if t == nil {
		return false
	}
	_, ok := t.set[name]
	return ok
}

// Render runs the named template. Echoed values are cleaned to GSM-7 and
// put on one line; the result is cleaned to GSM-7 and its spaces
// collapsed (line breaks written in the template stay). A long Location is
// shortened when that alone makes the reply one SMS. When it would take
// more than MaxReplySegments SMS, the echoed Note, then Text, then
// Location are shortened step by step, and as a last resort the reply is
// cut. It never returns more than MaxReplySegments segments.
func (t *Texts) Render(name string, d TemplateData) (string, error) {
	var tpl *template.Template
	if t != nil {
		tpl = t.set[name]
	}
	if tpl == nil {
		return "", fmt.Errorf("render %s: unknown template", name)
	}
	d = cleanTemplateData(d)
	out, err := runTemplate(tpl, d)
	if err != nil {
		return "", err
	}
	if Segments(out) > 1 && utf8.RuneCountInString(d.Location) > renderLocationLimit {
		// A short location is enough to recognise a ticket: take it when
		// that makes the whole reply one SMS.
		short := d
		short.Location = templateShorten(d.Location, renderLocationLimit)
		if o, err := runTemplate(tpl, short); err == nil && Segments(o) == 1 {
			return o, nil
		}
	}
	for _, field := range []*string{&d.Note, &d.Text, &d.Location} {
		for _, limit := range []int{120, 60, 25, 0} {
			if Segments(out) <= MaxReplySegments {
				return out, nil
			}
			if utf8.RuneCountInString(*field) <= limit {
				continue
			}
			*field = templateShorten(*field, limit)
			if out, err = runTemplate(tpl, d); err != nil {
				return "", err
			}
		}
	}
	return TruncateSegments(out, MaxReplySegments), nil
}

func runTemplate(tpl *template.Template, d TemplateData) (string, error) {
	var b strings.Builder
	if err := tpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render %s: %w", tpl.Name(), err)
	}
	return templateTidyLines(ToGSM7(b.String())), nil
}

// templateTidyLines drops empty lines and leading and trailing line breaks; ToGSM7
// has already collapsed the spaces.
func templateTidyLines(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	lines := strings.Split(s, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if l != "" {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

// templateLine cleans an echoed value: GSM-7, every run of white space one space.
func templateLine(s string) string {
	return strings.Join(strings.Fields(ToGSM7(s)), " ")
}

func cleanTemplateData(d TemplateData) TemplateData {
	for _, f := range []*string{&d.Ticket, &d.Category, &d.Location, &d.OPD, &d.Status, &d.Deadline,
		&d.Note, &d.Text, &d.Keyword, &d.Price, &d.Name, &d.Phone} {
		*f = templateLine(*f)
	}
	cats := make([]string, len(d.Categories))
	for i, c := range d.Categories {
		cats[i] = templateLine(c)
	}
	d.Categories = cats
	lines := make([]TicketLine, len(d.Tickets))
	for i, l := range d.Tickets {
		lines[i] = TicketLine{Ticket: templateLine(l.Ticket), Category: templateLine(l.Category), Status: templateLine(l.Status)}
	}
	d.Tickets = lines
	return d
}

// templateShorten cuts s to at most limit runes including a trailing "..",
// preferring a word boundary. A limit below 3 empties it.
func templateShorten(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	if limit < 3 {
		return ""
	}
	r := []rune(s)
	return trimToWord(string(r[:limit-2]), limit/3) + ".."
}

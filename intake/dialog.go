package intake

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The menu dialog is a pure state machine shared by SMS sessions and the
// USSD gateway: StepDialog takes a state and one input and returns the next
// prompt and state. It does no I/O; the engine stores the state and carries
// out the output's Action.

// Dialog steps, the values of DialogState.Step.
const (
	StepMain        = "main"
	StepCategory    = "category"
	StepLocation    = "location"
	StepDescription = "description"
	StepConfirm     = "confirm"
	StepStatus      = "status"
	StepKIMPhone    = "kim_phone"
	StepKIMName     = "kim_name"
)

// DialogSteps lists every dialog step.
var DialogSteps = []string{StepMain, StepCategory, StepLocation, StepDescription,
	StepConfirm, StepStatus, StepKIMPhone, StepKIMName}

// Limits of a dialog prompt and of what a resident may type.
const (
	// LimitSMS is the longest SMS prompt: one GSM-7 segment.
	LimitSMS = 160
	// LimitUSSD is the longest USSD prompt: a 182-character screen less
	// the "CON " or "END " prefix.
	LimitUSSD = 178
	// Inputs are capped so that a state stays small.
	maxLocation    = 120
	maxDescription = 1000
	maxName        = 40
	minDescription = 3
	maxTicket      = 20 // digits; longer is no ticket number
	// catLabel caps a category name in the option list.
	catLabel = 28
	// catPerPage is the most options on one page of several: 9 turns the
	// page and 0 goes back.
	catPerPage = 8
)

// dialogFailText is the default of menu_fail, shown when a template fails
// to render, and itself when menu_fail fails too.
const dialogFailText = "Maaf, layanan sedang gangguan. Coba lagi nanti."

// The dialog's prompts, added to DefaultTemplates. Each fits one SMS with
// the "wrong choice" note before it (TestStepDialog_Paths and _Property
// check every prompt against the limits).
func init() {
	for k, v := range map[string]string{
		"menu_main":     "SAMBAT Kota Malang\n1 Sambat baru\n2 Cek status tiket\n3 Bantuan",
		"menu_main_kim": "SAMBAT Kota Malang\n1 Sambat baru\n2 Cek status tiket\n3 Bantuan\n4 Sambat utk warga (KIM)",
		"menu_category": "Pilih kategori{{if gt .Max 1}} ({{.Count}}/{{.Max}}){{end}}:\n" +
			"{{range .Categories}}{{.}}\n{{end}}{{if gt .Max 1}}9 Lanjut\n{{end}}0 Kembali",
		"menu_location":    "{{.Category}}. Di mana lokasinya? (jalan, RT/RW, kelurahan) Ketik - bila tidak ada.\n0 Kembali",
		"menu_description": "{{.Category}}{{with .Location}}, {{.}}{{end}}. Tulis isi sambat Anda:\n0 Kembali",
		"menu_confirm": "Kirim sambat?\n{{.Category}}, {{.Location}}: {{.Text}}\n" +
			"{{if .Name}}Utk {{.Name}}\n{{else if .Phone}}Utk {{.Phone}}\n{{end}}1 Kirim 2 Ubah 3 Batal 0 Kembali",
		"menu_status":    "Ketik no tiket Anda (contoh 4821303):\n0 Kembali",
		"menu_kim_phone": "Sambat utk warga. Ketik no HP warga, atau - bila warga tidak punya HP:\n0 Kembali",
		"menu_kim_name":  "{{with .Phone}}HP {{.}}. {{end}}Nama warga? Ketik - bila tanpa nama:\n0 Kembali",
		"menu_invalid":   "Pilihan salah.",
		"menu_short":     "Terlalu pendek, tulis min 3 huruf.",
		"menu_bad_phone": "No HP tidak valid.",
		"menu_filing":    "Sambat Anda{{with .Category}} ({{.}}){{end}} sedang diproses. No tiket segera dikirim.",
		"menu_checking":  "Mengecek tiket {{.Ticket}}...",
		"menu_help": "SAMBAT Pemkot Malang. Kirim SMS: SAMBAT <isi>, atau MENU utk pilihan. " +
			"Cek status: CEK <no tiket>. Batal: BATAL <no tiket>.",
		"menu_cancelled": "Sambat dibatalkan, tidak ada yang dikirim. Terima kasih.",
		// A template failed; also the gateway's screen when the engine
		// failed or was late (Engine.USSDFailText).
		"menu_fail": dialogFailText,
		// USSD screens outside the dialog (engine_dialog.go).
		"ussd_unknown_number": ussdUnknownNumberText,
		"ussd_unavailable":    ussdUnavailableText,
	} {
		DefaultTemplates[k] = v
	}
}

// DialogState is the serialisable state of one dialog (the engine stores it
// JSON-encoded in a Session). Resident is the E.164 phone of the resident a
// KIM volunteer files for, "" when the resident has none.
type DialogState struct {
	Step         string `json:"step"`
	Page         int    `json:"page,omitempty"`
	Category     string `json:"category,omitempty"` // category code
	Location     string `json:"location,omitempty"`
	Description  string `json:"description,omitempty"`
	Resident     string `json:"resident,omitempty"`
	ResidentName string `json:"resident_name,omitempty"`
	ForResident  bool   `json:"for_resident,omitempty"`
}

// DialogEnv is what a dialog step depends on besides its state.
type DialogEnv struct {
	Categories []Category // config order; LAINNYA included
	Volunteer  bool       // the phone is a registered KIM volunteer: option 4
	Limit      int        // longest prompt in septets: LimitSMS or LimitUSSD (0 means LimitSMS)
	Texts      *Texts     // templates; nil means the defaults
}

// DialogAction is what the engine must do after a step.
type DialogAction int

// Dialog actions.
const (
	ActionNone   DialogAction = iota // show the prompt
	ActionFile                       // file a complaint from the output's State
	ActionStatus                     // look up the output's Ticket and answer its status
	ActionHelp                       // answer the help text
)

// String names the action for logs.
func (a DialogAction) String() string {
	switch a {
	case ActionFile:
		return "file"
	case ActionStatus:
		return "status"
	case ActionHelp:
		return "help"
	}
	return "none"
}

// DialogOutput is the result of one step: the prompt or closing text, and
// what to do. With ActionFile the State holds the complaint and Text is a
// provisional text the engine replaces with the acknowledgement; with
// ActionStatus, Ticket holds the digits typed.
type DialogOutput struct {
	Text   string
	End    bool
	Action DialogAction
	Ticket string
	State  DialogState
}

// StartDialog returns the main menu.
func StartDialog(env DialogEnv) DialogOutput {
	d := newDialog(env)
	return d.show(DialogState{Step: StepMain}, "")
}

// StepDialog applies one input to a dialog state. "00" returns to the main
// menu from anywhere, "0" goes one step back, a wrong answer shows the same
// prompt again with a short note. An unknown state starts over.
func StepDialog(env DialogEnv, st DialogState, input string) DialogOutput {
	return newDialog(env).step(st, input)
}

// step applies one input; see StepDialog.
func (d *dialog) step(st DialogState, input string) DialogOutput {
	in := strings.TrimSpace(strings.ToValidUTF8(input, ""))
	// "00", and any step of a filing for a resident once the number is no
	// longer a volunteer's (the config was reloaded), go to the main menu.
	kim := st.ForResident || st.Step == StepKIMPhone || st.Step == StepKIMName
	if in == "00" || (kim && !d.env.Volunteer) {
		return d.show(DialogState{Step: StepMain}, "")
	}
	switch st.Step {
	case StepMain:
		return d.main(in)
	case StepCategory:
		return d.category(st, in)
	case StepLocation:
		return d.location(st, in)
	case StepDescription:
		return d.description(st, in)
	case StepConfirm:
		return d.confirm(st, in)
	case StepStatus:
		return d.status(in)
	case StepKIMPhone:
		return d.kimPhone(in)
	case StepKIMName:
		return d.kimName(st, in)
	}
	return d.show(DialogState{Step: StepMain}, "")
}

// ReplayUSSD folds StepDialog over the inputs of a USSD request, joined by
// '*' as gateways send them, starting from the main menu; "" is the main
// menu. Inputs after a step that ends the dialog are ignored and that
// ending is returned, so a replay never acts twice.
func ReplayUSSD(env DialogEnv, text string) DialogOutput {
	d := newDialog(env)
	out := d.show(DialogState{Step: StepMain}, "")
	if text == "" {
		return out
	}
	for _, in := range strings.Split(text, "*") {
		out = d.step(out.State, in)
		if out.End {
			break
		}
	}
	return out
}

// dialog carries the environment of one step.
type dialog struct {
	env   DialogEnv
	texts *Texts
	paged []catPage // the category pages, computed once per step
}

var (
	defaultTextsOnce sync.Once
	defaultTexts     *Texts
)

func newDialog(env DialogEnv) *dialog {
	if env.Limit <= 0 {
		env.Limit = LimitSMS
	}
	d := &dialog{env: env, texts: env.Texts}
	if d.texts == nil {
		defaultTextsOnce.Do(func() {
			// The defaults are tested to parse, so the error is nil.
			defaultTexts, _ = NewTexts(nil)
		})
		d.texts = defaultTexts
	}
	return d
}

// main handles the main menu.
func (d *dialog) main(in string) DialogOutput {
	switch {
	case in == "1":
		return d.toCategory(DialogState{}, 0)
	case in == "2":
		return d.show(DialogState{Step: StepStatus}, "")
	case in == "3":
		return d.end(DialogState{Step: StepMain}, "menu_help", ActionHelp,
			TemplateData{Categories: d.codes()})
	case in == "4" && d.env.Volunteer:
		return d.show(DialogState{Step: StepKIMPhone, ForResident: true}, "")
	case in == "0":
		return d.show(DialogState{Step: StepMain}, "")
	}
	return d.show(DialogState{Step: StepMain}, d.note("menu_invalid"))
}

// status takes a ticket number, read as CEK reads it ("no. 4821-303").
func (d *dialog) status(in string) DialogOutput {
	if in == "0" {
		return d.show(DialogState{Step: StepMain}, "")
	}
	digits, _, _ := findTicket(in)
	if digits == "" || len(digits) > maxTicket {
		return d.show(DialogState{Step: StepStatus}, d.note("menu_invalid"))
	}
	out := d.end(DialogState{Step: StepStatus}, "menu_checking", ActionStatus, TemplateData{Ticket: digits})
	out.Ticket = digits
	return out
}

// kimPhone takes the resident's phone, or "-" for none. It starts the
// filing afresh.
func (d *dialog) kimPhone(in string) DialogOutput {
	st := DialogState{Step: StepKIMPhone, ForResident: true}
	switch in {
	case "0":
		return d.show(DialogState{Step: StepMain}, "")
	case "-":
		st.Step = StepKIMName
		return d.show(st, "")
	}
	phone, kind := NormalizePhone(in)
	if kind != AddrMobile {
		return d.show(st, d.note("menu_bad_phone"))
	}
	st.Resident, st.Step = phone, StepKIMName
	return d.show(st, "")
}

// kimName takes the resident's name, or "-" to leave it out.
func (d *dialog) kimName(st DialogState, in string) DialogOutput {
	switch in {
	case "0":
		st.Step, st.Resident, st.ResidentName = StepKIMPhone, "", ""
		return d.show(st, "")
	case "":
		return d.show(st, d.note("menu_invalid"))
	case "-":
		st.ResidentName = ""
	default:
		st.ResidentName = clip(in, maxName)
	}
	return d.toCategory(st, 0)
}

// toCategory moves to the category list at page, or straight to the
// location when the config has no categories (the engine infers one).
func (d *dialog) toCategory(st DialogState, page int) DialogOutput {
	st.Category, st.Page = "", page
	if len(d.env.Categories) == 0 {
		st.Step = StepLocation
		return d.show(st, "")
	}
	st.Step = StepCategory
	return d.show(st, "")
}

// category handles a category page: a number on the page, 9 for the next
// page, 0 for the previous one, or a code, name or alias typed out.
func (d *dialog) category(st DialogState, in string) DialogOutput {
	pages := d.pages()
	if st.Page < 0 || st.Page >= len(pages) {
		st.Page = 0
	}
	pg := pages[st.Page]
	n, isNum := number(in)
	switch {
	case in == "0" && st.Page > 0:
		return d.toCategory(st, st.Page-1)
	case in == "0":
		return d.back(st)
	case in == "9" && len(pages) > 1:
		return d.toCategory(st, (st.Page+1)%len(pages))
	case isNum && n >= 1 && n <= pg.end-pg.start:
		st.Category = d.env.Categories[pg.start+n-1].Code
	default:
		c, ok := d.findCategory(in)
		if !ok {
			return d.show(st, d.note("menu_invalid"))
		}
		st.Category = c.Code
	}
	st.Step = StepLocation
	return d.show(st, "")
}

// back leaves the category list: to the resident's name for a volunteer,
// else to the main menu.
func (d *dialog) back(st DialogState) DialogOutput {
	if st.ForResident {
		st.Step, st.Page, st.ResidentName = StepKIMName, 0, ""
		return d.show(st, "")
	}
	return d.show(DialogState{Step: StepMain}, "")
}

// location takes free text, or "-" for none.
func (d *dialog) location(st DialogState, in string) DialogOutput {
	switch in {
	case "0":
		if len(d.env.Categories) == 0 {
			return d.back(st)
		}
		return d.toCategory(st, st.Page)
	case "":
		return d.show(st, d.note("menu_invalid"))
	case "-":
		st.Location = ""
	default:
		st.Location = clip(in, maxLocation)
	}
	st.Step = StepDescription
	return d.show(st, "")
}

// description takes free text of at least three characters.
func (d *dialog) description(st DialogState, in string) DialogOutput {
	if in == "0" {
		st.Step, st.Location = StepLocation, ""
		return d.show(st, "")
	}
	if utf8.RuneCountInString(in) < minDescription {
		return d.show(st, d.note("menu_short"))
	}
	st.Description = clip(in, maxDescription)
	st.Step = StepConfirm
	return d.show(st, "")
}

// confirm sends (1), changes (2: back to the category) or cancels (3).
func (d *dialog) confirm(st DialogState, in string) DialogOutput {
	switch in {
	case "1":
		return d.end(st, "menu_filing", ActionFile, TemplateData{Category: d.categoryName(st.Category)})
	case "2":
		return d.toCategory(st, st.Page)
	case "3":
		return d.end(DialogState{Step: StepMain}, "menu_cancelled", ActionNone, TemplateData{})
	case "0":
		st.Step, st.Description = StepDescription, ""
		return d.show(st, "")
	}
	return d.show(st, d.note("menu_invalid"))
}

// findCategory matches a typed code, name or alias, ignoring case.
func (d *dialog) findCategory(in string) (Category, bool) {
	if in == "" {
		return Category{}, false
	}
	for _, c := range d.env.Categories {
		if strings.EqualFold(in, c.Code) || strings.EqualFold(in, c.Name) {
			return c, true
		}
		for _, a := range c.Aliases {
			if strings.EqualFold(in, a) {
				return c, true
			}
		}
	}
	return Category{}, false
}

// categoryName returns the display name of a category code.
func (d *dialog) categoryName(code string) string {
	for _, c := range d.env.Categories {
		if c.Code == code {
			if c.Name != "" {
				return c.Name
			}
			return c.Code
		}
	}
	return code
}

// codes lists the category codes, for the help text.
func (d *dialog) codes() []string {
	out := make([]string, 0, len(d.env.Categories))
	for _, c := range d.env.Categories {
		out = append(out, c.Code)
	}
	return out
}

// number parses a choice made only of one or two ASCII digits (no sign).
func number(s string) (int, bool) {
	if len(s) == 0 || len(s) > 2 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// clip cuts s to at most n runes.
func clip(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return strings.TrimSpace(s[:pos])
		}
		i++
	}
	return s
}

package intake

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Rendering of the dialog's prompts: templates, the wrong-answer note,
// the category pages and the limits of one SMS or USSD screen.

// catPage is one page of the category list: Categories[start:end].
type catPage struct{ start, end int }

// show renders the prompt of st's step, after note when there is one.
func (d *dialog) show(st DialogState, note string) DialogOutput {
	var text string
	var err error
	switch st.Step {
	case StepCategory:
		text, err = d.categoryPrompt(st, note)
	case StepConfirm:
		text, err = d.confirmPrompt(st, note)
	default:
		text, err = d.render(promptName(st, d.env.Volunteer), d.promptData(st), note)
	}
	if err != nil {
		return DialogOutput{Text: d.failText(), End: true, State: DialogState{Step: StepMain}}
	}
	return DialogOutput{Text: d.fit(text), State: st}
}

// failText is the screen when a prompt fails to render: the menu_fail
// template, or dialogFailText when that fails too.
func (d *dialog) failText() string {
	text, err := d.texts.Render("menu_fail", TemplateData{})
	if err != nil || text == "" {
		text = dialogFailText
	}
	return d.fit(text)
}

// end closes the dialog with a text and an action for the engine.
func (d *dialog) end(st DialogState, name string, a DialogAction, data TemplateData) DialogOutput {
	text, err := d.render(name, data, "")
	if err != nil {
		return DialogOutput{Text: d.failText(), End: true, Action: a, State: st}
	}
	return DialogOutput{Text: d.fit(text), End: true, Action: a, State: st}
}

// promptName is the template of a step's prompt.
func promptName(st DialogState, volunteer bool) string {
	switch st.Step {
	case StepLocation:
		return "menu_location"
	case StepDescription:
		return "menu_description"
	case StepStatus:
		return "menu_status"
	case StepKIMPhone:
		return "menu_kim_phone"
	case StepKIMName:
		return "menu_kim_name"
	}
	if volunteer {
		return "menu_main_kim"
	}
	return "menu_main"
}

// promptData fills what a prompt may mention.
func (d *dialog) promptData(st DialogState) TemplateData {
	return TemplateData{
		Category: cutSeptets(d.categoryName(st.Category), catLabel),
		Location: cutSeptets(st.Location, catLabel),
		Name:     cutSeptets(st.ResidentName, 20),
		Phone:    st.Resident,
	}
}

// render renders a template, after note when there is one.
func (d *dialog) render(name string, data TemplateData, note string) (string, error) {
	text, err := d.texts.Render(name, data)
	if err != nil {
		return "", err
	}
	if note != "" {
		text = note + "\n" + text
	}
	return text, nil
}

// note renders a short note put before a repeated prompt.
func (d *dialog) note(name string) string {
	text, err := d.texts.Render(name, TemplateData{})
	if err != nil {
		return ""
	}
	return text
}

// fit is the last guard of the limit, for templates an admin made too
// long: the prompt is cut, losing its end rather than the screen.
func (d *dialog) fit(text string) string {
	if Septets(text) <= d.env.Limit {
		return text
	}
	return cutSeptets(text, d.env.Limit)
}

// cutSeptets cuts s to at most n septets, ending with ".." when cut,
// at a word boundary when one is near.
func cutSeptets(s string, n int) string {
	if Septets(s) <= n {
		return s
	}
	if n < 3 {
		return ""
	}
	used, end := 0, 0
	for i, r := range s {
		w := Septets(string(r))
		if used+w > n-2 {
			break
		}
		used += w
		end = i + utf8.RuneLen(r)
	}
	p := s[:end]
	if sp := strings.LastIndexAny(p, " \n"); sp > 0 && len(p)-sp <= 15 {
		p = p[:sp]
	}
	return strings.TrimRight(p, " \n,;:-.") + ".."
}

// categoryPrompt renders one page of the category list.
func (d *dialog) categoryPrompt(st DialogState, note string) (string, error) {
	pages := d.pages()
	if st.Page < 0 || st.Page >= len(pages) {
		st.Page = 0
	}
	pg := pages[st.Page]
	data := TemplateData{Categories: d.catLines(pg), Count: st.Page + 1, Max: len(pages)}
	return d.render("menu_category", data, note)
}

// catLines lists the options of a page: "1 Jalan", "2 Drainase". They go
// in TemplateData.Categories, since Render puts an echoed string on one line.
func (d *dialog) catLines(pg catPage) []string {
	lines := make([]string, 0, pg.end-pg.start)
	for i := pg.start; i < pg.end; i++ {
		c := d.env.Categories[i]
		label := c.Name
		if label == "" {
			label = c.Code
		}
		lines = append(lines, strconv.Itoa(i-pg.start+1)+" "+cutSeptets(label, catLabel))
	}
	return lines
}

// pages splits the categories into pages that fit the limit even with the
// "wrong choice" note: one page of up to nine when all fit, else pages of
// up to eight, with 9 turning the page.
func (d *dialog) pages() []catPage {
	if d.paged != nil {
		return d.paged
	}
	n := len(d.env.Categories)
	note := d.note("menu_invalid")
	if n <= catPerPage+1 && d.pageFits(catPage{0, n}, 1, note) {
		d.paged = []catPage{{0, n}}
		return d.paged
	}
	base := d.env.Limit // an empty page of several, header and navigation
	if text, err := d.render("menu_category", TemplateData{Count: 99, Max: 99}, note); err == nil {
		base = Septets(text)
	}
	for start := 0; start < n; {
		k := d.estimate(start, base)
		for k > 1 && !d.pageFits(catPage{start, start + k}, 99, note) {
			k--
		}
		d.paged = append(d.paged, catPage{start, start + k})
		start += k
	}
	return d.paged
}

// estimate guesses how many options from start fit on a page of several,
// from the length of the empty page and of each line.
func (d *dialog) estimate(start, base int) int {
	used, k := base, 0
	for i := start; i < len(d.env.Categories) && k < catPerPage; i++ {
		used += Septets(d.catLines(catPage{i, i + 1})[0]) + 1
		if used > d.env.Limit && k > 0 {
			break
		}
		k++
	}
	return k
}

// pageFits reports whether a page renders within the limit; shown is the
// page count shown (99 reserves room for two digits).
func (d *dialog) pageFits(pg catPage, shown int, note string) bool {
	data := TemplateData{Categories: d.catLines(pg), Count: shown, Max: shown}
	text, err := d.render("menu_category", data, note)
	return err == nil && Septets(text) <= d.env.Limit
}

// confirmPrompt renders the summary, the description cut to the room
// left by the rest of the prompt.
func (d *dialog) confirmPrompt(st DialogState, note string) (string, error) {
	data := d.promptData(st)
	if data.Location == "" {
		data.Location = "-"
	}
	base, err := d.render("menu_confirm", data, note)
	if err != nil {
		return "", err
	}
	room := d.env.Limit - Septets(base)
	text := base
	// Cleaning to GSM-7 may change lengths, so measure what rendered.
	for range 4 {
		data.Text = cutSeptets(st.Description, room)
		if text, err = d.render("menu_confirm", data, note); err != nil {
			return "", err
		}
		over := Septets(text) - d.env.Limit
		if over <= 0 {
			break
		}
		room -= over
	}
	return text, nil
}

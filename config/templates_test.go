package config

import (
	"sort"
	"strings"
	"testing"

	"github.com/kotamalang/sambatd/intake"
)

// TestDefault_RepliesFitOneSMS: with the built-in configuration's own
// categories, help and a bare CEK listing three open tickets each fit one
// SMS.
func TestDefault_RepliesFitOneSMS(t *testing.T) {
	s, err := mustLoad(t, "").Settings()
	if err != nil {
		t.Fatal(err)
	}
	texts, err := intake.NewTexts(s.Templates)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, c := range s.Categories {
		codes = append(codes, c.Code)
	}
	help, err := texts.Render("help", intake.TemplateData{Categories: codes, Price: s.SMSPrice})
	if err != nil {
		t.Fatal(err)
	}
	if intake.Segments(help) != 1 {
		t.Errorf("help takes %d SMS (%d chars): %q", intake.Segments(help), len(help), help)
	}
	for _, code := range codes {
		if !strings.Contains(help, code) {
			t.Errorf("help %q does not list category %s", help, code)
		}
	}

	// The worst case: the three longest names at the longest open status.
	cats := append([]intake.Category(nil), s.Categories...)
	sort.SliceStable(cats, func(i, j int) bool { return len(cats[i].Name) > len(cats[j].Name) })
	var d intake.TemplateData
	for i, c := range cats[:3] {
		d.Tickets = append(d.Tickets, intake.TicketLine{Ticket: intake.TicketNumber(s.TicketPrefix, int64(482130+i)),
			Category: c.Name, Status: string(intake.Diteruskan)})
	}
	d.Count = len(d.Tickets)
	list, err := texts.Render("status_list", d)
	if err != nil {
		t.Fatal(err)
	}
	if intake.Segments(list) != 1 {
		t.Errorf("status_list takes %d SMS (%d chars): %q", intake.Segments(list), len(list), list)
	}
	for _, l := range d.Tickets {
		if !strings.Contains(list, l.Ticket+" "+l.Category) {
			t.Errorf("status_list %q lacks %s %s", list, l.Ticket, l.Category)
		}
	}
}

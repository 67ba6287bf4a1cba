package config

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// RepeatWindow is how long the same text from the same number counts as a
// repeat of the earlier complaint (the spec fixes it at 10 minutes).
const RepeatWindow = 10 * time.Minute

// Settings converts the configuration into what the engine reads: the
// location of the time zone, holidays at midnight in that zone, quiet hours
// as offsets from midnight, and every phone number in E.164. It fails on a
// configuration Validate would refuse.
func (c *Config) Settings() (intake.Settings, error) {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return intake.Settings{}, fmt.Errorf("timezone: %w", err)
	}
	sla, err := c.slaSettings(loc)
	if err != nil {
		return intake.Settings{}, err
	}
	p := phoneList{}
	s := intake.Settings{
		Location:       loc,
		TicketPrefix:   c.Ticket.Prefix,
		City:           c.City,
		Unknown:        c.Intake.Unknown,
		MaxPerDay:      c.Intake.MaxPerDay,
		HelpPerHour:    c.Intake.HelpPerHour,
		SessionTimeout: c.Intake.SessionTimeout,
		RepeatWindow:   RepeatWindow,
		Blocklist:      p.norm("intake.blocklist", c.Intake.Blocklist),
		Monitors:       p.norm("monitors", c.Monitors),
		Admins:         p.norm("admins", c.Admins),
		SLA:            sla,
		Templates:      maps.Clone(c.Templates),
		SMSPrice:       c.Intake.SMSPrice,
		CentralSync:    c.Central.URL != "",
		CentralUpdates: c.Central.Updates,
	}
	if s.Templates == nil {
		s.Templates = map[string]string{}
	}
	s.Categories = c.categories()
	s.OPDs, s.Volunteers = c.people(&p)
	if len(p.bad) > 0 {
		return intake.Settings{}, p.bad
	}
	return s, nil
}

// categories copies the categories for the engine.
func (c *Config) categories() []intake.Category {
	var out []intake.Category
	for _, cat := range c.Categories {
		out = append(out, intake.Category{
			Code: cat.Code, Name: cat.Name, OPD: cat.OPD, ServiceCode: cat.ServiceCode,
			Aliases: slices.Clone(cat.Aliases), Words: slices.Clone(cat.Words),
		})
	}
	return out
}

// people copies the departments and volunteers with their phones in E.164.
func (c *Config) people(p *phoneList) (opds []intake.OPD, volunteers []intake.Volunteer) {
	for i, o := range c.OPDs {
		opds = append(opds, intake.OPD{
			Code: o.Code, Name: o.Name, Humas: p.norm(fmt.Sprintf("opds[%d].humas", i), o.Humas),
		})
	}
	for i, v := range c.KIM.Volunteers {
		ph, ok := normalizePhone(v.Phone)
		if !ok {
			p.bad = append(p.bad, Problem{Key: fmt.Sprintf("kim.volunteers[%d].phone", i), Msg: fmt.Sprintf("not a phone number: %q", v.Phone)})
		}
		volunteers = append(volunteers, intake.Volunteer{Phone: ph, Name: v.Name, Kelurahan: v.Kelurahan})
	}
	return opds, volunteers
}

// slaSettings converts the deadline rules; holidays are midnight in loc.
func (c *Config) slaSettings(loc *time.Location) (intake.SLA, error) {
	start, end, err := parseQuietHours(c.SLA.QuietHours)
	if err != nil {
		return intake.SLA{}, fmt.Errorf("sla.quiet_hours: %w", err)
	}
	out := intake.SLA{
		Respond:       c.SLA.Respond,
		Resolve:       c.SLA.Resolve,
		WorkingDays:   c.SLA.WorkingDays,
		RemindBefore:  c.SLA.RemindBefore,
		EscalateAfter: c.SLA.EscalateAfter,
		QuietStart:    start,
		QuietEnd:      end,
	}
	for i, h := range c.SLA.Holidays {
		d, err := time.ParseInLocation(time.DateOnly, h, loc)
		if err != nil {
			return intake.SLA{}, fmt.Errorf("sla.holidays[%d]: %w", i, err)
		}
		out.Holidays = append(out.Holidays, d)
	}
	return out, nil
}

// phoneList normalises lists of phones, collecting the bad ones.
type phoneList struct{ bad Problems }

func (p *phoneList) norm(key string, phones []string) []string {
	var out []string
	for i, ph := range phones {
		e, ok := normalizePhone(ph)
		if !ok {
			p.bad = append(p.bad, Problem{Key: fmt.Sprintf("%s[%d]", key, i), Msg: fmt.Sprintf("not a phone number: %q", ph)})
			continue
		}
		out = append(out, e)
	}
	return out
}

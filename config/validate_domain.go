package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// FallbackCategory is the category of complaints that name none and whose
// words suggest none: it must exist.
const FallbackCategory = "LAINNYA"

func (c *Config) checkCategories(ch *checker) {
	names := map[string]string{} // upper-cased code or alias → category code
	hasFallback := false
	for i, cat := range c.Categories {
		key := fmt.Sprintf("categories[%d]", i)
		checkCategoryNames(ch, key, cat, names)
		hasFallback = hasFallback || strings.EqualFold(cat.Code, FallbackCategory)
		if strings.TrimSpace(cat.Name) == "" {
			ch.add(key+".name", "required")
		}
		for j, w := range cat.Words {
			if strings.TrimSpace(w) == "" {
				ch.add(fmt.Sprintf("%s.words[%d]", key, j), "empty word")
			}
		}
		if cat.OPD == "" {
			ch.add(key+".opd", "required")
		} else if !c.hasOPD(cat.OPD) {
			ch.add(key+".opd", "unknown department %q", cat.OPD)
		}
		if c.Central.URL != "" && cat.ServiceCode == "" {
			ch.add(key+".service_code", "required when central.url is set")
		}
	}
	if !hasFallback {
		ch.add("categories", "no %s category (where complaints with no recognisable category go)", FallbackCategory)
	}
}

// checkCategoryNames checks the code and aliases of one category: one word
// each, and none naming two categories (residents type them, case folded).
func checkCategoryNames(ch *checker, key string, cat Category, names map[string]string) {
	code := strings.ToUpper(cat.Code)
	switch {
	case cat.Code == "":
		ch.add(key+".code", "required")
	case !codeRe.MatchString(cat.Code):
		ch.add(key+".code", "want one word of letters and digits, got %q", cat.Code)
	case names[code] != "":
		ch.add(key+".code", "duplicate %q (already names category %s)", cat.Code, names[code])
	default:
		names[code] = cat.Code
	}
	for j, a := range cat.Aliases {
		akey := fmt.Sprintf("%s.aliases[%d]", key, j)
		up := strings.ToUpper(a)
		switch {
		case !codeRe.MatchString(a):
			ch.add(akey, "want one word of letters and digits, got %q", a)
		case names[up] != "" && names[up] != cat.Code:
			ch.add(akey, "%q already names category %s", a, names[up])
		default:
			names[up] = cat.Code
		}
	}
}

func (c *Config) checkPeople(ch *checker) {
	checkPhones(ch, "monitors", c.Monitors)
	checkPhones(ch, "admins", c.Admins)
	seen := map[string]int{}
	for i, v := range c.KIM.Volunteers {
		key := fmt.Sprintf("kim.volunteers[%d]", i)
		p, ok := normalizePhone(v.Phone)
		if !ok {
			ch.add(key+".phone", "not a phone number: %q", v.Phone)
		} else if j, dup := seen[p]; dup {
			ch.add(key+".phone", "duplicate of kim.volunteers[%d]", j)
		} else {
			seen[p] = i
		}
		if strings.TrimSpace(v.Name) == "" {
			ch.add(key+".name", "required")
		}
	}
}

func (c *Config) checkSLA(ch *checker) {
	s := c.SLA
	if s.Respond <= 0 {
		ch.add("sla.respond", "must be positive, got %d", s.Respond)
	}
	if s.Resolve <= 0 {
		ch.add("sla.resolve", "must be positive, got %d", s.Resolve)
	} else if s.Resolve < s.Respond {
		ch.add("sla.resolve", "%d is shorter than sla.respond (%d)", s.Resolve, s.Respond)
	}
	for i, h := range s.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			ch.add(fmt.Sprintf("sla.holidays[%d]", i), "want YYYY-MM-DD, got %q", h)
		}
	}
	if s.RemindBefore < 0 {
		ch.add("sla.remind_before", "must not be negative")
	}
	if s.EscalateAfter < 0 {
		ch.add("sla.escalate_after", "must not be negative")
	}
	if _, _, err := parseQuietHours(s.QuietHours); err != nil {
		ch.add("sla.quiet_hours", "want HH:MM-HH:MM, got %q", s.QuietHours)
	}
}

// checkTemplates checks each override the way the engine will use it
// (intake.NewTexts parses and runs it on sample data) and refuses names
// the engine has no reply for, which are typos.
func (c *Config) checkTemplates(ch *checker) {
	names := make([]string, 0, len(c.Templates))
	for name := range c.Templates {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		key := "templates." + name
		switch {
		case intake.DefaultTemplates[name] == "":
			ch.add(key, "unknown reply name (see templates in sambatd.example.yaml)")
		case strings.TrimSpace(c.Templates[name]) == "":
			ch.add(key, "empty")
		}
	}
	if _, err := intake.NewTexts(c.Templates); err != nil {
		for _, e := range flatten(err) {
			msg := e.Error()
			if key, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(key, "templates.") {
				ch.add(key, "%s", rest)
			} else {
				ch.add("templates", "%s", msg)
			}
		}
	}
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (c *Config) checkCentral(ch *checker) {
	ct := c.Central
	if ct.URL == "" {
		return
	}
	checkURL(ch, "central.url", ct.URL)
	if ct.APIKey == "" {
		ch.add("central.api_key", "required when central.url is set")
	}
	if ct.PollInterval <= 0 {
		ch.add("central.poll_interval", "must be positive")
	}
}

// parseQuietHours parses "21:00-06:00" into offsets from midnight; ""
// means no quiet hours (0, 0).
func parseQuietHours(s string) (start, end time.Duration, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, 0, nil
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("parse quiet hours %q: want HH:MM-HH:MM", s)
	}
	if start, err = parseClock(from); err != nil {
		return 0, 0, err
	}
	if end, err = parseClock(to); err != nil {
		return 0, 0, err
	}
	return start, end, nil
}

// parseClock parses "HH:MM" (24 h) into an offset from midnight.
func parseClock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !digitsRe.MatchString(h) || !digitsRe.MatchString(m) {
		return 0, fmt.Errorf("parse clock %q: want HH:MM", s)
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if hh > 23 || mm > 59 {
		return 0, fmt.Errorf("parse clock %q: out of range", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

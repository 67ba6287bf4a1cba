package intake

import "time"

// workingDay reports whether the date of t (in its location) counts as a
// working day under sla.
func (s SLA) workingDay(t time.Time) bool {
	if !s.WorkingDays {
		return true
	}
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	y, m, d := t.Date()
	for _, h := range s.Holidays {
		hy, hm, hd := h.In(t.Location()).Date()
		if hy == y && hm == m && hd == d {
			return false
		}
	}
	return true
}

// Deadline returns the moment n working days after start, in loc: the
// same time of day as start, n working days on. A ticket filed on a day
// that is not a working day (a Sunday, a holiday) starts counting on the
// next working day, as a whole day: its deadline is the end (23:59:59)
// of the n-th working day from there, so a weekend filing gets n whole
// working days.
func (s SLA) Deadline(start time.Time, n int, loc *time.Location) time.Time {
	t := start.In(loc)
	if n > 0 && !s.workingDay(t) {
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		for !s.workingDay(d) {
			d = d.AddDate(0, 0, 1)
		}
		for n--; n > 0; {
			d = d.AddDate(0, 0, 1)
			if s.workingDay(d) {
				n--
			}
		}
		return d.AddDate(0, 0, 1).Add(-time.Second)
	}
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if s.workingDay(t) {
			n--
		}
	}
	return t
}

// quietUntil returns when the quiet hours that contain t end, or t itself
// when t is outside them. Quiet hours may span midnight (21:00-06:00).
func (s SLA) quietUntil(t time.Time, loc *time.Location) time.Time {
	if s.QuietStart == s.QuietEnd {
		return t
	}
	lt := t.In(loc)
	midnight := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	off := lt.Sub(midnight)
	switch {
	case s.QuietStart < s.QuietEnd: // same-day window, e.g. 13:00-14:00
		if off >= s.QuietStart && off < s.QuietEnd {
			return midnight.Add(s.QuietEnd)
		}
	case off >= s.QuietStart: // evening part of 21:00-06:00
		return midnight.AddDate(0, 0, 1).Add(s.QuietEnd)
	case off < s.QuietEnd: // morning part
		return midnight.Add(s.QuietEnd)
	}
	return t
}

// QuietUntil returns when a notification created at t may be sent: t itself
// outside the quiet hours, else the end of the quiet hours.
func (s Settings) QuietUntil(t time.Time) time.Time {
	return s.SLA.quietUntil(t, s.loc())
}

func (s Settings) loc() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

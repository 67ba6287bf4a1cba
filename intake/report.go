package intake

import (
	"sort"
	"time"
)

// ReportRow is one ticket of the monthly report.
type ReportRow struct {
	Ticket          Ticket
	RespondDeadline time.Time
	ResolveDeadline time.Time
	ResponseTime    time.Duration // 0 while the department has not acted
	ResolutionTime  time.Duration // 0 unless selesai
	MetRespond      string        // "ya", "tidak", or "" while it can still be met
	MetResolve      string        // "ya", "tidak", "" while open in time or not applicable (ditolak, dibatalkan)
}

// OPDSummary is one department's line of the monthly report.
type OPDSummary struct {
	OPD                           string
	Total, Open, Selesai, Ditolak int
	Dibatalkan                    int
	RespondMet, RespondMissed     int
	ResolveMet, ResolveMissed     int
	Overdue                       int // open and past the resolve deadline at the report time
	AvgResponse, AvgResolution    time.Duration
}

// Report computes the report rows of tickets and their per-department
// summary, judging deadlines as of now.
func (s Settings) Report(ts []Ticket, now time.Time) ([]ReportRow, []OPDSummary) {
	rows := make([]ReportRow, 0, len(ts))
	byOPD := map[string]*OPDSummary{}
	sums := map[string][2]time.Duration{}
	counts := map[string][2]int{}
	for _, t := range ts {
		r := s.reportRow(t, now)
		rows = append(rows, r)
		o := byOPD[t.OPD]
		if o == nil {
			o = &OPDSummary{OPD: t.OPD}
			byOPD[t.OPD] = o
		}
		o.add(r, now)
		sum, n := sums[t.OPD], counts[t.OPD]
		if r.ResponseTime > 0 {
			sum[0] += r.ResponseTime
			n[0]++
		}
		if r.ResolutionTime > 0 {
			sum[1] += r.ResolutionTime
			n[1]++
		}
		sums[t.OPD], counts[t.OPD] = sum, n
	}
	out := make([]OPDSummary, 0, len(byOPD))
	for code, o := range byOPD {
		if n := counts[code]; n[0] > 0 {
			o.AvgResponse = sums[code][0] / time.Duration(n[0])
		}
		if n := counts[code]; n[1] > 0 {
			o.AvgResolution = sums[code][1] / time.Duration(n[1])
		}
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OPD < out[j].OPD })
	return rows, out
}

func (s Settings) reportRow(t Ticket, now time.Time) ReportRow {
	r := ReportRow{Ticket: t,
		RespondDeadline: s.SLA.Deadline(t.CreatedAt, s.SLA.Respond, s.loc()),
		ResolveDeadline: s.SLA.Deadline(t.CreatedAt, s.SLA.Resolve, s.loc())}
	switch {
	case !t.RespondedAt.IsZero():
		r.ResponseTime = t.RespondedAt.Sub(t.CreatedAt)
		r.MetRespond = yesNo(!t.RespondedAt.After(r.RespondDeadline))
	case now.After(r.RespondDeadline) && t.Status != Dibatalkan:
		r.MetRespond = "tidak"
	}
	switch {
	case t.Status == Selesai:
		r.ResolutionTime = t.ClosedAt.Sub(t.CreatedAt)
		r.MetResolve = yesNo(!t.ClosedAt.After(r.ResolveDeadline))
	case t.Status.Open() && now.After(r.ResolveDeadline):
		r.MetResolve = "tidak"
	}
	return r
}

func (o *OPDSummary) add(r ReportRow, now time.Time) {
	o.Total++
	switch r.Ticket.Status {
	case Selesai:
		o.Selesai++
	case Ditolak:
		o.Ditolak++
	case Dibatalkan:
		o.Dibatalkan++
	default:
		o.Open++
		if now.After(r.ResolveDeadline) {
			o.Overdue++
		}
	}
	count(r.MetRespond, &o.RespondMet, &o.RespondMissed)
	count(r.MetResolve, &o.ResolveMet, &o.ResolveMissed)
}

func count(met string, yes, no *int) {
	switch met {
	case "ya":
		*yes++
	case "tidak":
		*no++
	}
}

func yesNo(b bool) string {
	if b {
		return "ya"
	}
	return "tidak"
}

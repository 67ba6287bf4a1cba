package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// runExport writes the monthly report as CSV: one row per ticket created
// in [--from, --to], or with --summary one row per department.
func runExport(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := flags("export")
	from := fs.String("from", "", "first day, YYYY-MM-DD (required)")
	to := fs.String("to", "", "last day, YYYY-MM-DD, included (required)")
	format := fs.String("format", "csv", "output format (csv)")
	summary := fs.Bool("summary", false, "one row per department instead of per ticket")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *format != "csv" {
		return fmt.Errorf("export: --format: only csv is supported: %w", errUsage)
	}
	c, err := openCLI(*path)
	if err != nil {
		return err
	}
	defer c.db.Close()
	s := c.engine.Settings()
	start, err1 := time.ParseInLocation(time.DateOnly, *from, s.Location)
	end, err2 := time.ParseInLocation(time.DateOnly, *to, s.Location)
	if err1 != nil || err2 != nil || end.Before(start) {
		return fmt.Errorf("export: want --from and --to as YYYY-MM-DD, from before to: %w", errUsage)
	}
	ts, err := ticketsBetween(ctx, c.engine, start, end.AddDate(0, 0, 1))
	if err != nil {
		return err
	}
	rows, sums := s.Report(ts, time.Now())
	w := csv.NewWriter(stdout)
	if *summary {
		writeSummary(w, sums)
	} else {
		writeRows(w, rows, s.Location)
	}
	w.Flush()
	return w.Error()
}

// ticketsBetween pages through tickets created in [start, end).
func ticketsBetween(ctx context.Context, e *intake.Engine, start, end time.Time) ([]intake.Ticket, error) {
	var out []intake.Ticket
	for off := 0; ; off += 500 {
		page, err := e.Tickets(ctx, intake.TicketFilter{Limit: 500, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, t := range page {
			if !t.CreatedAt.Before(start) && t.CreatedAt.Before(end) {
				out = append(out, t)
			}
		}
		// Newest first: once a page ends before start, the rest is older.
		if len(page) < 500 || page[len(page)-1].CreatedAt.Before(start) {
			return out, nil
		}
	}
}

func writeRows(w *csv.Writer, rows []intake.ReportRow, loc *time.Location) {
	w.Write([]string{"number", "created", "responded", "closed", "category", "opd", "status", "channel",
		"response_hours", "resolution_hours", "respond_deadline", "resolve_deadline", "met_respond", "met_resolve"})
	for i := len(rows) - 1; i >= 0; i-- { // oldest first
		r := rows[i]
		t := r.Ticket
		w.Write([]string{t.Number, stamp(t.CreatedAt, loc), stamp(t.RespondedAt, loc), stamp(t.ClosedAt, loc),
			t.Category, t.OPD, string(t.Status), t.Channel, hours(r.ResponseTime), hours(r.ResolutionTime),
			stamp(r.RespondDeadline, loc), stamp(r.ResolveDeadline, loc), r.MetRespond, r.MetResolve})
	}
}

func writeSummary(w *csv.Writer, sums []intake.OPDSummary) {
	w.Write([]string{"opd", "total", "open", "selesai", "ditolak", "dibatalkan", "respond_met", "respond_missed",
		"resolve_met", "resolve_missed", "overdue", "avg_response_hours", "avg_resolution_hours"})
	for _, s := range sums {
		w.Write([]string{s.OPD, itoa(s.Total), itoa(s.Open), itoa(s.Selesai), itoa(s.Ditolak), itoa(s.Dibatalkan),
			itoa(s.RespondMet), itoa(s.RespondMissed), itoa(s.ResolveMet), itoa(s.ResolveMissed), itoa(s.Overdue),
			hours(s.AvgResponse), hours(s.AvgResolution)})
	}
}

func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

func hours(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return strconv.FormatFloat(d.Hours(), 'f', 1, 64)
}

func itoa(n int) string { return strconv.Itoa(n) }

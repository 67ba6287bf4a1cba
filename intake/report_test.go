package intake

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSettings_Report(t *testing.T) {
	wib := time.FixedZone("WIB", 7*3600)
	at := func(d, h int) time.Time { return time.Date(2026, 12, d, h, 0, 0, 0, wib) }
	s := Settings{Location: wib, SLA: SLA{Respond: 3, Resolve: 7, WorkingDays: true}}
	ts := []Ticket{
		// Monday; acted on Wednesday (respond deadline Thursday 10:00), fixed
		// the next Tuesday (resolve deadline Wednesday 16th 10:00).
		{Number: "A", OPD: "DLH", Status: Selesai, CreatedAt: at(7, 10), RespondedAt: at(9, 10), ClosedAt: at(15, 10)},
		// Monday, never touched: both deadlines missed by the 18th.
		{Number: "B", OPD: "DLH", Status: Diterima, CreatedAt: at(7, 10)},
		// Friday, refused on Monday: in time, and no resolve deadline to judge.
		{Number: "C", OPD: "DISHUB", Status: Ditolak, CreatedAt: at(11, 9), RespondedAt: at(14, 9), ClosedAt: at(14, 9)},
	}
	rows, sum := s.Report(ts, at(18, 12))
	got := map[string][2]string{}
	for _, r := range rows {
		got[r.Ticket.Number] = [2]string{r.MetRespond, r.MetResolve}
	}
	want := map[string][2]string{"A": {"ya", "ya"}, "B": {"tidak", "tidak"}, "C": {"ya", ""}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("met deadlines (-want +got):\n%s", d)
	}
	if !rows[0].ResolveDeadline.Equal(at(16, 10)) || rows[0].ResponseTime != 48*time.Hour || rows[0].ResolutionTime != 192*time.Hour {
		t.Fatalf("row A: got %+v", rows[0])
	}
	wantSum := []OPDSummary{
		{OPD: "DISHUB", Total: 1, Ditolak: 1, RespondMet: 1, AvgResponse: 72 * time.Hour},
		{OPD: "DLH", Total: 2, Open: 1, Selesai: 1, RespondMet: 1, RespondMissed: 1, ResolveMet: 1, ResolveMissed: 1,
			Overdue: 1, AvgResponse: 48 * time.Hour, AvgResolution: 192 * time.Hour},
	}
	if d := cmp.Diff(wantSum, sum); d != "" {
		t.Fatalf("summary (-want +got):\n%s", d)
	}
}

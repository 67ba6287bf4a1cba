package intake

import (
	"testing"
	"time"
)

func TestSLA_Deadline(t *testing.T) {
	jkt := time.FixedZone("WIB", 7*3600)
	hol := time.Date(2026, 12, 25, 0, 0, 0, 0, jkt)
	s := SLA{WorkingDays: true, Holidays: []time.Time{hol}}
	tests := []struct {
		name  string
		start time.Time
		n     int
		want  time.Time
	}{
		{"Weekdays", time.Date(2026, 12, 1, 10, 0, 0, 0, jkt), 3, time.Date(2026, 12, 4, 10, 0, 0, 0, jkt)},
		{"OverWeekend", time.Date(2026, 12, 3, 10, 0, 0, 0, jkt), 3, time.Date(2026, 12, 8, 10, 0, 0, 0, jkt)},
		// Filed when no one works: counting starts with the whole of the
		// next working day.
		{"FiledSaturday", time.Date(2026, 12, 5, 9, 0, 0, 0, jkt), 1, time.Date(2026, 12, 7, 23, 59, 59, 0, jkt)},
		{"FiledSaturdayNight", time.Date(2026, 12, 5, 23, 0, 0, 0, jkt), 3, time.Date(2026, 12, 9, 23, 59, 59, 0, jkt)},
		{"FiledSundayNight", time.Date(2026, 12, 6, 1, 0, 0, 0, jkt), 3, time.Date(2026, 12, 9, 23, 59, 59, 0, jkt)},
		{"FiledOnHoliday", time.Date(2026, 12, 25, 10, 0, 0, 0, jkt), 1, time.Date(2026, 12, 28, 23, 59, 59, 0, jkt)},
		{"FiledFridayMorning", time.Date(2026, 12, 4, 1, 0, 0, 0, jkt), 3, time.Date(2026, 12, 9, 1, 0, 0, 0, jkt)},
		{"OverHoliday", time.Date(2026, 12, 23, 8, 0, 0, 0, jkt), 3, time.Date(2026, 12, 29, 8, 0, 0, 0, jkt)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Deadline(tt.start, tt.n, jkt); !got.Equal(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	calendar := SLA{}
	if got, want := calendar.Deadline(time.Date(2026, 12, 4, 10, 0, 0, 0, jkt), 3, jkt), time.Date(2026, 12, 7, 10, 0, 0, 0, jkt); !got.Equal(want) {
		t.Fatalf("calendar days: got %v, want %v", got, want)
	}
}

func TestSettings_QuietUntil(t *testing.T) {
	jkt := time.FixedZone("WIB", 7*3600)
	s := Settings{Location: jkt, SLA: SLA{QuietStart: 21 * time.Hour, QuietEnd: 6 * time.Hour}}
	day := func(h, m int) time.Time { return time.Date(2026, 12, 1, h, m, 0, 0, jkt) }
	tests := []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"Afternoon", day(15, 0), day(15, 0)},
		{"JustBefore", day(20, 59), day(20, 59)},
		{"Evening", day(21, 0), time.Date(2026, 12, 2, 6, 0, 0, 0, jkt)},
		{"Night", day(2, 30), day(6, 0)},
		{"Morning", day(6, 0), day(6, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.QuietUntil(tt.at); !got.Equal(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	none := Settings{Location: jkt}
	if got := none.QuietUntil(day(23, 0)); !got.Equal(day(23, 0)) {
		t.Fatalf("no quiet hours: got %v", got)
	}
}

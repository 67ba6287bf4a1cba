package modem

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// lateOutbox answers ErrNotFound until the outbox has recorded the send.
type lateOutbox struct {
	mu    sync.Mutex
	known bool
	got   []delivery
}

func (o *lateOutbox) MarkDelivery(_ context.Context, via, id, status string, _ time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.known {
		return intake.ErrNotFound
	}
	o.got = append(o.got, delivery{via, id, status})
	return nil
}

func TestModem_RecordReport(t *testing.T) {
	tests := []struct {
		name    string
		parts   []int // MRs of a long message, last one last; nil for none
		reports [][2]int
		want    []delivery
	}{
		{"Single", nil, [][2]int{{7, 0x00}}, []delivery{{"modem:m1", "7", "delivered"}}},
		{"Temporary", nil, [][2]int{{7, 0x21}}, nil},
		{"LongDelivered", []int{1, 2, 3}, [][2]int{{1, 0}, {2, 0}, {3, 0}}, []delivery{{"modem:m1", "3", "delivered"}}},
		{"LongEarlyPartFailed", []int{1, 2, 3}, [][2]int{{1, 0x41}, {3, 0}}, []delivery{{"modem:m1", "3", "failed"}}},
		{"LongFailedAfterDelivered", []int{1, 2}, [][2]int{{2, 0}, {1, 0x45}},
			[]delivery{{"modem:m1", "2", "delivered"}, {"modem:m1", "2", "failed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &lateOutbox{}
			m := New(Config{Name: "m1"}, Deps{Deliveries: out, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			msg := &outMsg{last: -1}
			for i, mr := range tt.parts {
				m.registerPart(mr, msg, i == len(tt.parts)-1)
			}
			for _, r := range tt.reports {
				m.recordReport(context.Background(), inbound{kind: kindReport, mr: r[0], status: byte(r[1])})
			}
			if len(out.got) != 0 {
				t.Fatalf("recorded %v before the outbox knew the message", out.got)
			}
			out.mu.Lock()
			out.known = true
			out.mu.Unlock()
			m.flushReports(context.Background())
			if len(out.got) != len(tt.want) {
				t.Fatalf("recorded %v, want %v", out.got, tt.want)
			}
			for i := range tt.want {
				if out.got[i] != tt.want[i] {
					t.Errorf("report %d = %v, want %v", i, out.got[i], tt.want[i])
				}
			}
		})
	}
}

package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/metrics"
)

// fakeHandler answers by script: parts are incomplete until the third.
type fakeHandler struct{ parts int }

func (f *fakeHandler) Handle(_ context.Context, m intake.Message) (intake.Result, error) {
	switch m.ExternalID {
	case "dup":
		return intake.Result{InboundID: 1, Duplicate: true}, nil
	case "bad":
		return intake.Result{}, errors.New("disk full")
	}
	return intake.Result{InboundID: 2}, nil
}

func (f *fakeHandler) HandlePart(_ context.Context, p intake.Part) (intake.Result, error) {
	f.parts++
	if f.parts < 3 {
		return intake.Result{}, nil // waiting for the rest
	}
	return intake.Result{InboundID: 3}, nil
}

type sender struct{ err error }

func (s sender) Send(context.Context, intake.Outgoing) (string, error) { return "id", s.err }

type checker struct{ h intake.Health }

func (c checker) Health(context.Context) intake.Health { return c.h }

func TestMetrics(t *testing.T) {
	snap := metrics.Snapshot{Tickets: map[string]map[intake.Status]int{"DLH": {intake.Diterima: 4}},
		Outbox: map[string]int{"queued": 2}, OldestQueued: 90 * time.Second, Overdue: map[string]int{"DLH": 1}}
	modem := checker{intake.Health{Name: "modem:m1", OK: true, Detail: map[string]any{"signal_rssi": 17,
		"registration": "roaming", "balance": 5000}}}
	m := metrics.New(func(context.Context) (metrics.Snapshot, error) { return snap, nil },
		func() []intake.Checker { return []intake.Checker{modem} })
	h := m.Wrap(&fakeHandler{})
	ctx := context.Background()
	for _, id := range []string{"a", "b", "dup", "bad"} {
		h.Handle(ctx, intake.Message{Channel: "sim", ExternalID: id})
	}
	for i := 0; i < 3; i++ { // one long SMS in three parts counts once
		h.HandlePart(ctx, intake.Part{Channel: "modem:m1"})
	}
	m.Sender("twilio", sender{}).Send(ctx, intake.Outgoing{})
	m.Sender("twilio", sender{errors.New("503")}).Send(ctx, intake.Outgoing{})
	m.Sender("twilio", sender{intake.ErrPermanent}).Send(ctx, intake.Outgoing{})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`sambatd_messages_in_total{channel="sim",outcome="stored"} 2`,
		`sambatd_messages_in_total{channel="sim",outcome="duplicate"} 1`,
		`sambatd_messages_in_total{channel="sim",outcome="error"} 1`,
		`sambatd_messages_in_total{channel="modem:m1",outcome="stored"} 1`,
		`sambatd_messages_out_total{channel="twilio",outcome="sent"} 1`,
		`sambatd_messages_out_total{channel="twilio",outcome="retry"} 1`,
		`sambatd_messages_out_total{channel="twilio",outcome="failed"} 1`,
		`sambatd_tickets{opd="DLH",status="diterima"} 4`,
		`sambatd_outbox_oldest_due_seconds 90`,
		`sambatd_tickets_overdue{opd="DLH"} 1`,
		`sambatd_modem_signal_rssi{channel="modem:m1"} 17`,
		`sambatd_modem_registered{channel="modem:m1"} 1`,
		`sambatd_modem_balance_rupiah{channel="modem:m1"} 5000`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("missing %s", want)
		}
	}
}

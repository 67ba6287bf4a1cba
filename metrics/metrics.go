// Package metrics exposes the daemon's numbers in the Prometheus text
// format: messages in and out per channel and outcome, tickets by status
// and department, the outbox backlog and its oldest age, the sync backlog,
// channel health (modem signal and registration) and webhook latency.
// Counters are kept by decorators around the intake interfaces; levels are
// read from the store and the channels at scrape time.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kotamalang/sambatd/intake"
)

// Snapshot is the level data read at each scrape.
type Snapshot struct {
	Tickets      map[string]map[intake.Status]int // department → status → count
	Outbox       map[string]int                   // status → rows
	OldestQueued time.Duration
	SyncBacklog  int
	PartsWaiting int
	Pending      int            // accepted messages not yet acted on
	Overdue      map[string]int // department → open tickets past their resolve deadline
	LastSync     time.Time      // last successful central sync; zero if never
}

// Metrics holds the collectors of one process.
type Metrics struct {
	reg      *prometheus.Registry
	in       *prometheus.CounterVec
	out      *prometheus.CounterVec
	events   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	snapshot func(context.Context) (Snapshot, error)
	checkers func() []intake.Checker
}

// New builds the metrics. snapshot and checkers are called at each scrape.
func New(snapshot func(context.Context) (Snapshot, error), checkers func() []intake.Checker) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		in: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sambatd_messages_in_total",
			Help: "Inbound messages by channel and outcome (stored, duplicate, error)."}, []string{"channel", "outcome"}),
		out: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sambatd_messages_out_total",
			Help: "Send attempts by channel and outcome (sent, retry, failed)."}, []string{"channel", "outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sambatd_channel_events_total",
			Help: "Channel events by name and result (webhook requests, status callbacks…)."}, []string{"event", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sambatd_http_request_duration_seconds",
			Help: "Latency of the channel endpoints.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}},
			[]string{"route", "code"}),
		snapshot: snapshot, checkers: checkers,
	}
	m.reg.MustRegister(m.in, m.out, m.events, m.latency, levels{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Count adds one to a channel event counter (the channels' metrics hook).
func (m *Metrics) Count(event string, labels ...string) {
	result := ""
	if len(labels) > 0 {
		result = labels[0]
	}
	m.events.WithLabelValues(event, result).Inc()
}

// Instrument times an endpoint under a route name.
func (m *Metrics) Instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		m.latency.WithLabelValues(route, strconv.Itoa(rec.code)).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// Handler is what channels hand messages to: whole ones and parts of
// concatenated SMS.
type Handler interface {
	intake.Handler
	intake.PartHandler
}

// Wrap counts the messages a channel hands to h; a part counts once its
// message is complete.
func (m *Metrics) Wrap(h Handler) Handler { return countingHandler{h, m} }

type countingHandler struct {
	h Handler
	m *Metrics
}

func (c countingHandler) HandlePart(ctx context.Context, p intake.Part) (intake.Result, error) {
	res, err := c.h.HandlePart(ctx, p)
	if err != nil || res.Duplicate || res.InboundID != 0 {
		c.m.In(p.Channel, res, err)
	}
	return res, err
}

func (c countingHandler) Handle(ctx context.Context, msg intake.Message) (intake.Result, error) {
	res, err := c.h.Handle(ctx, msg)
	c.m.In(msg.Channel, res, err)
	return res, err
}

// In counts one inbound message by its outcome.
func (m *Metrics) In(channel string, res intake.Result, err error) {
	outcome := "stored"
	switch {
	case err != nil:
		outcome = "error"
	case res.Duplicate:
		outcome = "duplicate"
	}
	m.in.WithLabelValues(channel, outcome).Inc()
}

// Sender counts the send attempts of a channel.
func (m *Metrics) Sender(channel string, s intake.Sender) intake.Sender {
	return countingSender{s, m, channel}
}

type countingSender struct {
	s       intake.Sender
	m       *Metrics
	channel string
}

func (c countingSender) Send(ctx context.Context, o intake.Outgoing) (string, error) {
	id, err := c.s.Send(ctx, o)
	outcome := "sent"
	switch {
	case errors.Is(err, intake.ErrPermanent):
		outcome = "failed"
	case err != nil:
		outcome = "retry"
	}
	c.m.out.WithLabelValues(c.channel, outcome).Inc()
	return id, err
}

package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	descTickets = prometheus.NewDesc("sambatd_tickets", "Tickets by status and department.",
		[]string{"status", "opd"}, nil)
	descOutbox = prometheus.NewDesc("sambatd_outbox_rows", "Outbox rows by status.", []string{"status"}, nil)
	descOldest = prometheus.NewDesc("sambatd_outbox_oldest_due_seconds",
		"How long the most overdue queued reply has been waiting.", nil, nil)
	descSync    = prometheus.NewDesc("sambatd_sync_backlog", "Tickets waiting to reach the central store.", nil, nil)
	descSyncAge = prometheus.NewDesc("sambatd_sync_last_success_timestamp_seconds",
		"When the central store last accepted a sync.", nil, nil)
	descParts   = prometheus.NewDesc("sambatd_parts_waiting", "Parts of long SMS waiting for the rest.", nil, nil)
	descPending = prometheus.NewDesc("sambatd_inbound_pending", "Acknowledged messages the engine has not acted on yet.", nil, nil)
	descOverdue = prometheus.NewDesc("sambatd_tickets_overdue", "Open tickets past their resolve deadline.",
		[]string{"opd"}, nil)
	descUp = prometheus.NewDesc("sambatd_channel_up", "1 when a channel or part is healthy.",
		[]string{"channel"}, nil)
	descSignal = prometheus.NewDesc("sambatd_modem_signal_rssi", "Modem signal (+CSQ rssi, 0-31; 99 unknown).",
		[]string{"channel"}, nil)
	descRegistered = prometheus.NewDesc("sambatd_modem_registered", "1 when the modem is registered on a network.",
		[]string{"channel"}, nil)
	descBalance = prometheus.NewDesc("sambatd_modem_balance_rupiah", "Prepaid credit the operator reported.",
		[]string{"channel"}, nil)
	descStorage = prometheus.NewDesc("sambatd_modem_sim_messages", "Messages waiting in the SIM's storage.",
		[]string{"channel"}, nil)
	descScrapeErr = prometheus.NewDesc("sambatd_scrape_error", "1 when the store could not be read for this scrape.",
		nil, nil)
)

// levels reads the store and the channels at scrape time.
type levels struct{ m *Metrics }

func (l levels) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTickets, descOutbox, descOldest, descSync, descSyncAge, descParts, descPending,
		descOverdue, descUp, descSignal, descRegistered, descBalance, descStorage, descScrapeErr} {
		ch <- d
	}
}

func (l levels) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	s, err := l.m.snapshot(ctx)
	if err != nil {
		gauge(descScrapeErr, 1)
	} else {
		gauge(descScrapeErr, 0)
		for opd, byStatus := range s.Tickets {
			for st, n := range byStatus {
				gauge(descTickets, float64(n), string(st), opd)
			}
		}
		for st, n := range s.Outbox {
			gauge(descOutbox, float64(n), st)
		}
		for opd, n := range s.Overdue {
			gauge(descOverdue, float64(n), opd)
		}
		gauge(descOldest, s.OldestQueued.Seconds())
		gauge(descSync, float64(s.SyncBacklog))
		gauge(descParts, float64(s.PartsWaiting))
		gauge(descPending, float64(s.Pending))
		if !s.LastSync.IsZero() {
			gauge(descSyncAge, float64(s.LastSync.Unix()))
		}
	}
	l.collectHealth(ctx, gauge)
}

// collectHealth turns each part's health into gauges; modems add signal
// and registration from their detail.
func (l levels) collectHealth(ctx context.Context, gauge func(*prometheus.Desc, float64, ...string)) {
	if l.m.checkers == nil {
		return
	}
	for _, c := range l.m.checkers() {
		h := c.Health(ctx)
		gauge(descUp, b2f(h.OK), h.Name)
		if v, ok := number(h.Detail["signal_rssi"]); ok {
			gauge(descSignal, v, h.Name)
		}
		if r, ok := h.Detail["registration"].(string); ok {
			gauge(descRegistered, b2f(r == "home" || r == "roaming"), h.Name)
		}
		if v, ok := number(h.Detail["balance"]); ok {
			gauge(descBalance, v, h.Name)
		}
		if v, ok := number(h.Detail["storage_used"]); ok {
			gauge(descStorage, v, h.Name)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

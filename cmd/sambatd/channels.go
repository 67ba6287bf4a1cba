package main

import (
	"context"
	"net/http"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/metrics"
	"github.com/kotamalang/sambatd/twilio"
)

// openTwilio builds the Twilio channel when an account is configured.
func (d *daemon) openTwilio() error {
	c := d.cfg.Twilio
	if !c.Configured() {
		return nil
	}
	t, err := twilio.New(twilio.Config{AccountSID: c.AccountSID, AuthToken: c.AuthToken, From: c.From,
		MessagingServiceSID: c.MessagingServiceSID, WebhookURL: c.WebhookURL,
		StatusCallbackURL: c.StatusCallbackURL, APIURL: c.APIURL, ReconcileInterval: c.ReconcileInterval,
		Lookback: c.ReconcileLookback, SendInterval: c.SendInterval},
		twilio.Deps{Handler: d.accept, Deliveries: d.db, Logger: d.logger, Metrics: d.count})
	if err != nil {
		return err
	}
	d.mux.Handle("POST "+t.WebhookPath(), d.mx.Instrument("twilio_webhook", http.HandlerFunc(t.ServeWebhook)))
	d.mux.Handle("POST "+t.StatusPath(), d.mx.Instrument("twilio_status", http.HandlerFunc(t.ServeStatus)))
	d.addChannel(intake.ChannelTwilio, t, t, t.Close)
	d.starts = append(d.starts, t.Start)
	return nil
}

// startChannels runs the channels' own loops.
func (d *daemon) startChannels(ctx context.Context) {
	for _, start := range d.starts {
		start(ctx)
	}
}

// count is the metrics hook channels call.
func (d *daemon) count(name string, labels ...string) { d.mx.Count(name, labels...) }

// snapshot reads the levels /metrics reports.
func (d *daemon) snapshot(ctx context.Context) (metrics.Snapshot, error) {
	s, err := d.db.Stats(ctx)
	if err != nil {
		return metrics.Snapshot{}, err
	}
	snap := metrics.Snapshot{Tickets: s.TicketsByOPD, Outbox: s.Outbox, OldestQueued: s.OldestQueued,
		PartsWaiting: s.PartsWaiting, Pending: s.Pending, Overdue: d.deadlines.Overdue()}
	if d.central != nil {
		cs, err := d.central.Stats(ctx)
		if err != nil {
			return snap, err
		}
		snap.SyncBacklog, snap.LastSync = cs.Backlog, cs.LastSuccess
	}
	return snap, nil
}

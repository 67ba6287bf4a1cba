package main

import (
	"github.com/kotamalang/sambatd/central"
	"github.com/kotamalang/sambatd/intake"
)

// openCentral builds the Open311 sync when central.url is set, and the
// deadline worker always.
func (d *daemon) openCentral() error {
	d.deadlines = intake.NewDeadlines(d.engine, d.logger)
	d.starts = append(d.starts, d.deadlines.Start)
	d.stops = append(d.stops, d.deadlines.Close)
	c := d.cfg.Central
	if c.URL == "" {
		return nil
	}
	cs, err := central.New(central.Config{URL: c.URL, APIKey: c.APIKey, JurisdictionID: c.JurisdictionID,
		PollInterval: c.PollInterval, Updates: c.Updates, InboundAPIKey: c.InboundAPIKey},
		central.Deps{Engine: d.engine, Jobs: d.db, Logger: d.logger, Count: d.mx.Count})
	if err != nil {
		return err
	}
	cs.Routes(d.mux)
	d.central = cs
	d.checkers = append(d.checkers, cs)
	d.starts = append(d.starts, cs.Start)
	d.stops = append(d.stops, cs.Close)
	return nil
}

// kick wakes whatever sends what a commit queued.
func (d *daemon) kick() {
	d.outbox.Kick()
	if d.central != nil {
		d.central.Kick()
	}
}

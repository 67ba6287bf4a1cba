package central

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// stateUpdatesSince is the updates feed cursor: the newest
// updated_datetime taken in.
const stateUpdatesSince = "central.updates_since"

// updatesOverlap is how far before the cursor the feed is read again, for
// updates the store files late; update ids absorb the repeats.
const updatesOverlap = 10 * time.Minute

// firstUpdatesWindow is how far back the feed is read the first time.
const firstUpdatesWindow = 24 * time.Hour

// ticketPage is how many tickets are listed at a time.
const ticketPage = 500

// runPoll polls every PollInterval until ctx ends.
func (c *Central) runPoll(ctx context.Context) {
	tick := time.NewTicker(c.cfg.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := c.Poll(ctx); err != nil && ctx.Err() == nil {
			c.warn("poll central store", err)
		}
	}
}

// Poll reads the state of every open ticket the store knows, and, where
// central.updates is on, FixMyStreet's updates since the last poll, and
// applies what changed.
func (c *Central) Poll(ctx context.Context) error {
	err := c.pollRequests(ctx)
	if c.cfg.Updates {
		err = errors.Join(err, c.pollUpdates(ctx))
	}
	return err
}

// pollRequests asks GET requests.json about the open synced tickets, in
// batches.
func (c *Central) pollRequests(ctx context.Context) error {
	var ids []string
	for offset := 0; ; offset += ticketPage {
		ts, err := c.engine.Tickets(ctx, intake.TicketFilter{Open: true, Central: true, Limit: ticketPage, Offset: offset})
		if err != nil {
			return fmt.Errorf("list synced tickets: %w", err)
		}
		for _, t := range ts {
			ids = append(ids, t.CentralID)
		}
		if len(ts) < ticketPage {
			break
		}
	}
	batch := min(max(c.Batch, 1), 50)
	for len(ids) > 0 {
		n := min(batch, len(ids))
		start := c.clock.Now()
		rs, err := c.client.requests(ctx, ids[:n])
		c.record(ctx, start, err)
		if err != nil {
			return err
		}
		for _, r := range rs {
			err := c.apply(ctx, "poll", intake.CentralUpdate{ServiceRequestID: string(r.ServiceRequestID),
				Status: r.Status, Note: r.StatusNotes, Agency: r.AgencyResponsible,
				At: parseTime(r.UpdatedDatetime), Polled: true})
			if err != nil {
				return err
			}
		}
		ids = ids[n:]
	}
	return nil
}

// pollUpdates reads the updates feed from the cursor and applies the
// updates in time order, moving the cursor past each one taken in.
func (c *Central) pollUpdates(ctx context.Context) error {
	now := c.clock.Now()
	cursor := now.Add(-firstUpdatesWindow)
	if v, err := c.jobs.State(ctx, stateUpdatesSince); err == nil {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			cursor = t
		}
	}
	start := c.clock.Now()
	us, err := c.client.updates(ctx, cursor.Add(-updatesOverlap), now)
	c.record(ctx, start, err)
	if err != nil {
		return err
	}
	sort.SliceStable(us, func(i, j int) bool {
		return parseTime(us[i].UpdatedDatetime).Before(parseTime(us[j].UpdatedDatetime))
	})
	newest := cursor
	defer func() {
		if newest.After(cursor) {
			if err := c.jobs.SetState(context.WithoutCancel(ctx), stateUpdatesSince, newest.UTC().Format(time.RFC3339Nano)); err != nil {
				c.warn("save updates cursor", err)
			}
		}
	}()
	for _, u := range us {
		at := parseTime(u.UpdatedDatetime)
		err := c.apply(ctx, "feed", intake.CentralUpdate{UpdateID: string(u.UpdateID),
			ServiceRequestID: string(u.ServiceRequestID), Status: u.Status, Note: u.Description,
			Agency: u.AgencyResponsible, At: at})
		if err != nil {
			return err
		}
		if at.After(newest) {
			newest = at
		}
	}
	return nil
}

// apply hands one update to the engine and logs what came of it. An
// update about a request that is not one of ours (the store holds
// complaints from every channel) is skipped.
func (c *Central) apply(ctx context.Context, via string, u intake.CentralUpdate) error {
	res, err := c.engine.ApplyCentral(ctx, u)
	switch {
	case errors.Is(err, intake.ErrUnknownTicket):
		c.count("central_update", "unknown_ticket")
		c.logger.Debug("update for a request that is not ours", "via", via, "service_request_id", u.ServiceRequestID)
		return nil
	case err != nil:
		return fmt.Errorf("apply update of %s: %w", u.ServiceRequestID, err)
	}
	c.count("central_update", res.Outcome)
	switch res.Outcome {
	case intake.CentralIgnored:
		c.logger.Info("central update ignored", "via", via, "ticket", res.Ticket, "status", u.Status, "reason", res.Reason)
	case intake.CentralApplied, intake.CentralNoted:
		c.logger.Info("central update applied", "via", via, "ticket", res.Ticket, "status", res.Status,
			"central_status", u.Status, "outcome", res.Outcome)
	}
	return nil
}

// parseTime reads a W3C datetime as the store sends it; zero when absent
// or unreadable.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

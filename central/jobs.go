package central

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// claimLimit is how many jobs the worker takes at a time.
const claimLimit = 20

// errPermanent marks a job that must not be tried again.
var errPermanent = errors.New("permanent")

// waitError asks for the job to be tried again at a given time without it
// being an outage (a token the store has not resolved yet).
type waitError struct {
	msg  string
	next time.Time
}

func (w *waitError) Error() string { return w.msg }

// runJobs sends due jobs until ctx ends, woken by Kick or every JobPoll.
func (c *Central) runJobs(ctx context.Context) {
	tick := time.NewTicker(c.JobPoll)
	defer tick.Stop()
	for {
		for ctx.Err() == nil && c.runBatch(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-c.kick:
		}
	}
}

// runBatch claims and handles one batch of jobs. It reports whether to go
// on at once (a full batch went well).
func (c *Central) runBatch(ctx context.Context) bool {
	jobs, err := c.jobs.ClaimJobs(ctx, c.clock.Now(), claimLimit)
	if err != nil {
		if ctx.Err() == nil {
			c.warn("claim jobs", err)
		}
		return false
	}
	for i, j := range jobs {
		next, outage := c.runJob(ctx, j)
		if !outage {
			continue
		}
		// The store is down or slow: the rest of the batch waits as long,
		// without counting a try it never had.
		var rest []int64
		for _, k := range jobs[i+1:] {
			rest = append(rest, k.ID)
		}
		if err := c.jobs.ReleaseJobs(context.WithoutCancel(ctx), rest, next); err != nil {
			c.warn("release jobs", err)
		}
		return false
	}
	return len(jobs) == claimLimit
}

// runJob handles one job and records its outcome. On an outage it returns
// when the job is due again.
func (c *Central) runJob(ctx context.Context, j intake.Job) (next time.Time, outage bool) {
	var err error
	switch j.Kind {
	case intake.JobCreate:
		err = c.create(ctx, j)
	case intake.JobUpdate:
		err = c.update(ctx, j)
	default:
		err = fmt.Errorf("unknown job kind %q: %w", j.Kind, errPermanent)
	}
	// The outcome is recorded even when ctx ended with the request.
	fctx := context.WithoutCancel(ctx)
	var wait *waitError
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down: the job was not really tried.
		next = c.clock.Now()
		if rerr := c.jobs.ReleaseJobs(fctx, []int64{j.ID}, next); rerr != nil {
			c.warn("release job", rerr, "job", j.ID)
		}
		return next, true
	case err == nil:
		c.finish(fctx, j, "", time.Time{})
	case errors.As(err, &wait):
		c.finish(fctx, j, wait.msg, wait.next)
	case isPermanent(err):
		c.fail(fctx, j, err)
	default:
		next = c.clock.Now().Add(c.backoff(j.Attempts + 1))
		c.warn("central store unavailable, will retry", err, "ticket", j.Ticket, "attempts", j.Attempts+1)
		c.finish(fctx, j, err.Error(), next)
		return next, true
	}
	return time.Time{}, false
}

// finish records a job's outcome.
func (c *Central) finish(ctx context.Context, j intake.Job, lastErr string, next time.Time) {
	if err := c.jobs.FinishJob(ctx, j.ID, lastErr, next); err != nil {
		c.warn("finish job", err, "job", j.ID)
	}
}

// fail gives up on a job the store refused for good: logged with the
// store's description, and a refused ticket is marked on the ticket.
func (c *Central) fail(ctx context.Context, j intake.Job, err error) {
	c.logger.Error("central store refused", "kind", j.Kind, "ticket", j.Ticket, "err", err)
	c.count("central_job", "failed")
	if j.Kind == intake.JobCreate {
		if ferr := c.engine.CentralFailed(ctx, j.Ticket, err.Error()); ferr != nil {
			c.warn("mark ticket refused", ferr, "ticket", j.Ticket)
		}
	}
	c.finish(ctx, j, err.Error(), time.Time{})
}

// isPermanent reports whether err says that trying again cannot help.
func isPermanent(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Permanent()
	}
	return errors.Is(err, errPermanent) || errors.Is(err, intake.ErrUnknownTicket)
}

// backoff is the capped exponential delay before try n (1-based), with
// jitter so a returning store is not hit by every job at once.
func (c *Central) backoff(n int) time.Duration {
	d := c.Backoff
	for i := 1; i < n && d < c.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.MaxBackoff)
	if half := int64(d / 2); half > 0 {
		d = time.Duration(half + rand.Int64N(half+1))
	}
	return d
}

// create posts a ticket, or asks about the token the store gave for it.
// A ticket already synced (a crash after the store answered) is done.
func (c *Central) create(ctx context.Context, j intake.Job) error {
	req, err := c.engine.CentralRequest(ctx, j.Ticket)
	if err != nil {
		return err
	}
	if req.CentralID != "" {
		return nil
	}
	var tok intake.CentralToken
	if j.Payload != "" {
		if err := json.Unmarshal([]byte(j.Payload), &tok); err != nil {
			return fmt.Errorf("job %d payload: %w: %w", j.ID, err, errPermanent)
		}
	}
	start := c.clock.Now()
	id := ""
	if tok.Token != "" {
		id, err = c.client.token(ctx, tok.Token)
	} else {
		id, tok.Token, err = c.client.create(ctx, req)
	}
	c.record(ctx, start, ignoreNotYet(err))
	switch {
	case errors.Is(err, errNotYet):
		return &waitError{msg: "waiting for token " + tok.Token, next: c.clock.Now().Add(c.TokenRetry)}
	case err != nil:
		return err
	case id == "":
		return c.awaitToken(ctx, j, tok)
	}
	c.count("central_job", "created")
	c.logger.Info("ticket accepted by the central store", "ticket", j.Ticket, "service_request_id", id)
	return c.engine.CentralAccepted(ctx, j.Ticket, id)
}

// awaitToken keeps the token the store answered with, to resolve it later.
func (c *Central) awaitToken(ctx context.Context, j intake.Job, tok intake.CentralToken) error {
	payload, err := json.Marshal(tok)
	if err != nil {
		return fmt.Errorf("encode token: %w", err)
	}
	if err := c.jobs.SetJobPayload(ctx, j.ID, string(payload)); err != nil {
		return err
	}
	return &waitError{msg: "waiting for token " + tok.Token, next: c.clock.Now().Add(c.TokenRetry)}
}

func ignoreNotYet(err error) error {
	if errors.Is(err, errNotYet) {
		return nil
	}
	return err
}

// update posts a resident's change to a ticket the store knows. Its
// create job ran before it (jobs of a ticket run in order), so a ticket
// without a central id was never accepted and the change cannot go.
func (c *Central) update(ctx context.Context, j intake.Job) error {
	var ch intake.CentralChange
	if err := json.Unmarshal([]byte(j.Payload), &ch); err != nil {
		return fmt.Errorf("job %d payload: %w: %w", j.ID, err, errPermanent)
	}
	req, err := c.engine.CentralRequest(ctx, j.Ticket)
	if err != nil {
		return err
	}
	if req.CentralID == "" {
		return fmt.Errorf("ticket %s is not in the central store: %w", j.Ticket, errPermanent)
	}
	start := c.clock.Now()
	key := j.Ticket + "-" + strconv.FormatInt(j.ID, 10)
	updateID, err := c.client.postUpdate(ctx, req.CentralID, key, ch)
	c.record(ctx, start, err)
	if err != nil {
		return err
	}
	c.count("central_job", "updated")
	return c.engine.CentralUpdatePosted(ctx, j.Ticket, updateID)
}

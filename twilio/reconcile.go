package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/kotamalang/sambatd/intake"
)

const (
	// maxReconcile caps the messages listed per address and run.
	maxReconcile   = 20000
	firstRetry     = 5 * time.Second
	maxSeenEntries = 200000
)

func (t *Twilio) reconcileLoop(ctx context.Context) {
	retry := firstRetry
	for {
		delay := t.cfg.ReconcileInterval
		n, err := t.Reconcile(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if ok, suppressed := t.rejectLog.Allow("reconcile", t.clock.Now()); ok {
				t.logger.Error("reconciliation failed", "err", err, "retry_in", retry, "suppressed", suppressed)
			}
			delay = min(retry, delay)
			retry = min(retry*2, t.cfg.ReconcileInterval)
		default:
			retry = firstRetry
			if n > 0 {
				t.logger.Info("reconciliation took in missed messages", "count", n)
			}
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// Reconcile lists the inbound messages of the last Lookback through the
// REST API and hands every one the webhook never delivered to the engine
// (the engine's dedup by MessageSid absorbs those it has). It returns how
// many were new.
func (t *Twilio) Reconcile(ctx context.Context) (int, error) {
	now := t.clock.Now()
	since := now.Add(-t.cfg.Lookback)
	t.seen.prune(since.Add(-time.Hour))
	taken := 0
	for _, to := range t.inboundAddresses() {
		msgs, err := t.listInbound(ctx, to, since)
		if err != nil {
			t.noteAPI(err)
			return taken, err
		}
		for _, rec := range msgs {
			fresh, err := t.takeIn(ctx, rec)
			if err != nil {
				return taken, err
			}
			if fresh {
				taken++
			}
		}
	}
	t.noteAPI(nil)
	t.count(func(s *healthState) { s.lastReconcile = now; s.reconciled += int64(taken) })
	return taken, nil
}

// inboundAddresses are the To values to list: our number and its WhatsApp
// form. With only a Messaging Service there is no number to filter on: ""
// lists every message and takeIn keeps the inbound ones.
func (t *Twilio) inboundAddresses() []string {
	number := strings.TrimPrefix(t.cfg.From, whatsappPrefix)
	if number == "" {
		return []string{""}
	}
	return []string{number, whatsappPrefix + number}
}

func (t *Twilio) listInbound(ctx context.Context, to string, since time.Time) ([]openapi.ApiV2010Message, error) {
	params := &openapi.ListMessageParams{}
	if to != "" {
		params.SetTo(to)
	}
	params.SetDateSentAfter(since.UTC()).SetPageSize(1000).SetLimit(maxReconcile)
	msgs, err := t.api(ctx).ListMessage(params)
	if err != nil {
		return nil, fmt.Errorf("list messages to %s: %w", intake.MaskPhone(to), err)
	}
	return msgs, nil
}

// takeIn hands one listed message to the engine unless it is outbound,
// still arriving, or already seen by this process.
func (t *Twilio) takeIn(ctx context.Context, rec openapi.ApiV2010Message) (bool, error) {
	sid := deref(rec.Sid)
	if sid == "" || t.seen.has(sid) {
		return false, nil
	}
	if d := deref(rec.Direction); d != "" && d != "inbound" {
		return false, nil
	}
	if deref(rec.Status) == "receiving" {
		return false, nil // the media are still coming; next run
	}
	m, err := t.recordMessage(ctx, rec)
	if err != nil {
		return false, err
	}
	res, err := t.handler.Handle(ctx, m)
	if err != nil {
		return false, fmt.Errorf("take in %s: %w", sid, err)
	}
	t.seen.add(sid, t.clock.Now())
	if res.Duplicate {
		return false, nil
	}
	t.metric(MetricReconciled)
	t.logger.Info("took in a message the webhook missed", "message_sid", sid, "from", intake.MaskPhone(m.From))
	return true, nil
}

// recordMessage turns a listed message into an intake.Message. Raw is the
// API record as JSON, the closest to verbatim there is for these.
func (t *Twilio) recordMessage(ctx context.Context, rec openapi.ApiV2010Message) (intake.Message, error) {
	raw, err := json.Marshal(rec)
	if err != nil {
		return intake.Message{}, fmt.Errorf("encode message %s: %w", deref(rec.Sid), err)
	}
	m := intake.Message{
		Channel:    intake.ChannelTwilio,
		ExternalID: deref(rec.Sid),
		From:       strings.ToValidUTF8(deref(rec.From), "\uFFFD"),
		To:         strings.ToValidUTF8(deref(rec.To), "\uFFFD"),
		Text:       strings.ToValidUTF8(deref(rec.Body), "\uFFFD"),
		Raw:        raw,
		Received:   t.clock.Now(),
	}
	if n, _ := strconv.Atoi(deref(rec.NumMedia)); n > 0 {
		m.Attachments, err = t.media(ctx, m.ExternalID)
		if err != nil {
			return intake.Message{}, err
		}
	}
	return m, nil
}

// media lists a message's media as attachments, with the same URLs the
// webhook's MediaUrlN carry.
func (t *Twilio) media(ctx context.Context, sid string) ([]intake.Attachment, error) {
	params := &openapi.ListMediaParams{}
	params.SetPageSize(maxMedia).SetLimit(maxMedia)
	list, err := t.api(ctx).ListMedia(sid, params)
	if err != nil {
		return nil, fmt.Errorf("list media of %s: %w", sid, err)
	}
	var out []intake.Attachment
	for _, md := range list {
		uri := strings.TrimSuffix(deref(md.Uri), ".json")
		if uri == "" {
			continue
		}
		out = append(out, intake.Attachment{URL: t.apiBase + uri, ContentType: deref(md.ContentType)})
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// seenSet remembers the MessageSids this process already handed to the
// engine, so periodic reconciliation does not redo each one.
type seenSet struct {
	mu  sync.Mutex
	ids map[string]time.Time
}

func newSeenSet() *seenSet { return &seenSet{ids: map[string]time.Time{}} }

func (s *seenSet) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}

func (s *seenSet) add(id string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ids) >= maxSeenEntries {
		// Forgetting only costs a dedup round trip to the store.
		clear(s.ids)
	}
	s.ids[id] = at
}

// prune forgets ids seen before t.
func (s *seenSet) prune(before time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, at := range s.ids {
		if at.Before(before) {
			delete(s.ids, id)
		}
	}
}

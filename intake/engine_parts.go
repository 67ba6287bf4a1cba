package intake

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// HandlePart stores one part of a concatenated SMS and, when the group is
// complete, joins the parts from the store and handles the whole message,
// all in one transaction.
func (e *Engine) HandlePart(ctx context.Context, p Part) (Result, error) {
	var res Result
	err := e.update(ctx, func(tx Tx) error {
		res = Result{}
		return e.partTx(tx, p, &res)
	}, &res)
	return res, err
}

func (e *Engine) partTx(tx Tx, p Part, res *Result) error {
	if p.Received.IsZero() {
		p.Received = e.clock.Now()
	}
	if p.Near != "" {
		// Parts stamped on either side of midnight have groups of two
		// dates: a part joins the other date's group while it is open.
		open, err := tx.Parts(p.Channel, p.Near)
		if err != nil {
			return fmt.Errorf("load parts: %w", err)
		}
		if len(open) > 0 {
			p.Group = p.Near
		}
	}
	fresh, err := tx.InsertPart(&p)
	if err != nil {
		return fmt.Errorf("insert part: %w", err)
	}
	if !fresh {
		res.Duplicate = true
		return nil
	}
	if _, err := tx.Inbound(p.Channel, p.Group); err == nil {
		// The group was already delivered (it timed out as incomplete):
		// this late part is a message of its own.
		m := Message{Channel: p.Channel, ExternalID: p.Key, From: p.From, Text: p.Text,
			Raw: p.Raw, Received: p.Received, Note: "late_part"}
		return e.handleTx(tx, &m, res)
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("look up group: %w", err)
	}
	parts, err := tx.Parts(p.Channel, p.Group)
	if err != nil {
		return fmt.Errorf("load parts: %w", err)
	}
	if countSeqs(parts) < p.Total {
		return nil
	}
	return e.joinTx(tx, p.Channel, p.Group, parts, "", res)
}

// joinTx delivers the parts of a group as one message.
func (e *Engine) joinTx(tx Tx, channel, group string, parts []Part, note string, res *Result) error {
	m := joinParts(channel, group, parts)
	m.Note = note
	if err := tx.JoinParts(channel, group); err != nil {
		return fmt.Errorf("join parts: %w", err)
	}
	return e.handleTx(tx, &m, res)
}

// FlushParts delivers the groups of a channel whose parts stopped arriving
// before the given time, as what arrived, marked "incomplete".
func (e *Engine) FlushParts(ctx context.Context, channel string, before time.Time) (int, error) {
	var groups []PartGroup
	if err := e.store.View(ctx, func(tx Tx) error {
		var err error
		groups, err = tx.StaleGroups(before)
		return err
	}); err != nil {
		return 0, fmt.Errorf("find stale parts: %w", err)
	}
	n := 0
	for _, g := range groups {
		if g.Channel != channel {
			continue
		}
		res := &Result{}
		err := e.update(ctx, func(tx Tx) error {
			res.Replies = nil
			parts, err := tx.Parts(g.Channel, g.Group)
			if err != nil || len(parts) == 0 {
				return err
			}
			return e.joinTx(tx, g.Channel, g.Group, parts, "incomplete", res)
		}, res)
		if err != nil {
			return n, fmt.Errorf("flush %s: %w", g.Group, err)
		}
		n++
	}
	return n, nil
}

// joinParts builds one message from parts ordered by sequence; a part
// delivered twice under different keys counts once. Raw is a JSON list of
// the hex PDUs, so the verbatim parts stay readable.
func joinParts(channel, group string, parts []Part) Message {
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].Seq < parts[j].Seq })
	var text strings.Builder
	var raws []string
	received := parts[0].Received
	last := -1
	for _, p := range parts {
		raws = append(raws, hex.EncodeToString(p.Raw))
		if p.Received.Before(received) {
			received = p.Received
		}
		if p.Seq == last {
			continue
		}
		last = p.Seq
		text.WriteString(p.Text)
	}
	raw, _ := json.Marshal(raws)
	return Message{Channel: channel, ExternalID: group, From: parts[0].From,
		Text: text.String(), Raw: raw, Received: received}
}

func countSeqs(parts []Part) int {
	seen := map[int]bool{}
	for _, p := range parts {
		seen[p.Seq] = true
	}
	return len(seen)
}

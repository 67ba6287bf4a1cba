package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// genCounter numbers external ids the store makes up for messages without one.
const genCounter = "inbound_gen"

// InsertInbound keeps m verbatim and sets m.ID. A message whose (channel,
// external id) is already stored changes nothing: the existing id comes
// back with fresh=false. An empty ExternalID gets a generated unique one
// ("gen-<n>"), written back to m. A zero Received is set from the clock.
func (t *tx) InsertInbound(m *intake.Message) (int64, bool, error) {
	if err := t.ensureExternalID(m); err != nil {
		return 0, false, fmt.Errorf("insert inbound: %w", err)
	}
	now := t.now()
	if m.Received.IsZero() {
		m.Received = now
	}
	att, err := encodeAttachments(m.Attachments)
	if err != nil {
		return 0, false, fmt.Errorf("insert inbound: %w", err)
	}
	// Exec and the last insert rowid, not RETURNING: a result row costs
	// the writer a third more per message through database/sql.
	res, err := t.q.ExecContext(t.ctx, `INSERT INTO inbound
		(channel, external_id, sender, phone, recipient, text, raw, received_at, stored_at, note, ticket, attachments, pending)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(channel, external_id) DO NOTHING`,
		m.Channel, m.ExternalID, m.From, m.Phone, m.To, m.Text, blob(m.Raw),
		m.Received.UnixMilli(), now.UnixMilli(), m.Note, m.Ticket, att, m.Pending)
	var added int64
	if err == nil {
		added, err = res.RowsAffected()
	}
	if err == nil && added == 1 {
		m.ID, err = res.LastInsertId()
	}
	if err != nil {
		return 0, false, fmt.Errorf("insert inbound: %w", err)
	}
	if added == 1 {
		return m.ID, true, nil
	}
	err = t.q.QueryRowContext(t.ctx, "SELECT id FROM inbound WHERE channel = ? AND external_id = ?",
		m.Channel, m.ExternalID).Scan(&m.ID)
	if err != nil {
		return 0, false, fmt.Errorf("find duplicate inbound: %w", err)
	}
	return m.ID, false, nil
}

// ensureExternalID gives a message without an external id a unique one.
func (t *tx) ensureExternalID(m *intake.Message) error {
	if m.ExternalID != "" {
		return nil
	}
	n, err := t.Counter(genCounter)
	if err != nil {
		return err
	}
	m.ExternalID = "gen-" + strconv.FormatInt(n, 10)
	return nil
}

// MarkInbound records the ticket and note of a stored message; it is no
// longer pending.
func (t *tx) MarkInbound(id int64, ticket, note string) error {
	n, err := t.exec("UPDATE inbound SET ticket = ?, note = ?, pending = 0 WHERE id = ?", ticket, note, id)
	if err != nil {
		return fmt.Errorf("mark inbound %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("mark inbound %d: %w", id, intake.ErrNotFound)
	}
	return nil
}

// TakePending clears the pending flag of message id; taken=false when it
// was not pending (already acted on).
func (t *tx) TakePending(id int64) (bool, error) {
	n, err := t.exec("UPDATE inbound SET pending = 0 WHERE id = ? AND pending = 1", id)
	if err != nil {
		return false, fmt.Errorf("take pending inbound %d: %w", id, err)
	}
	return n == 1, nil
}

// PendingInbound returns up to limit pending messages with an id above
// after, in id (arrival) order.
func (t *tx) PendingInbound(after int64, limit int) ([]intake.Message, error) {
	rows, err := t.q.QueryContext(t.ctx, "SELECT "+inboundCols+` FROM inbound
		WHERE pending = 1 AND id > ? ORDER BY id LIMIT ?`, after, clampLimit(limit, 100, 1000))
	if err != nil {
		return nil, fmt.Errorf("pending inbound: %w", err)
	}
	ms, err := collect(rows, scanInbound)
	if err != nil {
		return nil, fmt.Errorf("pending inbound: %w", err)
	}
	return ms, nil
}

// inboundCols are the columns scanInbound reads.
const inboundCols = `id, channel, external_id, sender, phone, recipient, text, raw, received_at,
	note, ticket, attachments, pending`

// scanInbound reads one inbound row selected with inboundCols.
func scanInbound(s scanner) (intake.Message, error) {
	var m intake.Message
	var att string
	err := s.Scan(&m.ID, &m.Channel, &m.ExternalID, &m.From, &m.Phone, &m.To, &m.Text, &m.Raw,
		tm(&m.Received), &m.Note, &m.Ticket, &att, &m.Pending)
	if err != nil {
		return m, err
	}
	if m.Attachments, err = decodeAttachments(att); err != nil {
		return m, fmt.Errorf("inbound %d: %w", m.ID, err)
	}
	return m, nil
}

// Inbound returns a stored message by channel and external id, or ErrNotFound.
func (t *tx) Inbound(channel, externalID string) (*intake.Message, error) {
	m, err := scanInbound(t.q.QueryRowContext(t.ctx, "SELECT "+inboundCols+`
		FROM inbound WHERE channel = ? AND external_id = ?`, channel, externalID))
	if errNoRows(err) {
		return nil, fmt.Errorf("inbound %s/%s: %w", channel, externalID, intake.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read inbound: %w", err)
	}
	return &m, nil
}

// CountInbound counts stored inbound messages of a channel ("" for all).
func (t *tx) CountInbound(channel string) (int, error) {
	var n int
	err := t.q.QueryRowContext(t.ctx, "SELECT COUNT(*) FROM inbound WHERE ?1 = '' OR channel = ?1", channel).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count inbound: %w", err)
	}
	return n, nil
}

// Conversation returns the last limit messages in and out for phone, oldest
// first. Inbound messages are placed at their received time, outbound at
// their creation; on equal times inbound comes first. limit defaults to 50,
// at most 500.
func (t *tx) Conversation(phone string, limit int) ([]intake.ConversationItem, error) {
	limit = clampLimit(limit, 50, 500)
	rows, err := t.q.QueryContext(t.ctx, `SELECT dir, text, at, status, channel FROM (
			SELECT 0 AS ord, id, 'in' AS dir, text, received_at AS at, note AS status, channel
			FROM inbound WHERE phone = ?1
			UNION ALL
			SELECT 1, id, 'out', text, created_at, status,
				CASE WHEN sent_via <> '' THEN sent_via ELSE channel END
			FROM outbox WHERE phone = ?1
		) ORDER BY at DESC, ord DESC, id DESC LIMIT ?2`, phone, limit)
	if err != nil {
		return nil, fmt.Errorf("conversation: %w", err)
	}
	defer rows.Close()
	var items []intake.ConversationItem
	for rows.Next() {
		var c intake.ConversationItem
		if err := rows.Scan(&c.Direction, &c.Text, tm(&c.Time), &c.Status, &c.Channel); err != nil {
			return nil, fmt.Errorf("conversation: %w", err)
		}
		items = append(items, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("conversation: %w", err)
	}
	for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
		items[i], items[j] = items[j], items[i]
	}
	return items, nil
}

// InsertPart keeps one part of a long message; fresh=false when its key is
// already stored for the channel. A zero Received is set from the clock.
func (t *tx) InsertPart(p *intake.Part) (bool, error) {
	if p.Received.IsZero() {
		p.Received = t.now()
	}
	n, err := t.exec(`INSERT INTO parts (channel, part_key, grp, sender, seq, total, text, raw, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(channel, part_key) DO NOTHING`,
		p.Channel, p.Key, p.Group, p.From, p.Seq, p.Total, p.Text, blob(p.Raw), p.Received.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("insert part: %w", err)
	}
	return n == 1, nil
}

// Parts returns the unjoined parts of a group ordered by Seq (then arrival).
func (t *tx) Parts(channel, group string) ([]intake.Part, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT part_key, sender, seq, total, text, raw, received_at
		FROM parts WHERE channel = ? AND grp = ? AND joined_at IS NULL ORDER BY seq, id`, channel, group)
	if err != nil {
		return nil, fmt.Errorf("read parts: %w", err)
	}
	defer rows.Close()
	var ps []intake.Part
	for rows.Next() {
		p := intake.Part{Channel: channel, Group: group}
		if err := rows.Scan(&p.Key, &p.From, &p.Seq, &p.Total, &p.Text, &p.Raw, tm(&p.Received)); err != nil {
			return nil, fmt.Errorf("read parts: %w", err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read parts: %w", err)
	}
	return ps, nil
}

// JoinParts marks the unjoined parts of a group as joined. They stay stored
// so a redelivered part is still a duplicate; Parts and StaleGroups skip
// them. Joining a group with no unjoined parts changes nothing.
func (t *tx) JoinParts(channel, group string) error {
	_, err := t.exec("UPDATE parts SET joined_at = ? WHERE channel = ? AND grp = ? AND joined_at IS NULL",
		t.now().UnixMilli(), channel, group)
	if err != nil {
		return fmt.Errorf("join parts: %w", err)
	}
	return nil
}

// StaleGroups returns the unjoined groups whose oldest part arrived before
// before, oldest first.
func (t *tx) StaleGroups(before time.Time) ([]intake.PartGroup, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT channel, grp FROM parts WHERE joined_at IS NULL
		GROUP BY channel, grp HAVING MIN(received_at) < ? ORDER BY MIN(received_at)`, before.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("stale groups: %w", err)
	}
	defer rows.Close()
	var gs []intake.PartGroup
	for rows.Next() {
		var g intake.PartGroup
		if err := rows.Scan(&g.Channel, &g.Group); err != nil {
			return nil, fmt.Errorf("stale groups: %w", err)
		}
		gs = append(gs, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stale groups: %w", err)
	}
	return gs, nil
}

// blob stores a nil byte slice as an empty blob, not NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// encodeAttachments turns attachments into the JSON kept in a TEXT column
// ("" when there are none).
func encodeAttachments(as []intake.Attachment) (string, error) {
	if len(as) == 0 {
		return "", nil
	}
	b, err := json.Marshal(as)
	if err != nil {
		return "", fmt.Errorf("encode attachments: %w", err)
	}
	return string(b), nil
}

// decodeAttachments reverses encodeAttachments.
func decodeAttachments(s string) ([]intake.Attachment, error) {
	if s == "" {
		return nil, nil
	}
	var as []intake.Attachment
	if err := json.Unmarshal([]byte(s), &as); err != nil {
		return nil, fmt.Errorf("decode attachments: %w", err)
	}
	return as, nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

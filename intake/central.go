package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Kinds of central store jobs.
const (
	// JobCreate posts a new ticket to the central store (one per ticket).
	JobCreate = "create"
	// JobUpdate posts a resident's change (TAMBAH, BATAL, BELUM) as a
	// FixMyStreet-style service request update.
	JobUpdate = "update"
)

// Statuses of a central store job.
const (
	JobQueued = "queued"
	JobDone   = "done"
	JobFailed = "failed"
)

// Job is one durable piece of work for the central store. Jobs of one
// ticket run in the order they were queued: an update waits until the
// ticket's create job is finished.
type Job struct {
	ID     int64
	Kind   string // JobCreate or JobUpdate
	Ticket string
	// Payload is JSON: a CentralChange for JobUpdate; for JobCreate empty,
	// or a CentralToken once the store answered with a token.
	Payload   string
	Status    string // JobQueued, JobDone, JobFailed
	Attempts  int    // finished tries that did not succeed
	NextAt    time.Time
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CentralChange is the payload of an update job.
type CentralChange struct {
	Status      string    `json:"status"` // OPEN or CLOSED, as FixMyStreet posts them
	Description string    `json:"description"`
	At          time.Time `json:"at"`
}

// CentralToken is the payload of a create job the central store answered
// with a token instead of a service_request_id.
type CentralToken struct {
	Token string `json:"token"`
}

// JobStats summarises the central store queue for metrics and /readyz.
type JobStats struct {
	Queued       int       // the backlog: jobs still to do
	Failed       int       // jobs given up on (4xx that won't heal)
	OldestQueued time.Time // creation of the oldest queued job; zero when none
	LastError    string    // the newest error of a queued or failed job
}

// JobStore is what the central store worker needs besides the engine.
type JobStore interface {
	// ClaimJobs returns up to limit queued jobs due at now, oldest first,
	// skipping jobs behind an unfinished earlier job of the same ticket. A
	// claimed job is leased: it is not claimed again for a while, so a
	// crash mid-job only delays it.
	ClaimJobs(ctx context.Context, now time.Time, limit int) ([]Job, error)
	// FinishJob records the outcome of a claimed job: lastErr "" → done;
	// else next zero → failed for good; else queued again at next.
	FinishJob(ctx context.Context, id int64, lastErr string, next time.Time) error
	// ReleaseJobs gives claimed but untried jobs back, due at next, without
	// counting an attempt.
	ReleaseJobs(ctx context.Context, ids []int64, next time.Time) error
	// SetJobPayload replaces the payload of a job.
	SetJobPayload(ctx context.Context, id int64, payload string) error
	// JobStats summarises the queue.
	JobStats(ctx context.Context) (JobStats, error)
	StateStore
}

// StateStore keeps small durable values by key (the sync's cursors, a
// modem's refused PIN).
type StateStore interface {
	// State returns a small durable value by key, or ErrNotFound.
	State(ctx context.Context, key string) (string, error)
	// SetState stores a small durable value.
	SetState(ctx context.Context, key, value string) error
}

// Kinds of Seen keys kept by the central sync.
const (
	seenCentralUpdate = "central_update"
	seenCentralNote   = "central_note"
)

// Sync states of a ticket.
const (
	SyncPending = "pending" // queued for the central store
	SyncSynced  = "synced"  // the central store knows it (CentralID set)
	SyncError   = "error"   // the central store refused it; SyncError says why
)

// CentralRequest is what the central store is told about a new ticket.
type CentralRequest struct {
	Ticket      string // the local number, sent as attribute[sms_ticket]
	CentralID   string // service_request_id, once known
	SyncState   string
	ServiceCode string // the category's service_code
	Description string
	Address     string // the location, or the city when none was given
	Phone       string // the complainant's phone; "" for RAHASIA tickets
	MediaURL    string // the first attachment, if any
}

// CentralUpdate is a status change reported by the central store: a polled
// request, an entry of FixMyStreet's updates feed, or an inbound update.
type CentralUpdate struct {
	UpdateID         string // the store's update id; "" for a polled request
	ServiceRequestID string
	// Status is the store's word: GeoReport's open/closed or one of
	// FixMyStreet's extended statuses (IN_PROGRESS, FIXED, …), any case.
	Status string
	Note   string // status_notes or the update's description
	Agency string // agency_responsible, when given
	At     time.Time
	// Polled marks a plain GeoReport request read by polling: there "open"
	// never reopens a ticket, it only says the request is not closed.
	Polled bool
}

// Outcomes of ApplyCentral.
const (
	CentralApplied   = "applied"   // the status (or department) changed; the resident is told
	CentralNoted     = "noted"     // a new note from the department, kept as an event
	CentralUnchanged = "unchanged" // nothing new
	CentralDuplicate = "duplicate" // this update was seen before
	CentralIgnored   = "ignored"   // unknown status, or a change the ticket's status does not allow
)

// CentralResult is what ApplyCentral did.
type CentralResult struct {
	Outcome string
	Ticket  string
	Status  Status // the ticket's status afterwards
	Reason  string // why it was ignored
}

// CentralRequest returns what the central store is told about a ticket.
func (e *Engine) CentralRequest(ctx context.Context, number string) (CentralRequest, error) {
	var t *Ticket
	err := e.store.View(ctx, func(tx Tx) error {
		var err error
		t, err = tx.Ticket(number)
		return err
	})
	if err != nil {
		return CentralRequest{}, err
	}
	r := e.rules.Load()
	req := CentralRequest{Ticket: t.Number, CentralID: t.CentralID, SyncState: t.SyncState,
		Description: t.Description, Address: strings.TrimSpace(t.Location)}
	if cat, ok := r.catalog.Get(t.Category); ok {
		req.ServiceCode = cat.ServiceCode
	}
	if req.Address == "" {
		req.Address = r.City
	}
	if !t.Confidential {
		req.Phone = t.Complainant
	}
	if len(t.Attachments) > 0 {
		req.MediaURL = t.Attachments[0].URL
	}
	return req, nil
}

// withConv runs fn in a store transaction on behalf of the system (no
// inbound message) and wakes the outbox when it queued SMS.
func (e *Engine) withConv(ctx context.Context, fn func(c *conv) error) error {
	res := &Result{}
	return e.update(ctx, func(tx Tx) error {
		res.Replies = nil
		return fn(&conv{e: e, r: e.rules.Load(), tx: tx, m: &Message{}, res: res, now: e.clock.Now()})
	}, res)
}

// CentralAccepted records that the central store took the ticket as
// serviceRequestID: the ticket is synced and, when still diterima, becomes
// diteruskan with an event. The resident gets no SMS for it: they were
// just told their ticket number, and being filed centrally changes nothing
// they can act on; the next SMS is the department's action. Repeating it
// changes nothing.
func (e *Engine) CentralAccepted(ctx context.Context, number, serviceRequestID string) error {
	return e.withConv(ctx, func(c *conv) error {
		t, err := c.tx.Ticket(number)
		if err != nil {
			return err
		}
		if t.CentralID == serviceRequestID && t.SyncState == SyncSynced {
			return nil
		}
		t.CentralID, t.SyncState, t.SyncError = serviceRequestID, SyncSynced, ""
		note := "diterima sistem pusat, id " + serviceRequestID
		if t.Status == Diterima {
			return c.transition(t, Diteruskan, "central", note)
		}
		if err := c.tx.SaveTicket(t); err != nil {
			return fmt.Errorf("save ticket: %w", err)
		}
		return c.tx.AddEvent(&Event{Ticket: t.Number, Time: c.now, Source: "central", Note: note})
	})
}

// CentralFailed records that the central store refused the ticket for
// good: SyncState "error" with the reason, shown on the ticket API and in
// /readyz, and an event.
func (e *Engine) CentralFailed(ctx context.Context, number, reason string) error {
	reason = truncateReason(reason, 500)
	return e.withConv(ctx, func(c *conv) error {
		t, err := c.tx.Ticket(number)
		if err != nil {
			return err
		}
		if t.SyncState == SyncError && t.SyncError == reason {
			return nil
		}
		t.SyncState, t.SyncError = SyncError, reason
		if err := c.tx.SaveTicket(t); err != nil {
			return fmt.Errorf("save ticket: %w", err)
		}
		return c.tx.AddEvent(&Event{Ticket: t.Number, Time: c.now, Source: "system",
			Note: "gagal dikirim ke sistem pusat: " + reason})
	})
}

// ApplyCentral applies a change reported by the central store, in one
// transaction: deduplicated by update id (or, without one, by what it
// says), mapped to a status, saved with an event, and told to the ticket's
// own numbers (with the department's note) unless they sent STOP. The same
// status again changes nothing and sends nothing; a new note alone is kept
// as an event and counts as the department's response. ErrUnknownTicket
// when no ticket has that service_request_id.
func (e *Engine) ApplyCentral(ctx context.Context, u CentralUpdate) (CentralResult, error) {
	var res CentralResult
	err := e.withConv(ctx, func(c *conv) error {
		var err error
		res, err = c.applyCentral(u)
		return err
	})
	return res, err
}

func (c *conv) applyCentral(u CentralUpdate) (CentralResult, error) {
	t, err := c.tx.TicketByCentralID(strings.TrimSpace(u.ServiceRequestID))
	if err != nil {
		return CentralResult{}, err
	}
	res := CentralResult{Outcome: CentralUnchanged, Ticket: t.Number, Status: t.Status}
	fresh, err := c.tx.Seen(seenCentralUpdate, centralUpdateKey(u), c.now)
	if err != nil || !fresh {
		res.Outcome = CentralDuplicate
		return res, err
	}
	to, known := centralStatus(u.Status, t.Status, u.Polled)
	if !known {
		res.Outcome, res.Reason = CentralIgnored, fmt.Sprintf("unknown status %q", u.Status)
		return res, nil
	}
	note := strings.TrimSpace(u.Note)
	opd := c.r.opdByAgency(u.Agency)
	referred := opd != "" && opd != t.OPD
	if referred {
		t.OPD = opd
		if to == "" && t.Status.Open() {
			// Moved to another department with no word on what it does
			// (an OPEN status): the new one has yet to act.
			to = Diteruskan
		}
	}
	switch {
	case to != "" && to != t.Status && !allowed(t.Status, to):
		res.Outcome, res.Reason = CentralIgnored, fmt.Sprintf("%s → %s not allowed", t.Status, to)
		return res, nil
	case to != "" && to != t.Status:
		fallback := "status pusat: " + u.Status
		if referred {
			fallback = "dirujuk ke " + t.OPD
		}
		err = c.transition(t, to, "central", eventNote(note, fallback))
	case referred:
		err = c.refer(t, note)
	default:
		return c.centralNote(t, note, res)
	}
	if err != nil {
		return res, err
	}
	res.Outcome, res.Status = CentralApplied, t.Status
	return res, c.notifyStatus(t, note, "")
}

// refer records that the ticket moved to another department (already set
// on t) without a status change.
func (c *conv) refer(t *Ticket, note string) error {
	t.UpdatedAt = c.now
	if err := c.tx.SaveTicket(t); err != nil {
		return fmt.Errorf("save ticket: %w", err)
	}
	return c.tx.AddEvent(&Event{Ticket: t.Number, Time: c.now, Source: "central",
		Note: eventNote(note, "dirujuk ke "+t.OPD)})
}

// centralNote keeps a department's note that came without a change, once,
// as the department's response.
func (c *conv) centralNote(t *Ticket, note string, res CentralResult) (CentralResult, error) {
	if note == "" {
		return res, nil
	}
	fresh, err := c.tx.Seen(seenCentralNote, t.Number+"|"+note, c.now)
	if err != nil || !fresh {
		return res, err
	}
	if t.RespondedAt.IsZero() {
		t.RespondedAt = c.now
		if err := c.tx.SaveTicket(t); err != nil {
			return res, fmt.Errorf("save ticket: %w", err)
		}
	}
	res.Outcome = CentralNoted
	return res, c.tx.AddEvent(&Event{Ticket: t.Number, Time: c.now, Source: "central", Note: note})
}

// centralStatus maps the central store's word to a status: "" with
// known=true means no change.
func centralStatus(word string, cur Status, polled bool) (Status, bool) {
	switch strings.ReplaceAll(strings.ToUpper(strings.TrimSpace(word)), " ", "_") {
	case "IN_PROGRESS", "ACTION_SCHEDULED", "INVESTIGATING", "PLANNED", "REOPEN":
		return Diproses, true
	case "FIXED", "CLOSED":
		return Selesai, true
	case "NOT_COUNCILS_RESPONSIBILITY", "NO_FURTHER_ACTION", "DUPLICATE":
		return Ditolak, true
	case "CANCELLED":
		return Dibatalkan, true
	case "INTERNAL_REFERRAL":
		return Diteruskan, true
	case "OPEN":
		if !polled && !cur.Open() {
			return Diproses, true
		}
		return "", true
	}
	return "", false
}

// centralUpdateKey is the deduplication key of an update: its id, or a
// digest of what it says when it has none (a polled request).
func centralUpdateKey(u CentralUpdate) string {
	if id := strings.TrimSpace(u.UpdateID); id != "" {
		return id
	}
	at := ""
	if !u.At.IsZero() {
		at = u.At.UTC().Format(time.RFC3339)
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{u.ServiceRequestID, strings.ToUpper(u.Status),
		strings.TrimSpace(u.Note), strings.TrimSpace(u.Agency), at}, "\x00")))
	return "poll:" + hex.EncodeToString(sum[:12])
}

// opdByAgency finds the department the central store names by code or by
// name; "" when it names none we know.
func (r *rules) opdByAgency(agency string) string {
	agency = strings.TrimSpace(agency)
	if agency == "" {
		return ""
	}
	for _, o := range r.OPDs {
		if strings.EqualFold(o.Code, agency) || strings.EqualFold(o.Name, agency) {
			return o.Code
		}
	}
	return ""
}

// eventNote is the department's note, or what happened when it gave none.
func eventNote(note, fallback string) string {
	if note != "" {
		return note
	}
	return fallback
}

// truncateReason cuts s to at most n bytes on a rune boundary.
func truncateReason(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// queueCentralCreate queues the new ticket for the central store.
func (c *conv) queueCentralCreate(t *Ticket) error {
	if !c.r.CentralSync {
		return nil
	}
	if _, err := c.tx.EnqueueJob(&Job{Kind: JobCreate, Ticket: t.Number, CreatedAt: c.now}); err != nil {
		return fmt.Errorf("queue central create: %w", err)
	}
	return nil
}

// queueCentralChange queues a resident's change (TAMBAH, BATAL, BELUM) for
// the central store as a FixMyStreet-style update, where central.updates is
// on and the ticket is (or is about to be) known there. It runs after the
// ticket's creation there.
func (c *conv) queueCentralChange(t *Ticket, status, description string) error {
	if !c.viaCentral(t) {
		return nil
	}
	payload, err := json.Marshal(CentralChange{Status: status, Description: description, At: c.now})
	if err != nil {
		return fmt.Errorf("queue central update: %w", err)
	}
	j := &Job{Kind: JobUpdate, Ticket: t.Number, Payload: string(payload), CreatedAt: c.now}
	if _, err := c.tx.EnqueueJob(j); err != nil {
		return fmt.Errorf("queue central update: %w", err)
	}
	return nil
}

// viaCentral reports whether a resident's change to t reaches the
// department through the central store (central.updates on, and the ticket
// synced or on its way).
func (c *conv) viaCentral(t *Ticket) bool {
	return c.r.CentralSync && c.r.CentralUpdates && (t.SyncState == SyncPending || t.SyncState == SyncSynced)
}

// KnownCentralStatus reports whether word is a status of the central store
// that ApplyCentral understands.
func KnownCentralStatus(word string) bool {
	_, known := centralStatus(word, Diterima, false)
	return known
}

// CentralUpdatePosted records that the central store took a resident's
// change to the ticket as updateID (when it named one): an event, and the
// id is marked seen so the store's echo of it in its updates feed is not
// taken for the department's answer.
func (e *Engine) CentralUpdatePosted(ctx context.Context, number, updateID string) error {
	return e.withConv(ctx, func(c *conv) error {
		if updateID != "" {
			if _, err := c.tx.Seen(seenCentralUpdate, updateID, c.now); err != nil {
				return err
			}
		}
		note := "perubahan diteruskan ke sistem pusat"
		if updateID != "" {
			note += ", id " + updateID
		}
		return c.tx.AddEvent(&Event{Ticket: number, Time: c.now, Source: "central", Note: note})
	})
}

// Package intake is the domain of sambatd: inbound messages, tickets and
// their statuses, the keyword parser, reply texts, and the Engine that turns
// one inbound message into ticket changes and outbox rows. It uses the
// standard library only and defines the interfaces it needs from the store
// and the channels.
package intake

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors callers branch on.
var (
	// ErrUnknownTicket means no ticket has that number.
	ErrUnknownTicket = errors.New("unknown ticket")
	// ErrNotFound means a looked-up row (session, outbox row, part) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidTicket means a ticket number failed its check digit or format.
	ErrInvalidTicket = errors.New("invalid ticket number")
	// ErrTransition means a status change is not allowed from the current status.
	ErrTransition = errors.New("status change not allowed")
	// ErrPermanent marks a send error that must not be retried (wrap it).
	ErrPermanent = errors.New("permanent failure")
	// ErrChannelDown means a channel cannot send right now.
	ErrChannelDown = errors.New("channel down")
)

// Status is a ticket status, in the Indonesian words residents see.
type Status string

// Ticket statuses. The first three are open, the last three closed.
const (
	Diterima   Status = "diterima"
	Diteruskan Status = "diteruskan"
	Diproses   Status = "diproses"
	Selesai    Status = "selesai"
	Ditolak    Status = "ditolak"
	Dibatalkan Status = "dibatalkan"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{Diterima, Diteruskan, Diproses, Selesai, Ditolak, Dibatalkan}

// Open reports whether a ticket in status s is still open.
func (s Status) Open() bool { return s == Diterima || s == Diteruskan || s == Diproses }

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Channel names. Modem channels are "modem:<name>"; the group of a channel is
// the part before the colon.
const (
	ChannelSim    = "sim"
	ChannelTwilio = "twilio"
	ChannelUSSD   = "ussd"
	ChannelModem  = "modem"
	ChannelCLI    = "cli"
	ChannelAPI    = "api"
)

// Message is one inbound message as a channel adapter hands it over.
type Message struct {
	ID          int64     // store row id, set by the store
	Channel     string    // "sim", "twilio", "modem:m1", "ussd"
	ExternalID  string    // unique per channel: MessageSid, PDU dedup key, sim id
	From        string    // the sender's address as received ("whatsapp:+62…", "0812…", "TELKOMSEL")
	Phone       string    // E.164 form of From, "" for alphanumeric senders; set by the engine
	To          string    // our number or short code, when known
	Text        string    // decoded text (valid UTF-8)
	Raw         []byte    // verbatim: raw PDU(s), webhook form, JSON body
	Received    time.Time // when the channel received it
	Attachments []Attachment
	Note        string // flags the engine or adapter set: "repeat", "over_limit", "blocked", "incomplete" …
	Ticket      string // the ticket this message created or touched
	Pending     bool   // stored by Engine.Accept; the engine has not acted on it yet
}

// Attachment is a media item sent with a message (an MMS or WhatsApp image).
type Attachment struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
}

// Part is one segment of a concatenated SMS, stored until the whole message
// can be joined. Single-part messages are not Parts.
type Part struct {
	Channel    string
	Key        string // dedup key of this part (originator, SCTS, ref, seq, PDU hash)
	Group      string // identifies the whole message: originator + reference + total
	Near       string // the group on the other side of midnight, for a part stamped near it
	From       string
	Seq, Total int
	Text       string
	Raw        []byte
	Received   time.Time
}

// Ticket is one complaint.
type Ticket struct {
	Number          string
	Seq             int64
	Status          Status
	Category        string // category code
	OPD             string // department code
	Location        string
	Description     string
	Complainant     string // E.164 phone of the resident, "" when they have none
	ComplainantName string
	SubmittedBy     string // E.164 phone of the KIM volunteer who filed it, "" if self-filed
	Confidential    bool   // RAHASIA: sender withheld from the department and the central store
	Channel         string // the channel the complaint arrived on
	ReplyAddress    string // the address replies went to (may be "whatsapp:+62…")
	InboundID       int64
	Fingerprint     string // folded text for repeat detection
	Reopened        int    // how many times BELUM reopened it
	CentralID       string // service_request_id at the central store
	SyncState       string // "", "pending", "synced", "error"
	SyncError       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	RespondedAt     time.Time // first department action; zero until then
	ClosedAt        time.Time // zero while open
	ReopenedAt      time.Time // when it was last opened again after closing; zero if never
	Attachments     []Attachment
	Events          []Event // filled by TicketDetail only
}

// Event is one change to a ticket.
type Event struct {
	ID     int64
	Ticket string
	Time   time.Time
	Status Status // the status after the event ("" for a note that changes nothing)
	Source string // "sms", "cli", "api", "central", "system"
	Note   string
}

// Outgoing is one outbox row: an SMS (or WhatsApp) waiting to leave or sent.
type Outgoing struct {
	ID         int64
	Channel    string // channel to send on; "" means any: the first healthy in outbound.order
	To         string // address on that channel ("+62…", "whatsapp:+62…")
	Phone      string // E.164 of the recipient
	Text       string
	Kind       string // what it is: "ack", "status", "help", "menu", "error", "notify", "reminder", "admin" …
	Ticket     string // ticket it is about, "" if none
	InboundID  int64  // the message it answers, 0 for notifications
	Status     string // "queued", "sending", "sent", "delivered", "undelivered", "failed", "cancelled"
	Attempts   int
	NextAt     time.Time // not before; notifications wait for the end of quiet hours
	LastError  string
	ProviderID string // modem message reference, Twilio SID
	SentVia    string // the channel that actually sent it
	CreatedAt  time.Time
	SentAt     time.Time
}

// Outbox row statuses.
const (
	OutQueued      = "queued"
	OutSending     = "sending"
	OutSent        = "sent"
	OutDelivered   = "delivered"
	OutUndelivered = "undelivered"
	OutFailed      = "failed"
	OutCancelled   = "cancelled"
)

// Session is the stored state of a menu dialog.
type Session struct {
	Key     string // channel-specific: "sms:+62…" or "ussd:<sessionId>"
	Phone   string
	State   string // opaque to the store: the dialog's encoded state
	Updated time.Time
	Expires time.Time
}

// TicketFilter selects tickets for listings.
type TicketFilter struct {
	Status   Status
	Category string
	OPD      string
	Phone    string // complainant or submitter
	Open     bool   // only open statuses (diterima, diteruskan, diproses)
	Central  bool   // only tickets the central store knows (a central id)
	Limit    int
	Offset   int
}

// Clock gives the time; tests inject a fake.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Store is what the engine and the workers need from persistence. Update runs
// fn in one write transaction and returns only once it is durable (the store
// may group several Updates into one commit). If fn returns an error nothing
// it did is kept.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	// UpdateBulk is Update for work that can wait: it yields to Updates.
	UpdateBulk(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	OutboxStore
}

// Tx is one store transaction.
type Tx interface {
	// InsertInbound keeps m verbatim. When (channel, external id) already
	// exists it returns the existing row's id and fresh=false, changing nothing.
	InsertInbound(m *Message) (id int64, fresh bool, err error)
	// MarkInbound records what became of an inbound message; it is no
	// longer pending.
	MarkInbound(id int64, ticket, note string) error
	// TakePending clears the pending flag of message id; taken=false when
	// it was not pending.
	TakePending(id int64) (taken bool, err error)
	// PendingInbound returns up to limit pending messages with an id above
	// after, in id order.
	PendingInbound(after int64, limit int) ([]Message, error)
	// Inbound returns a stored inbound message by channel and external id.
	Inbound(channel, externalID string) (*Message, error)
	// CountInbound counts stored inbound messages of a channel ("" for all).
	CountInbound(channel string) (int, error)
	// Conversation returns messages in and out for one phone, oldest first.
	Conversation(phone string, limit int) ([]ConversationItem, error)

	// InsertPart keeps one part of a concatenated message; fresh=false on a redelivery.
	InsertPart(p *Part) (fresh bool, err error)
	// Parts returns the unjoined parts of a group ordered by Seq.
	Parts(channel, group string) ([]Part, error)
	// JoinParts marks the parts of a group as joined into a message. Joined
	// parts are kept, so a redelivered part stays a duplicate (InsertPart
	// returns fresh=false) and they are not returned by Parts or StaleGroups.
	JoinParts(channel, group string) error
	// StaleGroups returns the unjoined groups whose oldest part arrived
	// before t.
	StaleGroups(before time.Time) ([]PartGroup, error)

	// NextTicketSeq returns the next ticket sequence number; never reused.
	NextTicketSeq() (int64, error)
	// Counter increments a named durable counter and returns the new value.
	Counter(name string) (int64, error)
	CreateTicket(t *Ticket) error
	// Ticket returns a ticket (without events) or ErrUnknownTicket.
	Ticket(number string) (*Ticket, error)
	// TicketDetail returns a ticket with its events and attachments.
	TicketDetail(number string) (*Ticket, error)
	// SaveTicket writes the mutable fields of t (status, location, description,
	// opd, category, reopened, central fields, responded/closed times, updated_at).
	SaveTicket(t *Ticket) error
	AddEvent(e *Event) error
	// Tickets lists tickets, newest first.
	Tickets(f TicketFilter) ([]Ticket, error)
	// RecentComplaint returns the newest ticket from phone with that
	// fingerprint created at or after since, or ErrUnknownTicket.
	RecentComplaint(phone, fingerprint string, since time.Time) (*Ticket, error)
	// CountComplaints counts tickets filed by phone (as complainant and self-filed) since t.
	CountComplaints(phone string, since time.Time) (int, error)

	// Enqueue adds an outbox row and sets o.ID.
	Enqueue(o *Outgoing) error
	// CountOutbox counts rows to phone of the given kinds created since t.
	CountOutbox(phone string, kinds []string, since time.Time) (int, error)
	// LastOutboxText returns the text of the newest row to phone created
	// since t, or ErrNotFound.
	LastOutboxText(phone string, since time.Time) (string, error)

	SetOptOut(phone string, out bool, at time.Time) error
	OptedOut(phone string) (bool, error)

	// Session returns a stored dialog session or ErrNotFound.
	Session(key string) (*Session, error)
	PutSession(s *Session) error
	DeleteSession(key string) error

	// EnqueueJob queues a central store job and sets j.ID. A second create
	// job for one ticket changes nothing and returns fresh=false.
	EnqueueJob(j *Job) (fresh bool, err error)
	// Seen records that (kind, key) was handled at at; fresh=false when it
	// was already recorded (deduplication of central updates, reminders).
	Seen(kind, key string, at time.Time) (fresh bool, err error)
	// TicketByCentralID returns the ticket with that central store id, or
	// ErrUnknownTicket.
	TicketByCentralID(id string) (*Ticket, error)
}

// ConversationItem is one line of a phone's conversation.
type ConversationItem struct {
	Direction string    `json:"direction"` // "in" or "out"
	Text      string    `json:"text"`
	Time      time.Time `json:"time"`
	Status    string    `json:"status"` // outbox status for "out", the note for "in"
	Channel   string    `json:"channel"`
}

// PartGroup names a group of parts that never completed.
type PartGroup struct {
	Channel, Group string
}

// OutboxStore is what the outbox workers need.
type OutboxStore interface {
	// Claim marks up to limit queued rows due at now on one of channels as
	// sending and returns them by id; the earliest due are taken first. ""
	// in channels claims rows that may go on any channel.
	Claim(ctx context.Context, channels []string, now time.Time, limit int) ([]Outgoing, error)
	MarkSent(ctx context.Context, id int64, via, providerID string, at time.Time) error
	MarkRetry(ctx context.Context, id int64, reason string, next time.Time) error
	MarkFailed(ctx context.Context, id int64, reason string, at time.Time) error
	// MarkDelivery records a delivery report for the newest row sent via
	// channel with that provider id. ErrNotFound when none matches.
	MarkDelivery(ctx context.Context, via, providerID, status string, at time.Time) error
	// RequeueInflight turns rows left "sending" by a dead process back to
	// "queued"; only the daemon calls it, at start.
	RequeueInflight(ctx context.Context) (int, error)
}

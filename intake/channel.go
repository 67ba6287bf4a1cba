package intake

import (
	"context"
	"time"
)

// Sender delivers one outbox row on one channel. It returns the provider's
// id for the message (for delivery reports). An error wrapping ErrPermanent
// fails the row; any other error is retried with backoff.
type Sender interface {
	Send(ctx context.Context, o Outgoing) (providerID string, err error)
}

// Health is the state of one part of the daemon, for /readyz and metrics.
type Health struct {
	Name    string         `json:"name"`
	OK      bool           `json:"ok"`
	Inbound bool           `json:"inbound"` // an inbound channel (readyz needs one up)
	Detail  map[string]any `json:"detail,omitempty"`
	Error   string         `json:"error,omitempty"`
	Checked time.Time      `json:"checked"`
}

// Checker reports the health of a part.
type Checker interface {
	Health(ctx context.Context) Health
}

// Result is what the engine did with one inbound message.
type Result struct {
	InboundID int64
	Duplicate bool   // the message was a redelivery: nothing new was done
	Ticket    string // ticket created or touched, if any
	Replies   []Outgoing
}

// Handler takes one inbound message in: channel adapters call it and
// acknowledge to their side only after it returns nil (the commit is durable).
type Handler interface {
	Handle(ctx context.Context, m Message) (Result, error)
}

// PartHandler takes one part of a concatenated SMS in. The part is stored
// (a redelivered part is absorbed); when the last part arrives the parts are
// joined from the store and handled as one Message, all in one transaction.
// Result.InboundID is 0 while the message is still incomplete. The adapter
// acknowledges (deletes from the SIM) only after it returns nil.
type PartHandler interface {
	HandlePart(ctx context.Context, p Part) (Result, error)
}

// USSDRequest is one request from a USSD gateway, in the aggregator
// convention: Text holds every input of the session so far joined by '*'.
type USSDRequest struct {
	SessionID   string
	ServiceCode string
	Phone       string
	NetworkCode string
	Text        string
	// Raw is the request as the gateway sent it (the form body), kept
	// verbatim; empty means the engine keeps the fields above instead. A
	// string keeps the request comparable.
	Raw string
}

// USSDResponse is the screen to show: End closes the session.
type USSDResponse struct {
	Text string
	End  bool
}

// USSDHandler answers USSD requests. A repeated request (same session and
// text) gets the same answer and never a second ticket.
type USSDHandler interface {
	USSD(ctx context.Context, r USSDRequest) (USSDResponse, error)
}

// PartFlusher delivers, as what arrived and marked "incomplete", the
// concatenated messages of a channel whose parts stopped arriving before
// the given time.
type PartFlusher interface {
	FlushParts(ctx context.Context, channel string, before time.Time) (int, error)
}

// DeliveryRecorder records delivery reports (a subset of OutboxStore).
type DeliveryRecorder interface {
	MarkDelivery(ctx context.Context, via, providerID, status string, at time.Time) error
}

// Package sim is the simulator channel: an HTTP API and a page that looks
// like a basic phone, for demos, for training KIM volunteers without
// spending credit, and for tests. Outbound messages are "sent" by marking
// them so; the conversation API shows them.
package sim

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/kotamalang/sambatd/intake"
)

// MaxBody is the largest request body the simulator API accepts.
const MaxBody = 64 << 10

// Conversations reads a phone's conversation.
type Conversations interface {
	Conversation(ctx context.Context, phone string, limit int) ([]intake.ConversationItem, error)
}

// Contact is a number offered on the phone page.
type Contact struct {
	Phone string `json:"phone"`
	Label string `json:"label"`
}

// Sim is the simulator channel.
type Sim struct {
	handler  intake.Handler
	convs    Conversations
	contacts func() []Contact
	clock    intake.Clock
	logger   *slog.Logger
}

var (
	_ intake.Sender  = (*Sim)(nil)
	_ intake.Checker = (*Sim)(nil)
)

// New builds the simulator. contacts lists the numbers the page offers
// (residents and KIM volunteers); it is called on each page load so a
// reloaded config shows at once.
func New(h intake.Handler, c Conversations, contacts func() []Contact, clock intake.Clock, logger *slog.Logger) *Sim {
	if clock == nil {
		clock = intake.SystemClock{}
	}
	return &Sim{handler: h, convs: c, contacts: contacts, clock: clock, logger: logger.With("component", "sim")}
}

// Send delivers a reply to the simulated phone: nothing to transmit, the
// row itself is what the conversation API shows.
func (s *Sim) Send(ctx context.Context, o intake.Outgoing) (string, error) {
	return "sim-" + strconv.FormatInt(o.ID, 10), nil
}

// Health reports the simulator, always up.
func (s *Sim) Health(ctx context.Context) intake.Health {
	return intake.Health{Name: intake.ChannelSim, OK: true, Inbound: true, Checked: s.clock.Now()}
}

// Routes registers the simulator's endpoints on mux.
func (s *Sim) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/sim/messages", s.post)
	mux.HandleFunc("GET /api/v1/sim/messages", s.list)
	mux.HandleFunc("GET /api/v1/sim/contacts", s.listContacts)
	mux.HandleFunc("GET /sim", s.page)
}

type postRequest struct {
	ID   string `json:"id"`
	From string `json:"from"`
	Text string `json:"text"`
}

// post takes one SMS in and answers 202 only after the commit.
func (s *Sim) post(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", MaxBody))
		return
	}
	var req postRequest
	if err != nil || json.Unmarshal(body, &req) != nil {
		writeError(w, http.StatusBadRequest, `want JSON {"from":"+62…","text":"…"}`)
		return
	}
	if strings.TrimSpace(req.From) == "" {
		writeError(w, http.StatusBadRequest, `"from" is required`)
		return
	}
	if req.ID == "" {
		req.ID = newID()
	}
	m := intake.Message{Channel: intake.ChannelSim, ExternalID: req.ID, From: req.From,
		Text: req.Text, Raw: body, Received: s.clock.Now()}
	if _, err := s.handler.Handle(r.Context(), m); err != nil {
		s.logger.Error("handle simulated sms", "error", err)
		writeError(w, http.StatusServiceUnavailable, "not stored, try again")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": req.ID})
}

// list returns one number's conversation, oldest first.
func (s *Sim) list(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("phone")
	phone, kind := intake.NormalizePhone(raw)
	if kind != intake.AddrMobile {
		writeError(w, http.StatusBadRequest, "phone: want a mobile number such as +62812…")
		return
	}
	limit := 200
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 && n <= 1000 {
		limit = n
	}
	items, err := s.convs.Conversation(r.Context(), phone, limit)
	if err != nil {
		s.logger.Error("load conversation", "error", err)
		writeError(w, http.StatusInternalServerError, "could not load the conversation")
		return
	}
	if items == nil {
		items = []intake.ConversationItem{}
	}
	writeJSON(w, http.StatusOK, items)
}

func (s *Sim) listContacts(w http.ResponseWriter, r *http.Request) {
	cs := s.contacts()
	if cs == nil {
		cs = []Contact{}
	}
	writeJSON(w, http.StatusOK, cs)
}

//go:embed phone.html
var phoneHTML []byte

func (s *Sim) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(phoneHTML)
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "sim-" + hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// ticketJSON is a ticket as the API shows it. The number is a string.
type ticketJSON struct {
	Number       string              `json:"number"`
	Status       intake.Status       `json:"status"`
	Category     string              `json:"category"`
	OPD          string              `json:"opd"`
	Location     string              `json:"location"`
	Description  string              `json:"description"`
	Complainant  string              `json:"complainant"`
	SubmittedBy  string              `json:"submitted_by"`
	Confidential bool                `json:"confidential"`
	Channel      string              `json:"channel"`
	CentralID    string              `json:"central_id,omitempty"`
	SyncState    string              `json:"sync_state,omitempty"`
	SyncError    string              `json:"sync_error,omitempty"`
	CreatedAt    time.Time           `json:"created_at"`
	UpdatedAt    time.Time           `json:"updated_at"`
	Attachments  []intake.Attachment `json:"attachments"`
	Events       []eventJSON         `json:"events,omitempty"`
}

type eventJSON struct {
	Time   time.Time     `json:"time"`
	Status intake.Status `json:"status,omitempty"`
	Source string        `json:"source"`
	Note   string        `json:"note"`
}

// toJSON converts a ticket; a department officer never sees the sender of
// a confidential (RAHASIA) ticket.
func toJSON(t *intake.Ticket, p principal) ticketJSON {
	j := ticketJSON{Number: t.Number, Status: t.Status, Category: t.Category, OPD: t.OPD,
		Location: t.Location, Description: t.Description, Complainant: t.Complainant,
		SubmittedBy: t.SubmittedBy, Confidential: t.Confidential, Channel: t.Channel,
		CentralID: t.CentralID, SyncState: t.SyncState, SyncError: t.SyncError,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Attachments: t.Attachments}
	if j.Attachments == nil {
		j.Attachments = []intake.Attachment{}
	}
	if !p.admin && t.Confidential {
		j.Complainant, j.SubmittedBy = "", ""
	}
	for _, e := range t.Events {
		j.Events = append(j.Events, eventJSON{Time: e.Time, Status: e.Status, Source: e.Source, Note: e.Note})
	}
	return j
}

func (a *API) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := intake.TicketFilter{Status: intake.Status(q.Get("status")), Category: q.Get("category"), OPD: q.Get("opd")}
	if f.Status != "" && !f.Status.Valid() {
		writeError(w, http.StatusBadRequest, "status: unknown status "+string(f.Status))
		return
	}
	var err error
	if f.Limit, err = atoi(q.Get("limit"), 50); err != nil || f.Limit > 500 {
		writeError(w, http.StatusBadRequest, "limit: want a number from 1 to 500")
		return
	}
	if f.Offset, err = atoi(q.Get("offset"), 0); err != nil {
		writeError(w, http.StatusBadRequest, "offset: "+err.Error())
		return
	}
	p := who(r)
	if !p.admin {
		f.OPD = p.opd
	}
	ts, err := a.backend.Tickets(r.Context(), f)
	if err != nil {
		a.fail(w, "list tickets", err)
		return
	}
	out := make([]ticketJSON, 0, len(ts))
	for i := range ts {
		out = append(out, toJSON(&ts[i], p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tickets": out, "limit": f.Limit, "offset": f.Offset})
}

// visible loads a ticket the caller may see; it writes the 404 itself.
func (a *API) visible(w http.ResponseWriter, r *http.Request) (*intake.Ticket, bool) {
	number := r.PathValue("number")
	t, err := a.backend.TicketDetail(r.Context(), number)
	switch {
	case errors.Is(err, intake.ErrUnknownTicket):
	case err != nil:
		a.fail(w, "load ticket", err)
		return nil, false
	case who(r).admin || who(r).opd == t.OPD:
		return t, true
	}
	writeError(w, http.StatusNotFound, "no ticket "+number)
	return nil, false
}

func (a *API) showTicket(w http.ResponseWriter, r *http.Request) {
	if t, ok := a.visible(w, r); ok {
		writeJSON(w, http.StatusOK, toJSON(t, who(r)))
	}
}

type statusRequest struct {
	Status intake.Status `json:"status"`
	Note   string        `json:"note"`
}

// setStatus changes a ticket's status; the resident is told by SMS.
func (a *API) setStatus(w http.ResponseWriter, r *http.Request) {
	var req statusRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	if err != nil || json.Unmarshal(body, &req) != nil {
		writeError(w, http.StatusBadRequest, `want JSON {"status":"diproses","note":"…"}`)
		return
	}
	if !req.Status.Valid() {
		writeError(w, http.StatusBadRequest, "status: unknown status "+string(req.Status))
		return
	}
	t, ok := a.visible(w, r)
	if !ok {
		return
	}
	source := "api"
	if p := who(r); !p.admin {
		source = "api:" + p.opd
	}
	err = a.backend.SetStatus(r.Context(), t.Number, req.Status, source, req.Note)
	switch {
	case errors.Is(err, intake.ErrTransition):
		writeError(w, http.StatusConflict, "ticket "+t.Number+" is "+string(t.Status)+": cannot become "+string(req.Status))
	case err != nil:
		a.fail(w, "set status", err)
	default:
		t, _ = a.backend.TicketDetail(r.Context(), t.Number)
		writeJSON(w, http.StatusOK, toJSON(t, who(r)))
	}
}

package central

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/kotamalang/sambatd/intake"
)

// maxInbound caps the body of an inbound update.
const maxInbound = 64 << 10

// ServeUpdates takes in an update the central store posts to InboundPath,
// form-encoded with FixMyStreet's fields: api_key (central.inbound_api_key),
// update_id, service_request_id, status, description, updated_datetime and
// optionally agency_responsible (or agency). A repeated update_id is
// answered as a success and changes nothing. Errors are answered in the
// Open311 format: 403 for a wrong key, 400 for a missing or bad field, 404
// for a request that is not ours, 413 for an oversized body.
func (c *Central) ServeUpdates(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		c.refuse(w, http.StatusMethodNotAllowed, "method_not_allowed", "POST only")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxInbound)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.warn("inbound update refused", err, "remote", r.RemoteAddr)
			c.refuse(w, http.StatusRequestEntityTooLarge, "too_large", "body too large")
			return
		}
		c.refuse(w, http.StatusBadRequest, "bad_request", "unreadable form")
		return
	}
	f := r.PostForm
	want := c.cfg.InboundAPIKey
	if want == "" || subtle.ConstantTimeCompare([]byte(f.Get("api_key")), []byte(want)) != 1 {
		c.warn("inbound update refused", errors.New("wrong api_key"), "remote", r.RemoteAddr)
		c.refuse(w, http.StatusForbidden, "forbidden", "invalid api_key")
		return
	}
	u, msg := inboundUpdate(f.Get)
	if msg != "" {
		c.refuse(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	c.applyInbound(w, r, u)
}

// applyInbound hands a checked inbound update to the engine and answers.
func (c *Central) applyInbound(w http.ResponseWriter, r *http.Request, u intake.CentralUpdate) {
	res, err := c.engine.ApplyCentral(r.Context(), u)
	switch {
	case errors.Is(err, intake.ErrUnknownTicket):
		c.refuse(w, http.StatusNotFound, "not_found", "unknown service_request_id "+u.ServiceRequestID)
		return
	case err != nil:
		c.logger.Error("apply inbound update", "service_request_id", u.ServiceRequestID, "err", err)
		c.count("central_inbound", "error")
		writeJSON(w, http.StatusInternalServerError, []errorBody{{Code: 500, Description: "internal error, retry later"}})
		return
	}
	c.count("central_inbound", res.Outcome)
	if res.Outcome == intake.CentralApplied || res.Outcome == intake.CentralIgnored {
		c.logger.Info("inbound update", "ticket", res.Ticket, "status", res.Status, "central_status", u.Status,
			"outcome", res.Outcome, "reason", res.Reason)
	}
	writeJSON(w, http.StatusOK, []map[string]string{{"update_id": u.UpdateID}})
}

// inboundUpdate reads the fields of an inbound update; msg names what is
// missing or wrong.
func inboundUpdate(get func(string) string) (u intake.CentralUpdate, msg string) {
	field := func(name string) string { return strings.TrimSpace(get(name)) }
	u = intake.CentralUpdate{UpdateID: field("update_id"), ServiceRequestID: field("service_request_id"),
		Status: field("status"), Note: field("description"), Agency: field("agency_responsible")}
	if u.Agency == "" {
		u.Agency = field("agency")
	}
	for _, f := range []struct{ name, v string }{{"update_id", u.UpdateID},
		{"service_request_id", u.ServiceRequestID}, {"status", u.Status}} {
		if f.v == "" {
			return u, "missing " + f.name
		}
	}
	if !intake.KnownCentralStatus(u.Status) {
		return u, "unknown status " + strconv.Quote(u.Status)
	}
	if s := field("updated_datetime"); s != "" {
		if u.At = parseTime(s); u.At.IsZero() {
			return u, "updated_datetime is not a W3C datetime"
		}
	}
	return u, ""
}

// refuse answers an Open311 error and counts it.
func (c *Central) refuse(w http.ResponseWriter, status int, outcome, description string) {
	c.count("central_inbound", outcome)
	writeJSON(w, status, []errorBody{{Code: status, Description: description}})
}

// errorBody is one entry of an Open311 error answer of ours.
type errorBody struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

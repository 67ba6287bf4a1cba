package central

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// maxBody caps what is read of an answer from the central store.
const maxBody = 1 << 20

// errNotYet means a token has no service_request_id yet.
var errNotYet = errors.New("token not resolved yet")

// APIError is an answer of the central store that is not a success, with
// the first error of its Open311 error body ([{"code":..,"description":..}]).
type APIError struct {
	StatusCode  int
	Code        string
	Description string
}

// Error implements error.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("central store answered %d", e.StatusCode)
	if e.Code != "" {
		msg += " code " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Permanent reports whether asking again cannot help: a 4xx other than
// 408 (timeout) and 429 (too many requests).
func (e *APIError) Permanent() bool {
	return e.StatusCode >= 400 && e.StatusCode < 500 &&
		e.StatusCode != http.StatusTooManyRequests && e.StatusCode != http.StatusRequestTimeout
}

// ID is an identifier the central store may send as a JSON number or a
// string; null is empty.
type ID string

// UnmarshalJSON accepts a string, a number (kept as written) or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*id = ""
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("decode id: %w", err)
		}
		*id = ID(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("decode id %s: %w", b, err)
	}
	*id = ID(n.String())
	return nil
}

// apiErrorBody is one entry of an Open311 error answer.
type apiErrorBody struct {
	Code        ID     `json:"code"`
	Description string `json:"description"`
}

// postAnswer is one entry of the answer to POST requests.json.
type postAnswer struct {
	ServiceRequestID ID     `json:"service_request_id"`
	Token            ID     `json:"token"`
	ServiceNotice    string `json:"service_notice"`
}

// Request is one service request as GET requests.json lists it.
type Request struct {
	ServiceRequestID  ID     `json:"service_request_id"`
	Status            string `json:"status"`
	StatusNotes       string `json:"status_notes"`
	AgencyResponsible string `json:"agency_responsible"`
	UpdatedDatetime   string `json:"updated_datetime"`
}

// Update is one FixMyStreet service request update.
type Update struct {
	UpdateID          ID     `json:"update_id"`
	ServiceRequestID  ID     `json:"service_request_id"`
	Status            string `json:"status"`
	Description       string `json:"description"`
	UpdatedDatetime   string `json:"updated_datetime"`
	AgencyResponsible string `json:"agency_responsible"`
}

// client speaks Open311 GeoReport v2 (and FixMyStreet's updates) to one
// central store.
type client struct {
	base         string // without a trailing slash
	apiKey       string
	jurisdiction string
	http         *http.Client
	timeout      time.Duration
}

// form returns the fields every POST carries.
func (c *client) form() url.Values {
	v := url.Values{}
	v.Set("api_key", c.apiKey)
	if c.jurisdiction != "" {
		v.Set("jurisdiction_id", c.jurisdiction)
	}
	return v
}

// query returns the parameters every GET carries.
func (c *client) query() url.Values {
	v := url.Values{}
	if c.jurisdiction != "" {
		v.Set("jurisdiction_id", c.jurisdiction)
	}
	return v
}

// createForm is the body of POST requests.json for a ticket.
func (c *client) createForm(r intake.CentralRequest) url.Values {
	v := c.form()
	v.Set("service_code", r.ServiceCode)
	v.Set("description", r.Description)
	v.Set("address_string", r.Address)
	v.Set("attribute[sms_ticket]", r.Ticket)
	if r.Phone != "" {
		v.Set("phone", r.Phone)
	}
	if r.MediaURL != "" {
		v.Set("media_url", r.MediaURL)
	}
	return v
}

// create posts a new service request. It returns its id, or a token to
// resolve later.
func (c *client) create(ctx context.Context, r intake.CentralRequest) (id, token string, err error) {
	var ans []postAnswer
	if err := c.do(ctx, http.MethodPost, "/requests.json", c.createForm(r), &ans); err != nil {
		return "", "", fmt.Errorf("post request %s: %w", r.Ticket, err)
	}
	for _, a := range ans {
		if a.ServiceRequestID != "" || a.Token != "" {
			return string(a.ServiceRequestID), string(a.Token), nil
		}
	}
	return "", "", fmt.Errorf("post request %s: answer has neither service_request_id nor token", r.Ticket)
}

// token resolves a token to a service_request_id; errNotYet while the
// store has not assigned one.
func (c *client) token(ctx context.Context, token string) (string, error) {
	var ans []postAnswer
	err := c.do(ctx, http.MethodGet, "/tokens/"+url.PathEscape(token)+".json", c.query(), &ans)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		return "", errNotYet
	}
	if err != nil {
		return "", fmt.Errorf("get token %s: %w", token, err)
	}
	for _, a := range ans {
		if a.ServiceRequestID != "" {
			return string(a.ServiceRequestID), nil
		}
	}
	return "", errNotYet
}

// requests reads the current state of service requests by id.
func (c *client) requests(ctx context.Context, ids []string) ([]Request, error) {
	q := c.query()
	q.Set("service_request_id", strings.Join(ids, ","))
	var ans []Request
	if err := c.do(ctx, http.MethodGet, "/requests.json", q, &ans); err != nil {
		return nil, fmt.Errorf("get requests: %w", err)
	}
	return ans, nil
}

// updates reads FixMyStreet's service request updates between start and end.
func (c *client) updates(ctx context.Context, start, end time.Time) ([]Update, error) {
	q := c.query()
	q.Set("api_key", c.apiKey)
	q.Set("start_date", start.UTC().Format(time.RFC3339))
	q.Set("end_date", end.UTC().Format(time.RFC3339))
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/servicerequestupdates.json", q, &raw); err != nil {
		return nil, fmt.Errorf("get updates: %w", err)
	}
	us, err := decodeUpdates(raw)
	if err != nil {
		return nil, fmt.Errorf("get updates: %w", err)
	}
	return us, nil
}

// decodeUpdates reads an updates answer: a plain array, or an object
// holding it (FixMyStreet's XML names it service_requests_updates).
func decodeUpdates(raw []byte) ([]Update, error) {
	var us []Update
	if err := json.Unmarshal(raw, &us); err == nil {
		return us, nil
	}
	var wrapped map[string]json.RawMessage
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return nil, fmt.Errorf("decode updates: %w", err)
	}
	for _, k := range []string{"service_requests_updates", "service_request_updates", "request_updates", "updates"} {
		if inner, ok := wrapped[k]; ok {
			if err := json.Unmarshal(inner, &us); err != nil {
				return nil, fmt.Errorf("decode updates: %w", err)
			}
			return us, nil
		}
	}
	return nil, errors.New("decode updates: no list of updates in the answer")
}

// postUpdate posts a resident's change as a FixMyStreet-style update and
// returns the store's update id, if it names one. key is sent as
// attribute[sms_update] so the store can recognise a retry.
func (c *client) postUpdate(ctx context.Context, centralID, key string, ch intake.CentralChange) (string, error) {
	v := c.form()
	v.Set("service_request_id", centralID)
	v.Set("status", ch.Status)
	v.Set("description", ch.Description)
	v.Set("updated_datetime", ch.At.UTC().Format(time.RFC3339))
	v.Set("attribute[sms_update]", key)
	var ans []Update
	if err := c.do(ctx, http.MethodPost, "/servicerequestupdates.json", v, &ans); err != nil {
		return "", fmt.Errorf("post update %s: %w", key, err)
	}
	for _, a := range ans {
		if a.UpdateID != "" {
			return string(a.UpdateID), nil
		}
	}
	return "", nil
}

// do sends one request (form-encoded for POST, query for GET) within the
// client's timeout and decodes a 2xx JSON answer into out; any other
// answer is an *APIError.
func (c *client) do(ctx context.Context, method, path string, v url.Values, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := c.base + path
	var body io.Reader
	if method == http.MethodGet {
		u += "?" + v.Encode()
	} else {
		body = strings.NewReader(v.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// decodeError builds the error of a non-2xx answer from its Open311 error
// body, or from its first line when the body is something else.
func decodeError(status int, body []byte) *APIError {
	e := &APIError{StatusCode: status}
	var list []apiErrorBody
	var one apiErrorBody
	switch {
	case json.Unmarshal(body, &list) == nil && len(list) > 0:
		e.Code, e.Description = string(list[0].Code), list[0].Description
	case json.Unmarshal(body, &one) == nil && (one.Code != "" || one.Description != ""):
		e.Code, e.Description = string(one.Code), one.Description
	default:
		line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		e.Description = strings.ToValidUTF8(line, "")
	}
	if len(e.Description) > 300 {
		e.Description = strings.ToValidUTF8(e.Description[:300], "")
	}
	return e
}

package twilio

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI is a Twilio REST double on loopback: POST and GET
// /2010-04-01/Accounts/{sid}/Messages.json and GET …/Messages/{sid}/Media.json,
// with basic auth, scripted errors and Twilio's paging fields.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	created  []url.Values
	received []time.Time // the server's clock when each create arrived, in order
	script   []string    // answers for the next creates: "ok", "21610", "429", "500", "400", "401"
	listed   []url.Values
	messages []map[string]any
	media    map[string][]map[string]any
	pageSize int
	listErr  int           // when non-zero, list answers this status
	block    chan struct{} // when set, list waits on it or the client going away
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, media: map[string][]map[string]any{}, pageSize: 2}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != testSID || pass != testToken {
		writeJSON(w, 401, map[string]any{"code": 20003, "message": "Authenticate", "status": 401})
		return
	}
	prefix := "/2010-04-01/Accounts/" + testSID + "/Messages"
	switch {
	case r.URL.Path == prefix+".json" && r.Method == http.MethodPost:
		f.create(w, r)
	case r.URL.Path == prefix+".json" && r.Method == http.MethodGet:
		f.list(w, r)
	case strings.HasPrefix(r.URL.Path, prefix+"/") && strings.HasSuffix(r.URL.Path, "/Media.json"):
		sid := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix+"/"), "/Media.json")
		f.mu.Lock()
		list := f.media[sid]
		f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"media_list": list, "page": 0, "page_size": 50,
			"next_page_uri": nil, "uri": r.URL.RequestURI()})
	default:
		writeJSON(w, 404, map[string]any{"code": 20404, "message": "not found", "status": 404})
	}
}

func (f *fakeAPI) create(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	f.created = append(f.created, r.PostForm)
	f.received = append(f.received, at)
	n := len(f.created)
	answer := "ok"
	if len(f.script) > 0 {
		answer, f.script = f.script[0], f.script[1:]
	}
	f.mu.Unlock()
	switch answer {
	case "21610":
		writeJSON(w, 400, map[string]any{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400})
	case "429":
		writeJSON(w, 429, map[string]any{"code": 20429, "message": "Too Many Requests", "status": 429})
	case "500":
		http.Error(w, "upstream exploded", 500) // not JSON, as a proxy might answer
	case "400":
		writeJSON(w, 400, map[string]any{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})
	case "401":
		writeJSON(w, 401, map[string]any{"code": 20003, "message": "Authenticate", "status": 401})
	default:
		writeJSON(w, 201, map[string]any{"sid": fmt.Sprintf("SM%032d", n), "status": "queued",
			"to": r.PostForm.Get("To"), "from": r.PostForm.Get("From"), "body": r.PostForm.Get("Body")})
	}
}

// list answers with Twilio's page fields; next_page_uri leads on until done.
func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.listed = append(f.listed, q)
	status, block := f.listErr, f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		writeJSON(w, status, map[string]any{"code": 20500, "message": "down", "status": status})
		return
	}
	match := f.matching(q)
	page, _ := strconv.Atoi(q.Get("Page"))
	start := page * f.pageSize
	end := min(start+f.pageSize, len(match))
	if start > len(match) {
		start = len(match)
	}
	var next any
	if end < len(match) {
		nq := url.Values{"To": {q.Get("To")}, "DateSent>": {q.Get("DateSent>")},
			"PageSize": {strconv.Itoa(f.pageSize)}, "Page": {strconv.Itoa(page + 1)},
			"PageToken": {"PASM" + strconv.Itoa(end)}}
		next = r.URL.Path + "?" + nq.Encode()
	}
	writeJSON(w, 200, map[string]any{
		"messages": match[start:end], "page": page, "page_size": f.pageSize,
		"start": start, "end": end, "uri": r.URL.RequestURI(), "first_page_uri": r.URL.Path + "?Page=0",
		"next_page_uri": next, "previous_page_uri": nil,
	})
}

func (f *fakeAPI) matching(q url.Values) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	after, _ := time.Parse(time.RFC3339, q.Get("DateSent>"))
	var out []map[string]any
	for _, m := range f.messages {
		if to := q.Get("To"); to != "" && m["to"] != to {
			continue
		}
		sent, _ := time.Parse(time.RFC1123Z, m["date_sent"].(string))
		if sent.Before(after) {
			continue
		}
		out = append(out, m)
	}
	return out
}

// addMessage puts a message in the account as the list returns it.
func (f *fakeAPI) addMessage(sid, from, to, body, direction, status string, sent time.Time, numMedia int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.messages = append(f.messages, map[string]any{
		"sid": sid, "account_sid": testSID, "from": from, "to": to, "body": body,
		"direction": direction, "status": status, "num_media": strconv.Itoa(numMedia),
		"num_segments": "1", "date_sent": sent.UTC().Format(time.RFC1123Z),
		"date_created": sent.UTC().Format(time.RFC1123Z), "api_version": "2010-04-01",
		"uri": "/2010-04-01/Accounts/" + testSID + "/Messages/" + sid + ".json",
	})
}

func (f *fakeAPI) createdForms() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.created...)
}

// receivedTimes returns when each create arrived, sorted.
func (f *fakeAPI) receivedTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := append([]time.Time(nil), f.received...)
	slices.SortFunc(ts, time.Time.Compare)
	return ts
}

func (f *fakeAPI) listQueries() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.listed...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

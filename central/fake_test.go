package central_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	storeKey     = "k-central"
	jurisdiction = "malangkota.go.id"
)

// fakeRequest is a service request the fake store holds.
type fakeRequest struct {
	id      int
	form    url.Values
	status  string
	notes   string
	agency  string
	updated time.Time
}

// fakeStore is an Open311 GeoReport v2 server (with FixMyStreet's
// updates) on loopback that enforces what the spec asks of a client:
// api_key and jurisdiction_id, a known service_code, a description and an
// address; it answers with numeric ids and Open311 error bodies, and
// recognises a retried POST by attribute[sms_ticket].
type fakeStore struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	services  map[string]bool
	down      bool // refuse every request: 503, or a closed connection every other time
	refused   int
	hang      int  // the next POSTs of requests: create, then never answer
	tokens    bool // answer POST requests with a token
	tokenGets map[string]int
	nextID    int
	bySMS     map[string]*fakeRequest
	byID      map[string]*fakeRequest
	posts     map[string]int // POST requests.json per attribute[sms_ticket] that reached the store
	order     []string       // "create:<sms_ticket>", "update:<id>" in the order the store took them
	updates   []url.Values   // POSTed service request updates
	feed      []map[string]any
	feedQuery url.Values
	gets      [][]string // ids asked per GET requests.json
}

func newFakeStore(t *testing.T) *fakeStore {
	f := &fakeStore{t: t, nextID: 293944, tokenGets: map[string]int{},
		services: map[string]bool{"JALAN": true, "PJU": true, "SAMPAH": true, "LAINNYA": true},
		bySMS:    map[string]*fakeRequest{}, byID: map[string]*fakeRequest{}, posts: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/requests.json", f.guard(f.postRequest))
	mux.HandleFunc("GET /v2/requests.json", f.guard(f.getRequests))
	mux.HandleFunc("GET /v2/tokens/{token}", f.guard(f.getToken))
	mux.HandleFunc("GET /v2/servicerequestupdates.json", f.guard(f.getUpdates))
	mux.HandleFunc("POST /v2/servicerequestupdates.json", f.guard(f.postUpdate))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// url is the base URL a client is configured with.
func (f *fakeStore) url() string { return f.srv.URL + "/v2" }

func openErr(w http.ResponseWriter, status int, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `[{"code":%d,"description":%q}]`, status, desc)
}

func answer(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, body)
}

// guard refuses while the store is down and checks jurisdiction_id.
func (f *fakeStore) guard(h func(http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		down := f.down
		if down {
			f.refused++
		}
		n := f.refused
		f.mu.Unlock()
		switch {
		case down && n%2 == 0:
			// Connection closed without an answer: the client cannot know
			// whether it arrived.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case down:
			openErr(w, http.StatusServiceUnavailable, "maintenance")
			return
		}
		if err := r.ParseForm(); err != nil {
			openErr(w, http.StatusBadRequest, "unreadable form")
			return
		}
		if r.Form.Get("jurisdiction_id") != jurisdiction {
			openErr(w, http.StatusNotFound, "jurisdiction_id not found")
			return
		}
		h(w, r)
	}
}

func (f *fakeStore) postRequest(w http.ResponseWriter, r *http.Request) {
	form := r.PostForm
	sms := form.Get("attribute[sms_ticket]")
	switch {
	case form.Get("api_key") != storeKey:
		openErr(w, http.StatusForbidden, "Invalid api_key")
		return
	case !f.known(form.Get("service_code")):
		openErr(w, http.StatusBadRequest, "service_code "+form.Get("service_code")+" not found")
		return
	case form.Get("description") == "" || form.Get("address_string") == "":
		openErr(w, http.StatusBadRequest, "description and a location are required")
		return
	}
	f.mu.Lock()
	f.posts[sms]++
	req, retry := f.bySMS[sms]
	if !retry {
		req = &fakeRequest{id: f.nextID, form: form, status: "open", updated: time.Now()}
		f.nextID++
		f.bySMS[sms] = req
		f.byID[strconv.Itoa(req.id)] = req
		f.order = append(f.order, "create:"+sms)
	}
	hang := !retry && f.hang > 0
	if hang {
		f.hang--
	}
	tokens := f.tokens
	f.mu.Unlock()
	if hang {
		<-r.Context().Done() // taken, but the answer never reaches the client
		return
	}
	if tokens {
		answer(w, fmt.Sprintf(`[{"token":"tok-%d","service_notice":"akan diproses"}]`, req.id))
		return
	}
	answer(w, fmt.Sprintf(`[{"service_request_id":%d,"service_notice":"diterima"}]`, req.id))
}

func (f *fakeStore) known(code string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.services[code]
}

// getToken resolves a token on the third try: 404, then null, then the id.
func (f *fakeStore) getToken(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimSuffix(r.PathValue("token"), ".json")
	f.mu.Lock()
	f.tokenGets[tok]++
	n := f.tokenGets[tok]
	f.mu.Unlock()
	id, _ := strings.CutPrefix(tok, "tok-")
	switch n {
	case 1:
		openErr(w, http.StatusNotFound, "token not found yet")
	case 2:
		answer(w, fmt.Sprintf(`[{"token":%q,"service_request_id":null}]`, tok))
	default:
		answer(w, fmt.Sprintf(`[{"token":%q,"service_request_id":%s}]`, tok, id))
	}
}

func (f *fakeStore) getRequests(w http.ResponseWriter, r *http.Request) {
	ids := strings.Split(r.Form.Get("service_request_id"), ",")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets = append(f.gets, ids)
	var out []map[string]any
	for _, id := range ids {
		if req, ok := f.byID[id]; ok {
			out = append(out, map[string]any{"service_request_id": req.id, "status": req.status,
				"status_notes": req.notes, "agency_responsible": req.agency,
				"service_code": req.form.Get("service_code"), "updated_datetime": req.updated.UTC().Format(time.RFC3339)})
		}
	}
	data, _ := json.Marshal(out)
	answer(w, string(data))
}

func (f *fakeStore) getUpdates(w http.ResponseWriter, r *http.Request) {
	if r.Form.Get("api_key") != storeKey {
		openErr(w, http.StatusForbidden, "Invalid api_key")
		return
	}
	start, err := time.Parse(time.RFC3339, r.Form.Get("start_date"))
	if err != nil {
		openErr(w, http.StatusBadRequest, "start_date must be a W3C datetime")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.feedQuery = r.Form
	var out []map[string]any
	for _, u := range f.feed {
		at, _ := time.Parse(time.RFC3339, u["updated_datetime"].(string))
		if !at.Before(start) {
			out = append(out, u)
		}
	}
	data, _ := json.Marshal(map[string]any{"service_requests_updates": out})
	answer(w, string(data))
}

func (f *fakeStore) postUpdate(w http.ResponseWriter, r *http.Request) {
	form := r.PostForm
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case form.Get("api_key") != storeKey:
		openErr(w, http.StatusForbidden, "Invalid api_key")
		return
	case f.byID[form.Get("service_request_id")] == nil:
		openErr(w, http.StatusNotFound, "service_request_id not found")
		return
	case form.Get("status") == "" || form.Get("description") == "":
		openErr(w, http.StatusBadRequest, "status and description are required")
		return
	}
	f.updates = append(f.updates, form)
	f.order = append(f.order, "update:"+form.Get("service_request_id"))
	answer(w, fmt.Sprintf(`[{"update_id":%d}]`, 900+len(f.updates)))
}

// set changes a request as a department would.
func (f *fakeStore) set(sms, status, notes, agency string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := f.bySMS[sms]
	if req == nil {
		f.t.Fatalf("fake store has no request for %s", sms)
	}
	req.status, req.notes, req.agency, req.updated = status, notes, agency, time.Now()
}

// with runs fn under the store's lock.
func (f *fakeStore) with(fn func(f *fakeStore)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// Package httpapi serves the daemon's own HTTP endpoints: /healthz,
// /readyz and the ticket API under /api/v1, with bearer-token access for
// admins and per-department officers.
package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// Backend is what the API needs from the engine.
type Backend interface {
	Tickets(ctx context.Context, f intake.TicketFilter) ([]intake.Ticket, error)
	TicketDetail(ctx context.Context, number string) (*intake.Ticket, error)
	SetStatus(ctx context.Context, number string, to intake.Status, source, note string) error
	CountInbound(ctx context.Context, channel string) (int, error)
}

// Auth is the access policy, replaced whole on a config reload.
type Auth struct {
	AdminToken string
	OPDTokens  map[string]string // token → department code
	// Open allows requests without a token: only on a loopback listener
	// with no admin token configured.
	Open bool
}

// API serves the endpoints.
type API struct {
	backend  Backend
	checkers func() []intake.Checker
	ping     func(ctx context.Context) error
	auth     atomic.Pointer[Auth]
	clock    intake.Clock
	logger   *slog.Logger
}

// New builds the API. checkers lists the parts /readyz reports; ping
// checks the store.
func New(b Backend, checkers func() []intake.Checker, ping func(context.Context) error, auth Auth, clock intake.Clock, logger *slog.Logger) *API {
	a := &API{backend: b, checkers: checkers, ping: ping, clock: clock, logger: logger.With("component", "http")}
	a.SetAuth(auth)
	return a
}

// SetAuth replaces the access policy.
func (a *API) SetAuth(auth Auth) { a.auth.Store(&auth) }

// Routes registers the endpoints on mux. Everything else under /api/v1
// answers JSON too, after authentication (a stranger learns no path): 405
// with Allow on a known path, 404 elsewhere. A more specific pattern
// registered by another package (the simulator's /api/v1/sim/) still wins.
func (a *API) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	api := []struct {
		method, path string
		h            http.HandlerFunc
	}{
		{http.MethodGet, "/api/v1/tickets", a.listTickets},
		{http.MethodGet, "/api/v1/tickets/{number}", a.showTicket},
		{http.MethodPost, "/api/v1/tickets/{number}/status", a.setStatus},
		{http.MethodGet, "/api/v1/messages/count", a.countMessages},
	}
	allow := map[string][]string{}
	var paths []string
	for _, r := range api {
		mux.Handle(r.method+" "+r.path, a.authed(r.h))
		if allow[r.path] == nil {
			paths = append(paths, r.path)
		}
		allow[r.path] = append(allow[r.path], r.method)
		if r.method == http.MethodGet {
			allow[r.path] = append(allow[r.path], http.MethodHead) // a GET pattern serves HEAD too
		}
	}
	// A method-less pattern is less specific than the same path with a
	// method, so it gets only the other methods.
	for _, p := range paths {
		mux.Handle(p, a.authed(methodNotAllowed(strings.Join(allow[p], ", "))))
	}
	mux.Handle("/api/v1", a.authed(noEndpoint))
	mux.Handle("/api/v1/", a.authed(noEndpoint))
}

// noEndpoint answers a path under /api/v1 that names no endpoint.
func noEndpoint(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
}

// methodNotAllowed answers a known path asked with another method.
func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path+"; use "+allow)
	}
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is 200 while the store works and at least one inbound channel is
// up; its body details every part either way.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	store := intake.Health{Name: "store", OK: true, Checked: a.clock.Now()}
	if err := a.ping(ctx); err != nil {
		store.OK, store.Error = false, err.Error()
	}
	parts := []intake.Health{store}
	inboundUp := false
	for _, c := range a.checkers() {
		h := c.Health(ctx)
		parts = append(parts, h)
		inboundUp = inboundUp || (h.Inbound && h.OK)
	}
	status := http.StatusOK
	if !store.OK || !inboundUp {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": status == http.StatusOK, "parts": parts})
}

// RequireAdmin lets a request through only with the admin token, or
// without one when the API is open (a loopback listener with no token).
func (a *API) RequireAdmin(h http.Handler) http.Handler {
	return a.authed(func(w http.ResponseWriter, r *http.Request) {
		if !who(r).admin {
			writeError(w, http.StatusForbidden, "admins only")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// principal is who a request is: an admin, or the officer of one department.
type principal struct {
	admin bool
	opd   string
}

type ctxKey struct{}

// authed requires the admin token or a department token, unless the API
// is open (loopback without an admin token).
func (a *API) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := a.principal(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sambatd"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})
}

func (a *API) principal(r *http.Request) (principal, bool) {
	auth := a.auth.Load()
	token, hasToken := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	if hasToken && token != "" {
		if auth.AdminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(auth.AdminToken)) == 1 {
			return principal{admin: true}, true
		}
		for t, opd := range auth.OPDTokens {
			if subtle.ConstantTimeCompare([]byte(token), []byte(t)) == 1 {
				return principal{opd: opd}, true
			}
		}
		return principal{}, false
	}
	return principal{admin: true}, auth.Open
}

func who(r *http.Request) principal {
	p, _ := r.Context().Value(ctxKey{}).(principal)
	return p
}

func (a *API) countMessages(w http.ResponseWriter, r *http.Request) {
	if !who(r).admin {
		writeError(w, http.StatusForbidden, "admins only")
		return
	}
	n, err := a.backend.CountInbound(r.Context(), r.URL.Query().Get("channel"))
	if err != nil {
		a.fail(w, "count messages", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"count": n})
}

func (a *API) fail(w http.ResponseWriter, what string, err error) {
	a.logger.Error(what, "error", err)
	writeError(w, http.StatusInternalServerError, what+" failed")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// atoi parses a non-negative query integer; "" is def.
func atoi(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errors.New("want a non-negative number")
	}
	return n, nil
}

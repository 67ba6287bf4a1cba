// Package ussd is the USSD gateway channel: an HTTP endpoint in the
// widespread aggregator convention (form fields sessionId, serviceCode,
// phoneNumber, networkCode and text, the inputs of the session so far joined
// by '*'), answering text/plain "CON …" to continue or "END …" to finish.
// The dialog itself, its storage and the absorption of repeated requests
// belong to the intake.USSDHandler behind it.
package ussd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kotamalang/sambatd/intake"
)

// Defaults and limits of the endpoint.
const (
	// DefaultPath is where the endpoint listens when Config.Path is empty.
	DefaultPath = "/ussd"
	// MaxBody is the largest request body accepted; a USSD request is a
	// few hundred bytes.
	MaxBody = 8 << 10
	// Deadline bounds the handler call: gateways wait about a second.
	Deadline = 900 * time.Millisecond
	// MaxScreen is the longest answer a USSD screen shows, prefix included.
	MaxScreen = 182
	// SecretHeader carries the shared secret (the form field "secret" may
	// carry it instead).
	SecretHeader = "X-USSD-Secret"
	// FailText is shown when the handler fails and supplies no failure
	// text of its own (see failTexter): gateways display the body, so the
	// answer is a 200 with an END screen.
	FailText = "END Maaf, layanan sedang gangguan. Coba lagi nanti."
)

// Config configures the endpoint.
type Config struct {
	Path   string   // URL path, default "/ussd"
	Secret string   // shared secret; empty means none is required
	Allow  []string // remote IPs or CIDRs allowed; empty means any
}

// Validate reports the first entry of Allow that is neither an IP nor a
// CIDR, and a Path that does not start with '/'.
func (c Config) Validate() error {
	if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
		return fmt.Errorf("ussd path %q: must start with /", c.Path)
	}
	for _, a := range c.Allow {
		if _, err := parsePrefix(a); err != nil {
			return err
		}
	}
	return nil
}

// failTexter is a handler that supplies the screen shown when it fails or
// is late: intake.Engine does, from the menu_fail template, so the text is
// the configured one. It must answer without the store.
type failTexter interface {
	USSDFailText() string
}

var _ failTexter = (*intake.Engine)(nil)

// Handler serves the USSD gateway endpoint. It implements http.Handler.
type Handler struct {
	path    string
	secret  [sha256.Size]byte
	hasKey  bool
	allow   []netip.Prefix
	handler intake.USSDHandler
	logger  *slog.Logger

	mu sync.Mutex
	st stats // see Health
}

var _ http.Handler = (*Handler)(nil)

// New builds the endpoint around h. Invalid Allow entries are logged and
// dropped, which only narrows the list (Config.Validate reports them first).
func New(cfg Config, h intake.USSDHandler, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Handler{path: cfg.Path, handler: h, logger: logger.With("component", "ussd")}
	if s.path == "" {
		s.path = DefaultPath
	}
	if cfg.Secret != "" {
		s.secret, s.hasKey = sha256.Sum256([]byte(cfg.Secret)), true
	}
	for _, a := range cfg.Allow {
		p, err := parsePrefix(a)
		if err != nil {
			s.logger.Warn("ignoring allow entry", "entry", a, "err", err)
			continue
		}
		s.allow = append(s.allow, p)
	}
	if len(cfg.Allow) > 0 && len(s.allow) == 0 {
		// Every entry was invalid: refuse everyone rather than allow all.
		s.allow = []netip.Prefix{}
	}
	return s
}

// Path returns the URL path the endpoint answers on.
func (s *Handler) Path() string { return s.path }

// parsePrefix reads an allow entry: a single IP or a CIDR.
func parsePrefix(a string) (netip.Prefix, error) {
	a = strings.TrimSpace(a)
	if strings.Contains(a, "/") {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("ussd allow %q: %w", a, err)
		}
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(a)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("ussd allow %q: %w", a, err)
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// ServeHTTP answers one gateway request.
func (s *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.path {
		plain(w, http.StatusNotFound, "not found")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		plain(w, http.StatusMethodNotAllowed, "method not allowed: use POST")
		return
	}
	if !s.allowed(r.RemoteAddr) {
		s.count(true, nil)
		s.logger.Warn("refused request", "reason", "address not allowed", "remote", r.RemoteAddr)
		plain(w, http.StatusForbidden, "forbidden: address not allowed")
		return
	}
	req, status, reason := s.read(w, r)
	if status != 0 {
		s.count(true, nil)
		s.logger.Warn("refused request", "status", status, "reason", reason, "remote", r.RemoteAddr)
		plain(w, status, reason)
		return
	}
	s.answer(r.Context(), w, req)
}

// read parses and authenticates the form. A non-zero status is a refusal
// with its reason.
func (s *Handler) read(w http.ResponseWriter, r *http.Request) (intake.USSDRequest, int, string) {
	if r.ContentLength > MaxBody {
		return intake.USSDRequest{}, http.StatusRequestEntityTooLarge, "request body too large"
	}
	// The body is read first so that it can be kept as it was sent; it is
	// at most MaxBody.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return intake.USSDRequest{}, http.StatusRequestEntityTooLarge, "request body too large"
		}
		return intake.USSDRequest{}, http.StatusBadRequest, "body could not be read"
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := r.ParseForm(); err != nil {
		return intake.USSDRequest{}, http.StatusBadRequest, "bad form: " + err.Error()
	}
	if s.hasKey && !s.secretOK(r) {
		return intake.USSDRequest{}, http.StatusForbidden, "forbidden: wrong or missing secret"
	}
	f := r.PostForm
	req := intake.USSDRequest{
		SessionID:   strings.TrimSpace(f.Get("sessionId")),
		ServiceCode: strings.TrimSpace(f.Get("serviceCode")),
		Phone:       strings.TrimSpace(f.Get("phoneNumber")),
		NetworkCode: strings.TrimSpace(f.Get("networkCode")),
		Text:        f.Get("text"),
		Raw:         string(body),
	}
	if f.Has("secret") {
		// The shared secret is never kept: the rest of the form is.
		rest := maps.Clone(f)
		rest.Del("secret")
		req.Raw = rest.Encode()
	}
	switch {
	case req.SessionID == "":
		return req, http.StatusBadRequest, "missing sessionId"
	case req.Phone == "":
		return req, http.StatusBadRequest, "missing phoneNumber"
	}
	return req, 0, ""
}

// secretOK compares the presented secret in constant time; hashing both
// sides first hides the secret's length too.
func (s *Handler) secretOK(r *http.Request) bool {
	got := r.Header.Get(SecretHeader)
	if got == "" {
		got = r.PostForm.Get("secret")
	}
	sum := sha256.Sum256([]byte(got))
	return got != "" && subtle.ConstantTimeCompare(sum[:], s.secret[:]) == 1
}

// allowed reports whether the remote address passes the allow-list.
func (s *Handler) allowed(remote string) bool {
	if s.allow == nil {
		return true
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range s.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// answer calls the handler under the deadline and writes the screen.
func (s *Handler) answer(ctx context.Context, w http.ResponseWriter, req intake.USSDRequest) {
	start := time.Now()
	resp, err := s.call(ctx, req)
	s.count(false, err)
	if err != nil {
		s.logger.Error("ussd handler failed", "session", req.SessionID,
			"phone", intake.MaskPhone(req.Phone), "took", time.Since(start), "err", err)
		plain(w, http.StatusOK, s.failText())
		return
	}
	body := "CON " + resp.Text
	if resp.End {
		body = "END " + resp.Text
	}
	if n := utf8.RuneCountInString(body); n > MaxScreen {
		s.logger.Warn("screen too long, truncated", "session", req.SessionID, "chars", n)
		body = truncate(body, MaxScreen)
	}
	s.logger.Debug("ussd answered", "session", req.SessionID, "phone", intake.MaskPhone(req.Phone),
		"end", resp.End, "took", time.Since(start))
	plain(w, http.StatusOK, body)
}

// failText is the screen for a failed request: the handler's own when it
// supplies one, else FailText.
func (s *Handler) failText() string {
	if f, ok := s.handler.(failTexter); ok {
		if text := f.USSDFailText(); text != "" {
			return truncate("END "+text, MaxScreen)
		}
	}
	return FailText
}

// result is what the handler returned.
type result struct {
	resp intake.USSDResponse
	err  error
}

// call runs the handler with the deadline and answers when the deadline
// passes even if the handler ignores its context: the gateway drops a slow
// answer anyway, and a repeat of the request gets the handler's stored one.
func (s *Handler) call(ctx context.Context, req intake.USSDRequest) (intake.USSDResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, Deadline)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		resp, err := s.handler.USSD(ctx, req)
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return r.resp, fmt.Errorf("ussd handler: %w", r.err)
		}
		return r.resp, nil
	case <-ctx.Done():
		return intake.USSDResponse{}, fmt.Errorf("ussd handler: %w", ctx.Err())
	}
}

// plain writes a text/plain answer.
func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

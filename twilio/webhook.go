package twilio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

const (
	// MaxBody is the largest webhook body accepted; larger ones get 413.
	MaxBody = 64 << 10
	// handleTimeout bounds the commit so Twilio (which waits 15 s) gets its
	// answer in time.
	handleTimeout = 10 * time.Second
	maxMedia      = 20
	emptyTwiML    = `<?xml version="1.0" encoding="UTF-8"?><Response/>`
)

// rejection is a request refused before it reached the engine.
type rejection struct {
	code   int
	result string // metric label
	reason string
}

func (r *rejection) Error() string { return r.reason }

// ServeWebhook takes in one inbound SMS or WhatsApp message. It answers
// <Response/> only after the engine committed the message; a redelivery
// (same MessageSid) is answered the same way and makes nothing new.
func (t *Twilio) ServeWebhook(w http.ResponseWriter, r *http.Request) {
	params, body, rej := t.readSigned(w, r, t.cfg.WebhookURL)
	if rej == nil {
		var m intake.Message
		m, rej = t.message(params, body)
		if rej == nil {
			t.handleMessage(w, m)
			return
		}
	}
	t.reject(w, r, MetricWebhook, rej)
}

func (t *Twilio) handleMessage(w http.ResponseWriter, m intake.Message) {
	// The commit must not be cut short because Twilio hung up: the message
	// may as well be kept.
	ctx, cancel := context.WithTimeout(context.Background(), handleTimeout)
	defer cancel()
	res, err := t.handler.Handle(ctx, m)
	if err != nil {
		t.logger.Error("webhook message not stored", "message_sid", m.ExternalID, "err", err)
		t.metric(MetricWebhook, "error")
		http.Error(w, "message not stored, try again", http.StatusServiceUnavailable)
		return
	}
	t.seen.add(m.ExternalID, t.clock.Now())
	t.count(func(s *healthState) { s.webhooks++ })
	result := "ok"
	if res.Duplicate {
		result = "duplicate"
	}
	t.metric(MetricWebhook, result)
	t.logger.Debug("webhook message taken in", "message_sid", m.ExternalID,
		"from", intake.MaskPhone(m.From), "duplicate", res.Duplicate, "ticket", res.Ticket)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, emptyTwiML)
}

// ServeStatus records a delivery report for a message we sent. Only the
// final states delivered, undelivered and failed are recorded ("read", from
// WhatsApp, counts as delivered); the others are acknowledged and ignored.
func (t *Twilio) ServeStatus(w http.ResponseWriter, r *http.Request) {
	params, _, rej := t.readSigned(w, r, t.statusURL)
	if rej != nil {
		t.reject(w, r, MetricStatus, rej)
		return
	}
	sid := params.Get("MessageSid")
	status := params.Get("MessageStatus")
	if status == "" {
		status = params.Get("SmsStatus")
	}
	if sid == "" || status == "" {
		t.reject(w, r, MetricStatus, &rejection{http.StatusBadRequest, "malformed", "MessageSid or MessageStatus missing"})
		return
	}
	switch status {
	case "read":
		status = intake.OutDelivered
	case intake.OutDelivered, intake.OutUndelivered, intake.OutFailed:
	default:
		t.metric(MetricStatus, "ignored")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := t.recordDelivery(sid, status, params.Get("ErrorCode")); err != nil {
		t.logger.Error("delivery report not recorded", "message_sid", sid, "status", status, "err", err)
		t.metric(MetricStatus, "error")
		http.Error(w, "delivery report not recorded, try again", http.StatusServiceUnavailable)
		return
	}
	t.metric(MetricStatus, "ok")
	w.WriteHeader(http.StatusNoContent)
}

func (t *Twilio) recordDelivery(sid, status, code string) error {
	if status != intake.OutDelivered {
		t.logger.Info("message not delivered", "message_sid", sid, "status", status, "error_code", code)
	}
	if t.deliveries == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), handleTimeout)
	defer cancel()
	err := t.deliveries.MarkDelivery(ctx, intake.ChannelTwilio, sid, status, t.clock.Now())
	if errors.Is(err, intake.ErrNotFound) {
		// Not ours (or erased); a retry would not change that.
		t.logger.Info("delivery report for unknown message", "message_sid", sid, "status", status)
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark delivery %s: %w", sid, err)
	}
	return nil
}

// readSigned reads a form POST of at most MaxBody bytes and checks its
// X-Twilio-Signature against signURL with twilio-go's RequestValidator.
func (t *Twilio) readSigned(w http.ResponseWriter, r *http.Request, signURL string) (url.Values, []byte, *rejection) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, nil, &rejection{http.StatusMethodNotAllowed, "method", "only POST"}
	}
	if r.ContentLength > MaxBody {
		return nil, nil, &rejection{http.StatusRequestEntityTooLarge, "too_large", "body over 64 KiB"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, &rejection{http.StatusRequestEntityTooLarge, "too_large", "body over 64 KiB"}
		}
		return nil, nil, &rejection{http.StatusBadRequest, "malformed", "body could not be read"}
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, nil, &rejection{http.StatusBadRequest, "malformed", "body is not a valid form"}
	}
	flat := make(map[string]string, len(params))
	for k, v := range params {
		// The validator signs only the first value of a name: a repeated
		// name could smuggle unsigned values in, and Twilio never sends one.
		if len(v) > 1 {
			return nil, nil, &rejection{http.StatusBadRequest, "malformed", "repeated parameter " + strconv.Quote(k)}
		}
		flat[k] = v[0]
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		return nil, nil, &rejection{http.StatusForbidden, "forbidden", "missing X-Twilio-Signature"}
	}
	if signURL == "" {
		signURL = requestURL(r)
	}
	if !t.validator.Validate(signURL, flat, sig) {
		return nil, nil, &rejection{http.StatusForbidden, "forbidden", "invalid X-Twilio-Signature"}
	}
	return params, body, nil
}

// requestURL rebuilds the URL a request was sent to, for setups without a
// configured public URL.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

func (t *Twilio) reject(w http.ResponseWriter, r *http.Request, metric string, rej *rejection) {
	t.metric(metric, rej.result)
	t.count(func(s *healthState) { s.rejected++ })
	if ok, suppressed := t.rejectLog.Allow(metric+rej.result, t.clock.Now()); ok {
		t.logger.Warn("twilio request refused", "path", r.URL.Path, "status", rej.code,
			"reason", rej.reason, "remote", r.RemoteAddr, "suppressed", suppressed)
	}
	http.Error(w, rej.reason, rej.code)
}

// message turns a verified webhook form into an intake.Message.
func (t *Twilio) message(p url.Values, body []byte) (intake.Message, *rejection) {
	sid := p.Get("MessageSid")
	if sid == "" {
		sid = p.Get("SmsMessageSid")
	}
	note := ""
	if sid == "" || len(sid) > 64 {
		// Signed, so authentic, but without a usable id: kept all the
		// same (every authenticated message is), keyed by its body so
		// that Twilio's retries of it make nothing new.
		sum := sha256.Sum256(body)
		sid, note = "body:"+hex.EncodeToString(sum[:16]), "no_message_sid"
	}
	m := intake.Message{
		Channel:     intake.ChannelTwilio,
		ExternalID:  sid,
		Note:        note,
		From:        strings.ToValidUTF8(p.Get("From"), "\uFFFD"),
		To:          strings.ToValidUTF8(p.Get("To"), "\uFFFD"),
		Text:        strings.ToValidUTF8(p.Get("Body"), "\uFFFD"),
		Raw:         append([]byte(nil), body...),
		Received:    t.clock.Now(),
		Attachments: attachments(p),
	}
	if kw := optOutKeyword(p.Get("OptOutType")); kw != "" {
		// Twilio already opted the number out (or back in) on its side, on
		// any of its keywords (CANCEL, UNSUBSCRIBE, YES…); the engine sees
		// our keyword so both opt-out tables agree. The body stays in Raw.
		m.Text = kw
	}
	return m, nil
}

// optOutKeyword maps Twilio's OptOutType to the keyword the engine knows;
// "" for HELP and anything else, which keep their body.
func optOutKeyword(optOutType string) string {
	switch strings.ToUpper(strings.TrimSpace(optOutType)) {
	case "STOP":
		return "STOP"
	case "START":
		return "START"
	}
	return ""
}

// attachments collects MediaUrlN / MediaContentTypeN pairs.
func attachments(p url.Values) []intake.Attachment {
	n, err := strconv.Atoi(p.Get("NumMedia"))
	if err != nil || n > maxMedia {
		n = maxMedia
	}
	var out []intake.Attachment
	for i := 0; i < n; i++ {
		u := p.Get("MediaUrl" + strconv.Itoa(i))
		if u == "" {
			continue
		}
		out = append(out, intake.Attachment{
			URL:         strings.ToValidUTF8(u, "\uFFFD"),
			ContentType: strings.ToValidUTF8(p.Get("MediaContentType"+strconv.Itoa(i)), "\uFFFD"),
		})
	}
	return out
}

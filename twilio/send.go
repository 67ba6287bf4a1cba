package twilio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/kotamalang/sambatd/intake"
)

// codeOptedOut is Twilio's error for a recipient who replied STOP.
const codeOptedOut = 21610

// Send sends one outbox row through the Messages API and returns its SID.
// Rows to "whatsapp:+62…" leave from "whatsapp:<from>". A recipient who
// opted out (21610) and other 4xx answers fail the row (ErrPermanent, the
// reason kept); 429, 5xx and network errors are retried by the outbox.
func (t *Twilio) Send(ctx context.Context, o intake.Outgoing) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("send via twilio: %w", err)
	}
	to := o.To
	if to == "" {
		to = o.Phone
	}
	if to == "" {
		t.metric(MetricSend, "failed")
		return "", fmt.Errorf("send via twilio: no recipient: %w", intake.ErrPermanent)
	}
	params := &openapi.CreateMessageParams{}
	params.SetTo(to).SetBody(o.Text)
	t.setSender(params, to)
	if t.statusURL != "" {
		params.SetStatusCallback(t.statusURL)
	}
	if t.cfg.SendInterval > 0 {
		release, err := t.pace(ctx)
		if err != nil {
			return "", fmt.Errorf("send via twilio: %w", err)
		}
		defer release()
	}
	// An accepted request must not be abandoned halfway: Twilio may already
	// have sent it, and a retry would reach the resident twice.
	msg, err := t.api(context.WithoutCancel(ctx)).CreateMessage(params)
	if err != nil {
		err = t.classify(err)
		t.logger.Debug("twilio send failed", "to", intake.MaskPhone(to), "outbox_id", o.ID, "err", err)
		return "", err
	}
	t.noteAPI(nil)
	if msg.Sid == nil || *msg.Sid == "" {
		t.metric(MetricSend, "retry")
		return "", errors.New("send via twilio: answer without a message sid")
	}
	t.metric(MetricSend, "sent")
	return *msg.Sid, nil
}

// pace keeps twilio.send_interval between the answer to one send and the
// next request, as the modem does between PDUs: it takes the send lock,
// waits until the next send is allowed, and returns the release to call
// once the request has its answer. Holding the lock through the request
// costs nothing (the outbox sends one row at a time per channel) and makes
// the spacing hold for concurrent callers too.
func (t *Twilio) pace(ctx context.Context) (release func(), err error) {
	select {
	case t.sendLock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if d := time.Until(t.nextSend); d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			<-t.sendLock
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
	return func() {
		t.nextSend = time.Now().Add(t.cfg.SendInterval)
		<-t.sendLock
	}, nil
}

// setSender picks the sender: the WhatsApp sender for WhatsApp recipients,
// else the Messaging Service when one is configured, else the number.
func (t *Twilio) setSender(p *openapi.CreateMessageParams, to string) {
	number := strings.TrimPrefix(t.cfg.From, whatsappPrefix)
	switch {
	case strings.HasPrefix(to, whatsappPrefix) && number != "":
		p.SetFrom(whatsappPrefix + number)
	case t.cfg.MessagingServiceSID != "":
		p.SetMessagingServiceSid(t.cfg.MessagingServiceSID)
	default:
		p.SetFrom(number)
	}
}

// classify turns a twilio-go error into what the outbox branches on, and
// notes for Health whether the API itself is failing.
func (t *Twilio) classify(err error) error {
	status, code, msg, ok := restError(err)
	if !ok {
		t.noteAPI(err)
		t.metric(MetricSend, "retry")
		return fmt.Errorf("send via twilio: %w", err)
	}
	reason := fmt.Sprintf("twilio %d error %d: %s", status, code, msg)
	switch {
	case code == codeOptedOut:
		t.noteAPI(nil)
		t.metric(MetricSend, "opted_out")
		return fmt.Errorf("send via twilio: recipient opted out (%s): %w", reason, intake.ErrPermanent)
	case status == http.StatusTooManyRequests:
		t.metric(MetricSend, "retry")
		return fmt.Errorf("send via twilio: %s: %w", reason, err)
	case status == http.StatusUnauthorized:
		// Wrong credentials fail every row alike: the channel is down
		// until an operator fixes the config, no row is to blame.
		t.noteAPI(err)
		t.metric(MetricSend, "down")
		return fmt.Errorf("send via twilio: %s: %w", reason, intake.ErrChannelDown)
	case status >= 400 && status < 500:
		t.noteAPI(nil)
		t.metric(MetricSend, "failed")
		return fmt.Errorf("send via twilio: %s: %w", reason, intake.ErrPermanent)
	}
	t.noteAPI(err)
	t.metric(MetricSend, "retry")
	return fmt.Errorf("send via twilio: %s: %w", reason, err)
}

// restError extracts HTTP status, Twilio code and message from an API error.
func restError(err error) (status, code int, msg string, ok bool) {
	var v0 *client.TwilioRestError
	if errors.As(err, &v0) {
		return v0.Status, v0.Code, v0.Message, true
	}
	var v1 *client.RestErrorV1
	if errors.As(err, &v1) {
		return v1.HttpStatusCode, v1.Code, v1.Message, true
	}
	return 0, 0, "", false
}

// api builds a Messages API service whose requests carry ctx and go to
// the configured API URL. It is cheap: a few small structs.
func (t *Twilio) api(ctx context.Context) *openapi.ApiService {
	hc := &http.Client{
		Transport: &apiTransport{ctx: ctx, base: t.base, target: t.target},
		Timeout:   t.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	c := &client.Client{
		Credentials: client.NewCredentials(t.cfg.AccountSID, t.cfg.AuthToken),
		HTTPClient:  hc,
	}
	c.SetAccountSid(t.cfg.AccountSID)
	return openapi.NewApiServiceWithClient(c)
}

type apiTarget struct{ scheme, host, prefix string }

// apiTransport points twilio-go (which builds https://api.twilio.com/...
// URLs and uses no context) at the configured API, with ctx, and turns
// error answers that are not Twilio's JSON into it, so every HTTP error
// reaches classify as a TwilioRestError with its status.
type apiTransport struct {
	ctx    context.Context
	base   http.RoundTripper
	target *apiTarget
}

// RoundTrip implements http.RoundTripper.
func (a *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(a.ctx)
	if a.target != nil {
		r.URL.Scheme, r.URL.Host, r.Host = a.target.scheme, a.target.host, ""
		r.URL.Path = a.target.prefix + r.URL.Path
		r.URL.RawPath = ""
	}
	resp, err := a.base.RoundTrip(r)
	if err != nil {
		if a.target != nil {
			// The caller's error names api.twilio.com; say where it went.
			return nil, fmt.Errorf("via %s://%s: %w", a.target.scheme, a.target.host, err)
		}
		return nil, err
	}
	if resp.StatusCode >= 400 {
		normaliseError(resp)
	}
	return resp, nil
}

// normaliseError rewrites an error body so it decodes as a TwilioRestError
// carrying the real HTTP status, whatever the server sent.
func normaliseError(resp *http.Response) {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	var in map[string]any
	_ = json.Unmarshal(data, &in)
	out := map[string]any{"status": resp.StatusCode, "code": 0}
	if v, ok := in["status"].(float64); ok && v >= 400 {
		out["status"] = int(v)
	}
	if v, ok := in["code"].(float64); ok {
		out["code"] = int(v)
	}
	msg, ok := in["message"].(string)
	if !ok {
		msg = strings.TrimSpace(strings.ToValidUTF8(string(data), "?"))
		if in != nil || msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		if len(msg) > 200 {
			msg = strings.ToValidUTF8(msg[:200], "")
		}
	}
	out["message"] = msg
	if v, ok := in["more_info"].(string); ok {
		out["more_info"] = v
	}
	if v, ok := in["details"].(map[string]any); ok {
		out["details"] = v
	}
	body, _ := json.Marshal(out)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
}

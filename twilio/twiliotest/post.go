package twiliotest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// SignedRequest is the whole HTTP/1.1 request Twilio would send for form:
// a POST of the form to target (an absolute http URL of the daemon),
// signed for webhookURL, the public URL the daemon checks signatures
// against. Building requests ahead keeps signing and encoding out of a
// load run's clock.
func SignedRequest(target, token, webhookURL string, form url.Values) ([]byte, error) {
	return RawRequest(target, "application/x-www-form-urlencoded", []byte(form.Encode()),
		"X-Twilio-Signature", Sign(token, webhookURL, form))
}

// RawRequest is the whole HTTP/1.1 POST of body to target, as net/http
// writes it, with the given content type and further header name, value
// pairs; Conn.Post sends it.
func RawRequest(target, contentType string, body []byte, header ...string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil || req.URL.Scheme != "http" {
		return nil, fmt.Errorf("raw request: target %q is not an absolute http URL", target)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return nil, fmt.Errorf("raw request: %w", err)
	}
	return b.Bytes(), nil
}

// Conn posts requests built by SignedRequest over one keep-alive
// connection, one at a time, and reads each answer with net/http's own
// response parser. It has no pool and no goroutines of its own, so a load
// run on the daemon's machine spends little CPU on the client side.
// A Conn is used by one goroutine.
type Conn struct {
	addr    string
	timeout time.Duration
	c       net.Conn
	br      *bufio.Reader
}

// NewConn returns a Conn to addr (host:port) that dials on first use and
// gives each exchange timeout to finish.
func NewConn(addr string, timeout time.Duration) *Conn {
	return &Conn{addr: addr, timeout: timeout}
}

// Post sends req and returns the answer's status and up to 4 KiB of its
// body. After an error or an answer that closes the connection, the next
// Post dials again.
func (c *Conn) Post(req []byte) (int, []byte, error) {
	if c.c == nil {
		conn, err := net.DialTimeout("tcp", c.addr, c.timeout)
		if err != nil {
			return 0, nil, err
		}
		c.c = conn
		c.br = bufio.NewReader(conn)
	}
	code, body, keep, err := c.exchange(req)
	if err != nil || !keep {
		c.Close()
	}
	return code, body, err
}

func (c *Conn) exchange(req []byte) (code int, body []byte, keep bool, err error) {
	if err := c.c.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, nil, false, err
	}
	if _, err := c.c.Write(req); err != nil {
		return 0, nil, false, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, nil, false, err
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err == nil {
		// Drain what is left so the next answer starts where it should.
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	if err != nil {
		return 0, nil, false, err
	}
	return resp.StatusCode, body, !resp.Close, nil
}

// Close closes the connection, if one is open.
func (c *Conn) Close() error {
	if c.c == nil {
		return nil
	}
	err := c.c.Close()
	c.c, c.br = nil, nil
	return err
}

// Inbound is the form of an inbound message webhook as Twilio sends it.
func Inbound(sid, from, to, body string) url.Values {
	return url.Values{
		"MessageSid": {sid}, "SmsMessageSid": {sid}, "SmsSid": {sid},
		"AccountSid": {"AC00000000000000000000000000000000"},
		"From":       {from}, "To": {to}, "Body": {body},
		"NumMedia": {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"},
		"ApiVersion": {"2010-04-01"},
	}
}

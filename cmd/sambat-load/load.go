package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kotamalang/sambatd/twilio/twiliotest"
)

// client sends the webhooks and reads the stored count.
type client struct {
	o      options
	http   *http.Client // for the count and metrics endpoints
	addr   string       // host:port webhooks are posted to
	target string       // the URL webhooks are posted to
	runID  string       // keeps MessageSids unique across runs
}

func newClient(o options) *client {
	u, _ := url.Parse(o.WebhookURL)
	t, _ := url.Parse(o.URL)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &client{
		o:      o,
		http:   &http.Client{Timeout: o.Timeout},
		addr:   t.Host,
		target: o.URL + u.EscapedPath(),
		runID:  hex.EncodeToString(b),
	}
}

// requests builds and signs all N webhooks before the clock starts, as a
// load generator such as wrk does, so the run measures the daemon.
func (c *client) requests() ([][]byte, error) {
	reqs := make([][]byte, c.o.N)
	for i := range reqs {
		var err error
		if reqs[i], err = twiliotest.SignedRequest(c.target, c.o.AuthToken, c.o.WebhookURL, c.form(i)); err != nil {
			return nil, err
		}
	}
	return reqs, nil
}

// sendAll posts N webhooks from C workers, each on its own keep-alive
// connection, and measures each one.
func (c *client) sendAll(ctx context.Context) (*report, error) {
	reqs, err := c.requests()
	if err != nil {
		return nil, err
	}
	var next atomic.Int64
	lat := make([]time.Duration, c.o.N)
	fails := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range c.o.C {
		wg.Go(func() {
			conn := twiliotest.NewConn(c.addr, c.o.Timeout)
			defer conn.Close()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= c.o.N {
					return
				}
				d, fail := post(conn, reqs[i])
				lat[i] = d
				if fail != "" {
					mu.Lock()
					fails[fail]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	rep := &report{N: c.o.N, C: c.o.C, Start: start, Elapsed: time.Since(start), Failures: fails, OK: c.o.N}
	for _, v := range fails {
		rep.OK -= v
	}
	slices.Sort(lat)
	rep.P50, rep.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
	return rep, nil
}

// post sends one webhook and returns its latency and, when it failed, why.
func post(conn *twiliotest.Conn, req []byte) (time.Duration, string) {
	start := time.Now()
	code, body, err := conn.Post(req)
	d := time.Since(start)
	switch {
	case err != nil:
		return d, "error: " + shortErr(err)
	case code != http.StatusOK || !bytes.Contains(body, []byte("<Response")):
		return d, "HTTP " + strconv.Itoa(code)
	}
	return d, ""
}

// form is webhook i as Twilio sends it.
func (c *client) form(i int) url.Values {
	sid := fmt.Sprintf("SM%s%024x", c.runID, i)
	return twiliotest.Inbound(sid, fmt.Sprintf("%s%07d", c.o.FromPrefix, i%10_000_000), c.o.To,
		fmt.Sprintf("SAMBAT uji beban %d jalan berlubang di depan pasar", i))
}

// storedCount reads GET /api/v1/messages/count?channel=twilio; a non-empty
// note says why the count could not be read.
func (c *client) storedCount(ctx context.Context) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.o.URL+"/api/v1/messages/count?channel=twilio", nil)
	if err != nil {
		return 0, err.Error()
	}
	if c.o.AdminToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.o.AdminToken)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "count endpoint: " + shortErr(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return 0, "the daemon has no /api/v1/messages/count"
	case http.StatusUnauthorized, http.StatusForbidden:
		return 0, "count endpoint refused: give -admin-token"
	default:
		return 0, "count endpoint answered HTTP " + strconv.Itoa(resp.StatusCode)
	}
	var v struct {
		Count *int `json:"count"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&v); err != nil || v.Count == nil {
		return 0, "count endpoint answered no count"
	}
	return *v.Count, ""
}

// pendingGauge is the daemon's count of accepted messages the engine has
// not acted on yet.
var pendingGauge = regexp.MustCompile(`(?m)^sambatd_inbound_pending (\S+)$`)

// waitActed polls GET /metrics until the daemon has acted on every message
// it accepted, and returns when it saw that; a non-empty note says why it
// could not tell.
func (c *client) waitActed(ctx context.Context, timeout time.Duration) (time.Time, string) {
	deadline := time.Now().Add(timeout)
	for {
		n, note := c.pending(ctx)
		switch {
		case note != "":
			return time.Time{}, note
		case n == 0:
			return time.Now(), ""
		case time.Now().After(deadline):
			return time.Time{}, fmt.Sprintf("%d still pending after %v", n, timeout)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, "interrupted"
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// pending reads sambatd_inbound_pending from GET /metrics.
func (c *client) pending(ctx context.Context) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.o.URL+"/metrics", nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "metrics: " + shortErr(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, "metrics answered HTTP " + strconv.Itoa(resp.StatusCode)
	}
	m := pendingGauge.FindSubmatch(body)
	if m == nil {
		return 0, "the daemon reports no sambatd_inbound_pending"
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, "unreadable sambatd_inbound_pending"
	}
	return int(v), ""
}

// percentile of sorted durations, nearest-rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// shortErr drops the URL from a client error so failures group well.
func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

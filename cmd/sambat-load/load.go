package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kotamalang/sambatd/twilio/twiliotest"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// client sends the webhooks and reads the stored count.
type client struct {
	o      options
	http   *http.Client
	target string // where webhooks are posted
	runID  string // keeps MessageSids unique across runs
}

func newClient(o options) *client {
	u, _ := url.Parse(o.WebhookURL)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = o.C
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &client{
		o:      o,
		http:   &http.Client{Transport: tr, Timeout: o.Timeout},
		target: o.URL + u.EscapedPath(),
		runID:  hex.EncodeToString(b),
	}
}

// sendAll posts N webhooks from C workers and measures each one.
func (c *client) sendAll(ctx context.Context) (*report, error) {
	jobs := make(chan int)
	lat := make([]time.Duration, c.o.N)
	fails := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range c.o.C {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				d, fail := c.post(ctx, i)
				mu.Lock()
				lat[i] = d
				if fail != "" {
					fails[fail]++
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < c.o.N && ctx.Err() == nil; i++ {
		jobs <- i
	}
	close(jobs)
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

// post sends webhook i and returns its latency and, when it failed, why.
func (c *client) post(ctx context.Context, i int) (time.Duration, string) {
	form := c.form(i)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.target, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "request: " + err.Error()
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(c.o.AuthToken, c.o.WebhookURL, form))
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return time.Since(start), "error: " + shortErr(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<Response") {
		return d, "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return d, ""
}

// form is webhook i as Twilio sends it.
func (c *client) form(i int) url.Values {
	sid := fmt.Sprintf("SM%s%024x", c.runID, i)
	return url.Values{
		"MessageSid": {sid}, "SmsMessageSid": {sid}, "SmsSid": {sid},
		"AccountSid": {"AC00000000000000000000000000000000"},
		"From":       {fmt.Sprintf("%s%07d", c.o.FromPrefix, i%10_000_000)},
		"To":         {c.o.To},
		"Body":       {fmt.Sprintf("SAMBAT uji beban %d jalan berlubang di depan pasar", i)},
		"NumMedia":   {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"},
		"ApiVersion": {"2010-04-01"},
	}
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

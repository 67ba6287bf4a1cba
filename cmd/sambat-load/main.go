// Command sambat-load sends N signed Twilio webhooks at concurrency C to a
// running sambatd, reports messages per second and p50/p99 latency, checks
// that N messages were stored, and compares the rate with the raw SQLite
// one-row-per-transaction insert rate of the same disk.
//
// Run the daemon against a Twilio double (twilio.api_url) so the replies it
// queues go nowhere real, and give it the same auth token:
//
//	sambat-load -url http://127.0.0.1:8080 -n 2000 -c 16 -auth-token $TOKEN \
//	    -webhook-url https://sambat.example.go.id/twilio/sms -admin-token $ADMIN
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/kotamalang/sambatd/store"
)

// options are the command's flags.
type options struct {
	URL         string // base URL of the daemon
	N, C        int
	AuthToken   string
	WebhookURL  string // URL used for signing; its path is posted to on URL
	BaselineDir string
	BaselineN   int // 0: min(N, 2000); negative: skip the baseline
	FromPrefix  string
	To          string
	AdminToken  string
	Timeout     time.Duration
	ActTimeout  time.Duration // how long to wait for the engine to act on everything
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sambat-load:", err)
		os.Exit(1)
	}
	rep.print(os.Stdout)
	if !rep.passed() {
		os.Exit(1)
	}
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("sambat-load", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "base URL of the running daemon")
	fs.IntVar(&o.N, "n", 1000, "number of webhooks to send")
	fs.IntVar(&o.C, "c", 8, "concurrency")
	fs.StringVar(&o.AuthToken, "auth-token", os.Getenv("SAMBAT_TWILIO_AUTH_TOKEN"), "Twilio auth token the daemon checks signatures with")
	fs.StringVar(&o.WebhookURL, "webhook-url", "", "public webhook URL the daemon signs against (default: -url + /twilio/sms)")
	fs.StringVar(&o.BaselineDir, "baseline-dir", ".", "directory on the daemon's disk for the raw SQLite insert baseline")
	fs.IntVar(&o.BaselineN, "baseline-n", 0, "inserts for the baseline (0: min(n, 2000); -1: skip)")
	fs.StringVar(&o.FromPrefix, "from-prefix", "+62899", "sender numbers are this prefix + a 7-digit index")
	fs.StringVar(&o.To, "to", "+14155550100", "our number (the To field)")
	fs.StringVar(&o.AdminToken, "admin-token", os.Getenv("SAMBAT_HTTP_ADMIN_TOKEN"), "admin bearer token for the stored-count check")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "timeout of one request")
	fs.DurationVar(&o.ActTimeout, "act-timeout", 5*time.Minute, "how long to wait until the daemon has acted on every message (tickets, replies)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(errOut, "sambat-load:", err)
		return o, err
	}
	return o, nil
}

func (o *options) check() error {
	o.URL = strings.TrimRight(o.URL, "/")
	if o.WebhookURL == "" {
		o.WebhookURL = o.URL + "/twilio/sms"
	}
	switch {
	case o.N <= 0 || o.C <= 0:
		return errors.New("-n and -c must be positive")
	case o.AuthToken == "":
		return errors.New("-auth-token (or SAMBAT_TWILIO_AUTH_TOKEN) is required")
	}
	for _, s := range []string{o.URL, o.WebhookURL} {
		if u, err := url.Parse(s); err != nil || u.Host == "" {
			return fmt.Errorf("%q is not an absolute URL", s)
		}
	}
	if !strings.HasPrefix(o.URL, "http://") {
		return fmt.Errorf("-url %q: the load tool speaks plain HTTP to the daemon; give its http:// address", o.URL)
	}
	if o.BaselineN == 0 {
		o.BaselineN = min(o.N, 2000)
	}
	return nil
}

// report is what one run measured.
type report struct {
	N, C        int
	OK          int
	Failures    map[string]int // by status or error
	Elapsed     time.Duration
	P50, P99    time.Duration
	Stored      int    // messages stored during the run; -1 when not checked
	StoredNote  string // why not checked
	Start       time.Time
	Acted       time.Duration // from the first webhook until nothing was pending; 0 when not seen
	ActedNote   string        // why not seen
	Baseline    float64
	BaselineErr error
}

func (r *report) rate() float64 { return float64(r.OK) / r.Elapsed.Seconds() }

func (r *report) passed() bool {
	return r.OK == r.N && (r.Stored < 0 || r.Stored == r.N)
}

func run(ctx context.Context, o options) (*report, error) {
	c := newClient(o)
	// The baseline runs first, while the daemon is idle: afterwards it
	// would still be sending the replies the run queued.
	var baseline float64
	var baselineErr error
	if o.BaselineN > 0 {
		baseline, baselineErr = baselineInsertRate(o.BaselineDir, o.BaselineN)
	}
	before, note := c.storedCount(ctx)
	rep, err := c.sendAll(ctx)
	if err != nil {
		return nil, err
	}
	rep.Baseline, rep.BaselineErr = baseline, baselineErr
	rep.Stored, rep.StoredNote = -1, note
	if at, note := c.waitActed(ctx, o.ActTimeout); note == "" {
		rep.Acted = at.Sub(rep.Start)
	} else {
		rep.ActedNote = note
	}
	if note == "" {
		after, note := c.storedCount(ctx)
		rep.StoredNote = note
		if note == "" {
			rep.Stored = after - before
		}
	}
	return rep, nil
}

// baselineInsertRate is the raw SQLite single-row insert rate of the disk
// under dir, measured by the store package in this same run.
func baselineInsertRate(dir string, n int) (float64, error) {
	rate, err := store.BaselineInsertRate(dir, n)
	if err != nil {
		return 0, fmt.Errorf("baseline: %w", err)
	}
	return rate, nil
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "sent:        %d webhooks at concurrency %d in %v\n", r.N, r.C, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "accepted:    %d (200 <Response/>)\n", r.OK)
	for _, k := range slices.Sorted(maps.Keys(r.Failures)) {
		fmt.Fprintf(w, "failed:      %d × %s\n", r.Failures[k], k)
	}
	fmt.Fprintf(w, "throughput:  %.1f messages/s\n", r.rate())
	fmt.Fprintf(w, "latency:     p50 %v  p99 %v\n", r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond))
	if r.Stored < 0 {
		fmt.Fprintf(w, "stored:      not checked (%s)\n", r.StoredNote)
	} else {
		verdict := "OK"
		if r.Stored != r.N {
			verdict = "MISMATCH"
		}
		fmt.Fprintf(w, "stored:      %d of %d (%s)\n", r.Stored, r.N, verdict)
	}
	if r.Acted > 0 {
		fmt.Fprintf(w, "acted on:    all within %v of the first webhook: %.1f messages/s end to end (tickets and replies queued)\n",
			r.Acted.Round(time.Millisecond), float64(r.OK)/r.Acted.Seconds())
	} else {
		fmt.Fprintf(w, "acted on:    not measured (%s)\n", r.ActedNote)
	}
	switch {
	case r.BaselineErr != nil:
		fmt.Fprintf(w, "baseline:    not measured (%v)\n", r.BaselineErr)
	case r.Baseline > 0:
		fmt.Fprintf(w, "baseline:    %.1f raw SQLite single-row inserts/s (synchronous=FULL)\n", r.Baseline)
		fmt.Fprintf(w, "ratio:       %.2f× (webhook messages/s ÷ baseline inserts/s)\n", r.rate()/r.Baseline)
	default:
		fmt.Fprintln(w, "baseline:    skipped")
	}
}

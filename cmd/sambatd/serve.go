package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/kotamalang/sambatd/central"
	"github.com/kotamalang/sambatd/config"
	"github.com/kotamalang/sambatd/httpapi"
	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/metrics"
	"github.com/kotamalang/sambatd/sim"
	"github.com/kotamalang/sambatd/store"
	"github.com/kotamalang/sambatd/ussd"
)

// shutdownGrace is how long SIGTERM waits for in-flight requests and for
// the outbox to send what it can.
const shutdownGrace = 10 * time.Second

// daemon is the running service: every part, wired by hand.
type daemon struct {
	cfgPath string
	cfg     *config.Config
	logger  *slog.Logger
	db      *store.DB
	engine  *intake.Engine
	outbox  *intake.Outbox
	api     *httpapi.API
	mux     *http.ServeMux

	mu        sync.Mutex
	checkers  []intake.Checker
	stops     []func() error // channel stops, in start order
	starts    []func(context.Context)
	wg        sync.WaitGroup // the daemon's own loops
	mx        *metrics.Metrics
	central   *central.Central // nil unless central.url is set
	deadlines *intake.Deadlines
	in        metrics.Handler // the engine, counted
	listen    string          // the address served: http.listen as it was at start
	accept    metrics.Handler // the engine's Accept (store now, act soon), counted
}

// daemonGCPercent is the GOGC of a serving daemon unless GOGC is set.
const daemonGCPercent = 400

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs, path := flags("serve")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, stderr)
	slog.SetDefault(logger)
	if os.Getenv("GOGC") == "" {
		// The daemon's live heap is a few MB; collecting at 5× it instead
		// of 2× cuts the CPU a burst of webhooks spends on GC by about a
		// sixth (BenchmarkTwilioIntake) for some tens of MB. GOGC wins.
		debug.SetGCPercent(daemonGCPercent)
	}
	d := &daemon{cfgPath: *path, cfg: cfg, logger: logger, mux: http.NewServeMux()}
	return d.serve(ctx)
}

// loadConfig loads and validates the config, or says every mistake.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (d *daemon) serve(ctx context.Context) error {
	if err := d.open(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", d.cfg.HTTP.Listen)
	if err != nil {
		d.db.Close()
		return fmt.Errorf("listen %s: %w", d.cfg.HTTP.Listen, err)
	}
	srv := &http.Server{Handler: d.mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(d.logger.Handler(), slog.LevelWarn)}
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	d.start(work)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	d.logger.Info("serving", "addr", ln.Addr().String(), "store", d.cfg.Store.Path)
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	return errors.Join(err, d.shutdown(srv, cancel))
}

// open builds every part: store, engine, outbox, channels, HTTP routes.
func (d *daemon) open() error {
	db, err := store.Open(d.cfg.Store.Path, intake.SystemClock{})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	d.db = db
	if n, err := db.RequeueInflight(context.Background()); err != nil {
		return errors.Join(err, db.Close())
	} else if n > 0 {
		d.logger.Info("requeued replies left in flight by the last run", "count", n)
	}
	settings, err := d.cfg.Settings()
	if err != nil {
		return errors.Join(err, db.Close())
	}
	d.engine, err = intake.NewEngine(db, settings, intake.SystemClock{}, d.logger)
	if err != nil {
		return errors.Join(err, db.Close())
	}
	d.outbox = intake.NewOutbox(db, d.cfg.Outbound.Order, intake.SystemClock{}, d.logger)
	d.engine.OnQueued = d.kick
	d.mx = metrics.New(d.snapshot, d.listCheckers)
	d.in = d.mx.Wrap(d.engine)
	d.accept = d.mx.Wrap(intake.Accepting{Engine: d.engine})
	d.mux.Handle("GET /metrics", d.mx.Handler())
	d.listen = d.cfg.HTTP.Listen
	d.api = httpapi.New(d.engine, d.listCheckers, db.Ping, authOf(d.cfg, d.listen), intake.SystemClock{}, d.logger)
	d.api.Routes(d.mux)
	if err := d.openChannels(); err != nil {
		return errors.Join(err, db.Close())
	}
	if err := d.openCentral(); err != nil {
		return errors.Join(err, db.Close())
	}
	return nil
}

// authOf is the API access policy of a config on the listener actually
// served (a new http.listen waits for a restart, its tokens do not): open
// without a token only on a loopback listener with no admin token.
func authOf(cfg *config.Config, listen string) httpapi.Auth {
	return httpapi.Auth{AdminToken: cfg.HTTP.AdminToken, OPDTokens: cfg.HTTP.OPDTokens,
		Open: cfg.HTTP.AdminToken == "" && isLoopback(listen)}
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// openChannels builds the configured channels and registers them with the
// outbox, the HTTP mux and /readyz.
func (d *daemon) openChannels() error {
	if d.cfg.Simulator.Enabled {
		s := sim.New(d.in, d.engine, d.contacts, intake.SystemClock{}, d.logger)
		d.addChannel(intake.ChannelSim, s, s, nil)
		// The simulator is only ever served on loopback or behind the
		// admin token.
		simMux := http.NewServeMux()
		s.Routes(simMux)
		var h http.Handler = simMux
		if !isLoopback(d.listen) {
			h = d.api.RequireAdmin(simMux)
		}
		d.mux.Handle("/api/v1/sim/", h)
		d.mux.Handle("/sim", h)
	}
	if d.cfg.USSD.Enabled {
		u := ussd.New(ussd.Config{Path: d.cfg.USSD.Path, Secret: d.cfg.USSD.Secret, Allow: d.cfg.USSD.Allow},
			d.engine, d.logger)
		d.mux.Handle("POST "+u.Path(), d.mx.Instrument("ussd", u))
		// It sends nothing (its completions get their SMS on the outbound
		// channels), so it is only a checker: /readyz counts it as inbound.
		d.addChecker(u)
	}
	if err := d.openTwilio(); err != nil {
		return err
	}
	return d.openModems()
}

// addChannel registers a channel's sender and health, and how to stop it.
func (d *daemon) addChannel(name string, s intake.Sender, c intake.Checker, stop func() error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.outbox.Register(name, d.mx.Sender(name, s), c)
	d.checkers = append(d.checkers, c)
	if stop != nil {
		d.stops = append(d.stops, stop)
	}
}

// addChecker registers the health of a part that is not an outbox channel.
func (d *daemon) addChecker(c intake.Checker) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.checkers = append(d.checkers, c)
}

func (d *daemon) listCheckers() []intake.Checker {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]intake.Checker(nil), d.checkers...)
}

// contacts are the numbers the simulator page offers: two residents and
// every KIM volunteer of the config in force.
func (d *daemon) contacts() []sim.Contact {
	cs := []sim.Contact{{Phone: "+6281234567890", Label: "Warga 1"}, {Phone: "+6285755512345", Label: "Warga 2"}}
	for _, v := range d.engine.Settings().Volunteers {
		cs = append(cs, sim.Contact{Phone: v.Phone, Label: "KIM " + v.Name})
	}
	return cs
}

// start runs the background workers.
func (d *daemon) start(ctx context.Context) {
	d.outbox.Start(ctx)
	d.wg.Go(func() { d.engine.RunPending(ctx) })
	d.startChannels(ctx)
	d.watchConfig(ctx)
	d.wg.Go(func() { d.retention(ctx) })
}

// retention erases, every hour, the phone numbers kept longer than
// store.retention (UU 27/2022): those of tickets closed longer ago, and of
// every older message, reply, part and session of no ticket still kept
// (store.DB.ErasePastRetention); counts stay for the reports.
func (d *daemon) retention(ctx context.Context) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.mu.Lock()
		keep := d.cfg.Store.Retention
		d.mu.Unlock()
		if keep > 0 {
			e, err := d.db.ErasePastRetention(ctx, time.Now().Add(-keep))
			if err != nil && ctx.Err() == nil {
				d.logger.Error("erase phone numbers past retention", "error", err)
			} else if e != (store.Erased{}) {
				d.logger.Info("erased phone numbers past retention", "tickets", e.Tickets, "messages", e.Inbound,
					"outbox", e.Outbox, "parts", e.Parts, "sessions", e.Sessions, "records", e.Records)
			}
		}
		t.Reset(time.Hour)
	}
}

// shutdown stops intake first (the HTTP server finishes in-flight commits),
// acts on the messages it accepted, sends what the outbox can within the
// grace period, then stops the
// channels and closes the store. It keeps the first error.
func (d *daemon) shutdown(srv *http.Server, cancel context.CancelFunc) error {
	d.logger.Info("shutting down")
	ctx, done := context.WithTimeout(context.Background(), shutdownGrace)
	defer done()
	errs := []error{srv.Shutdown(ctx)}
	if _, err := d.engine.ProcessPending(ctx); err != nil {
		d.logger.Warn("accepted messages left for the next start", "error", err)
	}
	errs = append(errs, d.outbox.Close())
	d.outbox.Flush(ctx)
	cancel()
	d.wg.Wait()
	d.mu.Lock()
	stops := d.stops
	d.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		errs = append(errs, stops[i]())
	}
	errs = append(errs, d.db.Close())
	for _, err := range errs {
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}

// Package modem is the GSM modem channel: store-and-forward reception over
// AT commands (PDU mode, messages kept on the SIM until the store has
// committed them), sending with delivery reports, health, and reconnection.
// It speaks to the modem with the at package of github.com/warthog618/modem
// and encodes PDUs with github.com/warthog618/sms, but never uses
// gsm.StartMessageRx, which acknowledges a message before the application
// has it.
package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/modem/modemsim"
)

// Config is one entry of modems[] in the config file.
type Config struct {
	Name             string
	Port             string // serial device, or "sim" for the simulated modem
	Baud             int    // default 115200
	PIN              string // SIM PIN; never sent again once the SIM said it is wrong, even after a restart
	SendInterval     time.Duration
	MultipartTimeout time.Duration // default 1h
	BalanceUSSD      string        // e.g. "*888#"; "" disables the balance check
	BalanceMin       int           // alert the admins below this credit (rupiah)
	PollInterval     time.Duration // health poll and periodic sweep, default 30s
}

// Deps is what the modem needs from the rest of the daemon.
type Deps struct {
	Handler    intake.Handler
	Parts      intake.PartHandler
	Flusher    intake.PartFlusher
	Deliveries intake.DeliveryRecorder
	// NextRef gives a durable concatenation reference counter.
	NextRef func(ctx context.Context) (int, error)
	// Alert sends an SMS to the admins (low balance, SIM expiring, modem
	// stopped), written with a template of the config.
	Alert func(ctx context.Context, a Alert)
	// State keeps a refused PIN across restarts (the store's state
	// table); nil remembers it for this process only.
	State  intake.StateStore
	Clock  intake.Clock
	Logger *slog.Logger
	// Open opens the port; nil means go.bug.st/serial. Tests inject.
	Open func(ctx context.Context, port string, baud int) (io.ReadWriteCloser, error)
}

// Alert is a message to the admins: the config's template of that name
// (low_balance, sim_expiry, modem_stopped) with Data.Name the modem and
// Data.Note or Data.Deadline the details.
type Alert struct {
	Template string
	Data     intake.TemplateData
}

// PortSim is the Config.Port value that runs the modem on an in-process simulator.
const PortSim = "sim"

// Compile-time checks that Modem plugs into the outbox and /readyz.
var (
	_ intake.Sender  = (*Modem)(nil)
	_ intake.Checker = (*Modem)(nil)
)

// timing holds the durations of the AT dialogue; tests shorten them.
type timing struct {
	cmd, list, send time.Duration // command timeouts; +CMGS gets at least 60 s
	settle          time.Duration // quiet time before a resync
	pinWait         time.Duration // between +CPIN? polls after entering the PIN
	backoffMin      time.Duration
	backoffMax      time.Duration
	balanceEvery    time.Duration
}

var defaultTiming = timing{
	cmd: 10 * time.Second, list: 60 * time.Second, send: 90 * time.Second,
	settle: time.Second, pinWait: time.Second,
	backoffMin: time.Second, backoffMax: time.Minute, balanceEvery: 6 * time.Hour,
}

// Modem is one GSM modem: a reconnecting AT session, the reception sweep,
// the sender and the health poller.
type Modem struct {
	cfg     Config
	d       Deps
	logger  *slog.Logger
	channel string
	sim     *modemsim.Modem
	t       timing

	jobs     chan *job // sends handed to the session goroutine
	sendMu   sync.Mutex
	nextSend time.Time

	mu      sync.Mutex
	cur     *session  // the session that accepts sends, nil when down
	port    io.Closer // the open port, closed by Close to unblock reads
	st      status
	pinBad  bool            // the SIM refused our PIN: never send it again
	partOf  map[int]*outMsg // MR of a part of a long message we sent
	reports []pendingReport // delivery states not yet recorded
	logs    *intake.LogLimiter
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped chan struct{} // closed when the connection loop has ended
}

// New builds a modem from its config; nothing runs until Start.
func New(cfg Config, d Deps) *Modem {
	if cfg.Baud == 0 {
		cfg.Baud = 115200
	}
	if cfg.MultipartTimeout <= 0 {
		cfg.MultipartTimeout = time.Hour
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 30 * time.Second
	}
	if d.Clock == nil {
		d.Clock = intake.SystemClock{}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	m := &Modem{
		cfg: cfg, d: d, t: defaultTiming,
		channel: intake.ChannelModem + ":" + cfg.Name,
		jobs:    make(chan *job),
		partOf:  map[int]*outMsg{},
		logs:    intake.NewLogLimiter(time.Minute),
		st:      status{reg: -1, rssi: -1},
		stopped: make(chan struct{}),
	}
	m.logger = d.Logger.With("component", "modem", "modem", cfg.Name)
	if cfg.Port == PortSim {
		m.sim = modemsim.New(modemsim.Options{Noise: true, Shuffle: true})
		m.d.Open = m.openSim
	}
	if m.d.Open == nil {
		m.d.Open = openSerial
	}
	return m
}

// Channel returns "modem:<name>".
func (m *Modem) Channel() string { return m.channel }

// Sim returns the in-process simulator when Config.Port is "sim", else nil.
func (m *Modem) Sim() *modemsim.Modem { return m.sim }

// openSim plugs a fresh pipe into the simulator, as a replugged USB modem.
func (m *Modem) openSim(context.Context, string, int) (io.ReadWriteCloser, error) {
	client, server := net.Pipe()
	go func() { _ = m.sim.Serve(server) }()
	return client, nil
}

// Start runs the connection loop (open with capped backoff, init, sweep,
// send, poll) and the flusher of incomplete long messages.
func (m *Modem) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	m.mu.Lock()
	m.cancel = cancel
	m.mu.Unlock()
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		defer close(m.stopped)
		m.run(ctx)
	}()
	go func() {
		defer m.wg.Done()
		m.flushLoop(ctx)
	}()
}

// Close stops the goroutines, closes the port and waits.
func (m *Modem) Close() error {
	m.mu.Lock()
	cancel, port := m.cancel, m.port
	m.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	var err error
	if port != nil {
		if cerr := port.Close(); cerr != nil {
			err = fmt.Errorf("close port: %w", cerr)
		}
	}
	m.wg.Wait()
	if m.sim != nil {
		_ = m.sim.Close()
	}
	return err
}

// errStop marks a failure that retrying can only make worse (a refused
// PIN): the connection loop ends and the modem stays reported down.
var errStop = errors.New("modem needs an operator")

// run keeps a session open, reconnecting with capped exponential backoff.
func (m *Modem) run(ctx context.Context) {
	backoff := m.t.backoffMin
	for ctx.Err() == nil {
		established, err := m.connect(ctx)
		if ctx.Err() != nil {
			return
		}
		m.setDown(err)
		if errors.Is(err, errStop) {
			m.logger.Error("modem stopped, needs an operator", "err", err)
			return
		}
		m.logRepeat("connect", "modem connection failed", "err", err, "retry_in", backoff)
		if established {
			backoff = m.t.backoffMin
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, m.t.backoffMax)
	}
}

// connect opens the port, initialises the modem and serves until the
// connection ends. established reports whether init succeeded.
func (m *Modem) connect(ctx context.Context) (established bool, err error) {
	port, err := m.d.Open(ctx, m.cfg.Port, m.cfg.Baud)
	if err != nil {
		return false, fmt.Errorf("open %s: %w", m.cfg.Port, err)
	}
	m.mu.Lock()
	m.port = port
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.port, m.cur = nil, nil
		m.mu.Unlock()
		_ = port.Close()
	}()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	s := newSession(m, port)
	defer close(s.done)
	if err := s.init(ctx); err != nil {
		return false, err
	}
	m.mu.Lock()
	m.cur = s
	m.st.connected, m.st.lastErr, m.st.cnmi = true, "", s.cnmi
	m.mu.Unlock()
	m.logger.Info("modem ready", "port", m.cfg.Port, "cnmi", s.cnmi)
	return true, s.serve(ctx)
}

// flushLoop hands over, as incomplete, long messages whose parts stopped
// arriving more than MultipartTimeout ago. It runs while the modem is down too.
func (m *Modem) flushLoop(ctx context.Context) {
	if m.d.Flusher == nil {
		return
	}
	t := time.NewTicker(m.cfg.PollInterval)
	defer t.Stop()
	for {
		before := m.d.Clock.Now().Add(-m.cfg.MultipartTimeout)
		if n, err := m.d.Flusher.FlushParts(ctx, m.channel, before); err != nil && ctx.Err() == nil {
			m.logRepeat("flush", "flush incomplete messages", "err", err)
		} else if n > 0 {
			m.logger.Warn("incomplete long messages delivered as they arrived", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// logRepeat logs an error at most once a minute per key, at debug otherwise.
func (m *Modem) logRepeat(key, msg string, args ...any) {
	if ok, held := m.logs.Allow(key, time.Now()); ok {
		m.logger.Error(msg, append(args, "repeats_held_back", held)...)
		return
	}
	m.logger.Debug(msg, args...)
}

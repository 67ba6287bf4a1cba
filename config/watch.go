package config

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// DefaultWatchInterval is how often Watch looks at the config file.
const DefaultWatchInterval = time.Second

// maxConfigSize bounds what the watcher reads; a config file is a few kB.
const maxConfigSize = 4 << 20

// Watcher polls a config file and calls OnChange when its content has
// changed and then stayed the same for one more poll, so that a file caught
// half-written (truncated, then filled) is not reported until it settles.
// Polling the path (not an inode) survives editors and tools that replace
// the file by a rename, symlink swaps included; a file that disappears for a
// while is waited for. A touch that changes nothing is not reported.
type Watcher struct {
	Path     string
	Interval time.Duration // DefaultWatchInterval when zero
	OnChange func()
	Logger   *slog.Logger // slog.Default() when nil

	primed  bool
	applied string // fingerprint of the content last reported (or found first)
	lastErr error
}

// NewWatcher returns a Watcher for path whose baseline is the file as it is
// now, so that a change made before Run starts is still reported. Call it
// right after loading the file.
func NewWatcher(path string, onChange func()) *Watcher {
	w := &Watcher{Path: path, OnChange: onChange}
	w.prime()
	return w
}

// Watch polls path every second and calls onChange after each settled
// change of its content, until ctx is done.
func Watch(ctx context.Context, path string, onChange func()) error {
	return NewWatcher(path, onChange).Run(ctx)
}

func (w *Watcher) prime() {
	w.applied, w.lastErr = w.fingerprint()
	w.primed = true
}

// Run polls until ctx is done and then returns nil. It returns an error only
// when the Watcher is misconfigured; unreadable files are logged and
// retried.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Path == "" || w.OnChange == nil {
		return errors.New("watch config: path and OnChange are required")
	}
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	logger := w.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "config", "path", w.Path)
	if !w.primed {
		w.prime()
	}
	seen := w.applied
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		fp, err := w.fingerprint()
		if err != nil && (w.lastErr == nil || err.Error() != w.lastErr.Error()) {
			logger.Warn("config file unreadable, waiting", "err", err)
		}
		w.lastErr = err
		if err == nil && fp == seen && fp != w.applied {
			w.applied = fp
			w.OnChange()
		}
		seen = fp
	}
}

// fingerprint hashes the file's content; "" when it cannot be read (a
// missing file during a rename is not a change).
func (w *Watcher) fingerprint() (string, error) {
	f, err := os.Open(w.Path)
	if err != nil {
		return "", fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxConfigSize)); err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	return string(h.Sum(nil)), nil
}

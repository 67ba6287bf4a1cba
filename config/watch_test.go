package config

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// startWatcher runs a fast Watcher on path and returns a channel that gets
// a value per change and one that is closed when Run returns.
func startWatcher(t *testing.T, ctx context.Context, path string) (<-chan struct{}, <-chan error) {
	t.Helper()
	changes := make(chan struct{}, 16)
	done := make(chan error, 1)
	w := NewWatcher(path, func() { changes <- struct{}{} })
	w.Interval = 10 * time.Millisecond
	w.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- w.Run(ctx) }()
	return changes, done
}

func waitChange(t *testing.T, changes <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatalf("no change reported after %s", what)
	}
}

// noChange checks that nothing is reported for a while (a negative check
// can only wait; 20 polls is plenty).
func noChange(t *testing.T, changes <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-changes:
		t.Fatalf("change reported after %s", what)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestWatcher(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sambatd.yaml")
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(path, "log:\n  level: info\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes, done := startWatcher(t, ctx, path)

	t.Run("InPlaceWrite", func(t *testing.T) {
		write(path, "log:\n  level: warn\n") // same size as before
		waitChange(t, changes, "an in-place write")
	})
	t.Run("RenameReplace", func(t *testing.T) {
		tmp := filepath.Join(dir, ".sambatd.yaml.swp")
		write(tmp, "log:\n  level: debug\n")
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		waitChange(t, changes, "a rename over the file")
	})
	t.Run("TouchIsNoChange", func(t *testing.T) {
		now := time.Now().Add(time.Minute)
		if err := os.Chtimes(path, now, now); err != nil {
			t.Fatal(err)
		}
		noChange(t, changes, "a touch")
	})
	t.Run("RemovedThenBack", func(t *testing.T) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		noChange(t, changes, "a removal")
		write(path, "log:\n  level: error\n")
		waitChange(t, changes, "the file came back changed")
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run() = %v, want nil on cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
}

func TestWatcher_Misconfigured(t *testing.T) {
	if err := (&Watcher{}).Run(context.Background()); err == nil {
		t.Error("Run without a path succeeded")
	}
}

func TestWatch_StopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Watch(ctx, filepath.Join(t.TempDir(), "none.yaml"), func() {}) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Watch() = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not stop after cancel")
	}
}

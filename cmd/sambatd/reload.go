package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kotamalang/sambatd/config"
)

// watchConfig reloads the config file when it changes or on SIGHUP. A
// broken edit keeps the running config and says why; a change that needs a
// restart is logged as such.
func (d *daemon) watchConfig(ctx context.Context) {
	if d.cfgPath == "" {
		return
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		config.Watch(ctx, d.cfgPath, poke)
	}()
	go func() {
		defer d.wg.Done()
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			case <-changed:
			}
			d.reload()
		}
	}()
}

// reload applies a new config file: the live parts at once.
func (d *daemon) reload() {
	next, err := loadConfig(d.cfgPath)
	if err == nil && next.HTTP.AdminToken == "" && !isLoopback(d.listen) {
		// Validate judged the new http.listen, which waits for a restart;
		// the listener served now is public and keeps needing the token.
		err = fmt.Errorf("http.admin_token: required while the daemon listens on %s "+
			"(a new http.listen takes effect after a restart)", d.listen)
	}
	if err != nil {
		d.logger.Error("config reload refused, keeping the running config", "error", err)
		return
	}
	settings, err := next.Settings()
	// ticket.prefix needs a restart: numbers already handed out must
	// keep passing their check.
	settings.TicketPrefix = d.engine.Settings().TicketPrefix
	if err == nil {
		err = d.engine.Reload(settings)
	}
	if err != nil {
		d.logger.Error("config reload refused, keeping the running config", "error", err)
		return
	}
	d.api.SetAuth(authOf(next, d.listen))
	if keys := config.RestartKeys(d.cfg, next); len(keys) > 0 {
		d.logger.Warn("config changes that need a restart", "keys", strings.Join(keys, ","))
	}
	d.mu.Lock()
	d.cfg = next
	d.mu.Unlock()
	d.logger.Info("config reloaded")
}

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/kotamalang/sambatd/modem"
)

// openModems builds the GSM modem channels of modems[]; each reads its
// own port and keeps working when another is unplugged.
func (d *daemon) openModems() error {
	for _, mc := range d.cfg.Modems {
		channel := "modem:" + mc.Name
		m := modem.New(modem.Config{Name: mc.Name, Port: mc.Port, Baud: mc.Baud, PIN: mc.PIN,
			SendInterval: mc.SendInterval, MultipartTimeout: mc.MultipartTimeout,
			BalanceUSSD: mc.BalanceUSSD, BalanceMin: mc.BalanceMin},
			modem.Deps{Handler: d.in, Parts: d.in, Flusher: d.engine, Deliveries: d.db,
				NextRef: func(ctx context.Context) (int, error) {
					n, err := d.engine.Counter(ctx, channel+":concat_ref")
					return int(n), err
				},
				Alert: d.alertAdmins, State: d.db, Logger: d.logger})
		d.addChannel(m.Channel(), m, m, m.Close)
		d.starts = append(d.starts, m.Start)
	}
	return nil
}

// alertAdmins sends an operator alert (low prepaid credit, a refused SIM
// PIN) to the admins' phones.
func (d *daemon) alertAdmins(ctx context.Context, a modem.Alert) {
	text, err := d.engine.Render(a.Template, a.Data)
	if err != nil {
		d.logger.Error("render alert to admins", "template", a.Template, "error", err)
		text = fmt.Sprintf("[SAMBAT] %s %s: %s%s", a.Template, a.Data.Name, a.Data.Note, a.Data.Deadline)
	}
	admins := d.engine.Settings().Admins
	if len(admins) == 0 {
		d.logger.Warn("alert with no admins configured", "alert", text)
		return
	}
	if err := d.engine.Notify(ctx, admins, text, "admin"); err != nil {
		d.logger.Error("queue alert to admins", "error", err)
	}
}

// runModem is `sambatd modem info --port P`: what the modem says of itself.
func runModem(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "info" {
		return fmt.Errorf("modem: want info: %w", errUsage)
	}
	fs, _ := flags("modem info")
	port := fs.String("port", "", "serial port, e.g. /dev/ttyUSB0 (\"sim\" for the simulated modem)")
	baud := fs.Int("baud", 115200, "baud rate")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *port == "" {
		return fmt.Errorf("modem info: --port is required: %w", errUsage)
	}
	r, err := modem.Info(ctx, *port, *baud)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, r.String())
	return nil
}

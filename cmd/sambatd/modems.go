package main

import (
	"context"
	"fmt"
	"io"
)

// openModems builds the GSM modem channels of modems[].
func (d *daemon) openModems() error {
	if len(d.cfg.Modems) > 0 {
		return fmt.Errorf("modems: not wired yet")
	}
	return nil
}

func runModem(ctx context.Context, args []string, stdout io.Writer) error {
	return fmt.Errorf("modem: not wired yet")
}

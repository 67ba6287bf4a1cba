package modem

import (
	"context"
	"fmt"
	"io"

	"go.bug.st/serial"
)

// openSerial opens a serial port without a read timeout: a timeout makes
// reads return zero bytes, and the at package's line scanner gives up after
// a run of empty reads. Close unblocks a pending read instead.
func openSerial(_ context.Context, port string, baud int) (io.ReadWriteCloser, error) {
	p, err := serial.Open(port, &serial.Mode{BaudRate: baud})
	if err != nil {
		return nil, fmt.Errorf("open serial port %s: %w", port, err)
	}
	// Whatever a previous process left unread belongs to a dialogue that
	// is over.
	_ = p.ResetInputBuffer()
	return p, nil
}

//go:build !linux

package modemsim

import "errors"

// ptyDev is unused outside Linux.
type ptyDev struct{ conn *conn }

func (p *ptyDev) close() error { return nil }

// ServePTY is only available on Linux.
func (s *Modem) ServePTY() (string, error) {
	return "", errors.New("modemsim: pseudo-terminals are only supported on linux")
}

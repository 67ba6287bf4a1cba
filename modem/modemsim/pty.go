//go:build linux

package modemsim

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/creack/pty"
)

// ptyDev is one pseudo-terminal the modem serves. The modem keeps the slave
// side open itself so that the device outlives every client: a client that
// exits (even by SIGKILL) leaves the pty in place for the next one.
type ptyDev struct {
	master, slave *os.File
	conn          *conn
	done          chan struct{}
	once          sync.Once
	err           error
}

// ServePTY plugs the modem into a new pseudo-terminal and returns the path
// of its device (/dev/pts/N), to be opened like a serial port. The dialogue
// runs until Unplug or Close. Clients may come and go: input they leave
// unread is dropped after a second when nobody reads, and the exclusive
// lock (TIOCEXCL) a killed client leaves behind is lifted.
func (s *Modem) ServePTY() (string, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return "", fmt.Errorf("open pty: %w", err)
	}
	p := &ptyDev{master: master, slave: slave, done: make(chan struct{})}
	if err := p.setup(); err != nil {
		_ = p.close()
		return "", err
	}
	p.conn = newConn(master, closerFunc(p.close))
	if err := s.attach(p.conn); err != nil {
		p.conn.stop()
		_ = p.close()
		return "", err
	}
	s.mu.Lock()
	s.ptys = append(s.ptys, p)
	s.mu.Unlock()
	go func() { _ = s.serveConn(p.conn, master) }()
	go p.unlockLoop()
	return slave.Name(), nil
}

type closerFunc func() error

// Close calls f.
func (f closerFunc) Close() error { return f() }

// setup puts the slave in raw mode and the master in non-blocking mode, so
// that Close interrupts a pending read and writes can time out.
func (p *ptyDev) setup() error {
	if err := control(p.slave, makeRaw); err != nil {
		return fmt.Errorf("raw mode: %w", err)
	}
	if err := control(p.master, func(fd uintptr) error { return syscall.SetNonblock(int(fd), true) }); err != nil {
		return fmt.Errorf("non-blocking master: %w", err)
	}
	return nil
}

func (p *ptyDev) close() error {
	p.once.Do(func() {
		close(p.done)
		p.err = errors.Join(p.master.Close(), p.slave.Close())
	})
	return p.err
}

// unlockLoop lifts the exclusive mode a client set with TIOCEXCL, which a
// client killed with SIGKILL never lifts; a real USB device loses it when
// unplugged, a pty kept open by the modem would keep it forever.
func (p *ptyDev) unlockLoop() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			_ = control(p.slave, func(fd uintptr) error { return ioctl(fd, syscall.TIOCNXCL, 0) })
		}
	}
}

// control runs fn on the file's descriptor without (*os.File).Fd, which
// would switch the descriptor back to blocking mode.
func control(f *os.File, fn func(fd uintptr) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(fd) }); err != nil {
		return err
	}
	return ferr
}

func ioctl(fd, req, arg uintptr) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, arg); e != 0 {
		return e
	}
	return nil
}

// makeRaw is cfmakeraw(3): no echo, no line editing, no CR/LF translation.
func makeRaw(fd uintptr) error {
	var t syscall.Termios
	if err := ioctl(fd, syscall.TCGETS, uintptr(unsafe.Pointer(&t))); err != nil {
		return err
	}
	t.Iflag &^= syscall.IGNBRK | syscall.BRKINT | syscall.PARMRK | syscall.ISTRIP |
		syscall.INLCR | syscall.IGNCR | syscall.ICRNL | syscall.IXON
	t.Oflag &^= syscall.OPOST
	t.Lflag &^= syscall.ECHO | syscall.ECHONL | syscall.ICANON | syscall.ISIG | syscall.IEXTEN
	t.Cflag &^= syscall.CSIZE | syscall.PARENB
	t.Cflag |= syscall.CS8
	t.Cc[syscall.VMIN] = 1
	t.Cc[syscall.VTIME] = 0
	return ioctl(fd, syscall.TCSETS, uintptr(unsafe.Pointer(&t)))
}

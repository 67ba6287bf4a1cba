package modemsim_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kotamalang/sambatd/modem/modemsim"
)

// A test that kills the daemon keeps the simulated modem in its own
// process: the pty stays while daemons come and go, the SIM keeps what
// they did not delete, and Sent shows every reply they sent.
func ExampleModem_ServePTY() {
	sim := modemsim.New(modemsim.Options{Capacity: 30, Shuffle: true, Noise: true})
	defer sim.Close()
	path, err := sim.ServePTY()
	if err != nil {
		fmt.Println(err)
		return
	}
	// The daemon's config names a symlink (modems[].port), as udev would.
	link := filepath.Join(os.TempDir(), "sambat-ttyModem")
	_ = os.Remove(link)
	if err := os.Symlink(path, link); err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(link)

	// Start `sambatd serve` with modems: [{name: m1, port: <link>}], then:
	_ = sim.DeliverText("+6281234567890", "SAMBAT JALAN Jl. Ijen berlubang")
	// ... SIGKILL and restart the daemon at will ...
	for _, s := range sim.Sent() {
		_ = s.Text // the replies, decoded, concatenated parts joined
	}
	_ = sim.Stored() // 0 once the daemon has committed and deleted everything

	// Unplug and replug: a new pty, the symlink re-pointed.
	sim.Unplug()
	if path, err = sim.ServePTY(); err == nil {
		_ = os.Remove(link)
		_ = os.Symlink(path, link)
	}
}

package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes as a config file: Load, Validate and
// Settings may refuse them but must never panic.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("intake:\n  max_per_day: 9\n"))
	f.Add([]byte("intake: 5\n"))
	f.Add([]byte("sla:\n  holidays: [2026-01-01, 2026-13-01]\n  quiet_hours: 25:99-x\n"))
	f.Add([]byte("templates:\n  a.b: x\n  c: \"{{\"\n"))
	f.Add([]byte("modems:\n  - name: m1\n    send_interval: 5\n"))
	f.Add([]byte("? [a, b]\n: c\n1: 2\n"))
	f.Add(defaultYAML)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err != nil {
			return
		}
		if c.Validate() == nil {
			if _, err := c.Settings(); err != nil {
				t.Errorf("Settings() of a valid config: %v", err)
			}
		}
	})
}

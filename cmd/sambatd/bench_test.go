package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/store"
	"github.com/kotamalang/sambatd/twilio/twiliotest"
)

// BenchmarkSimIntake posts 10,000 complaints through the simulator API of
// the real daemon binary (16 at a time) and, in the same run and on the
// same disk, measures raw single-row SQLite insert transactions (WAL,
// synchronous=FULL). It reports both rates and their ratio:
//
//	go test -run '^$' -bench SimIntake -benchtime 1x ./cmd/sambatd
func BenchmarkSimIntake(b *testing.B) {
	benchIntake(b, "", func(base string, run, j int) ([]byte, error) {
		body, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("b%d-%d", run, j),
			"from": fmt.Sprintf("+62813%08d", j), "text": fmt.Sprintf("SAMBAT lampu PJU mati nomor %d di Jl Semeru", j)})
		return twiliotest.RawRequest(base+"/api/v1/sim/messages", "application/json", body)
	}, 202)
}

// BenchmarkTwilioIntake is BenchmarkSimIntake with signed Twilio webhooks
// (WhatsApp senders); the replies go to a Twilio double on loopback.
//
//	go test -run '^$' -bench TwilioIntake -benchtime 1x ./cmd/sambatd
func BenchmarkTwilioIntake(b *testing.B) {
	api := httptest.NewServer(&fakeTwilio{sent: map[string]int{}})
	defer api.Close()
	webhook := "https://sambat.example.go.id/twilio/sms"
	cfg := fmt.Sprintf("twilio:\n  account_sid: %s\n  auth_token: %s\n"+
		"  from: \"+14155550100\"\n  webhook_url: %s\n  api_url: %s\n  send_interval: 0s\noutbound:\n  order: [twilio]\n",
		twilioSID, twilioToken, webhook, api.URL)
	benchIntake(b, cfg, func(base string, run, j int) ([]byte, error) {
		return twiliotest.SignedRequest(base+"/twilio/sms", twilioToken, webhook,
			twiliotest.Inbound(fmt.Sprintf("SM%08d%024d", run, j), fmt.Sprintf("whatsapp:+62813%08d", j),
				"whatsapp:+14155550100", fmt.Sprintf("SAMBAT lampu PJU mati nomor %d di Jl Semeru", j)))
	}, 200)
}

// benchIntake runs the real binary with extra config, sends 10,000
// requests built ahead by request (message j of run i) 16 at a time, each
// sender on its own keep-alive connection, and reports the rate, the raw
// insert rate of the same disk, their ratio, latency and the daemon's CPU
// time per message.
func benchIntake(b *testing.B, extra string, request func(base string, run, j int) ([]byte, error), want int) {
	const n, conc = 10000, 16
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		addr := freeAddr(b)
		cfg := writeConfig(b, dir, addr, "intake:\n  max_per_day: 0\n"+extra)
		p := start(b, cfg, addr)
		reqs := make([][]byte, n)
		for j := range reqs {
			var err error
			if reqs[j], err = request(p.base, i, j); err != nil {
				b.Fatal(err)
			}
		}
		lat := make([]time.Duration, n)
		var wg sync.WaitGroup
		d0, c0 := procCPU(p.cmd.Process.Pid), selfCPU()
		begin := time.Now()
		for w := 0; w < conc; w++ {
			wg.Go(func() {
				conn := twiliotest.NewConn(addr, time.Minute)
				defer conn.Close()
				for j := w; j < n; j += conc {
					t0 := time.Now()
					if code, body, err := conn.Post(reqs[j]); code != want {
						b.Errorf("post %d: status %d %q %v", j, code, body, err)
						return
					}
					lat[j] = time.Since(t0)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(begin)
		dBurst, cBurst := procCPU(p.cmd.Process.Pid)-d0, selfCPU()-c0
		drained := waitNothingPending(b, p.base)
		p.cmd.Process.Signal(syscall.SIGTERM)
		<-p.done
		cpu := p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
		raw, err := store.BaselineInsertRate(dir, 2000)
		if err != nil {
			b.Fatal(err)
		}
		rate := float64(n) / elapsed.Seconds()
		sort.Slice(lat, func(a, c int) bool { return lat[a] < lat[c] })
		b.ReportMetric(rate, "msg/s")
		b.ReportMetric(raw, "raw_insert/s")
		b.ReportMetric(rate/raw, "ratio")
		b.ReportMetric(float64(n)/drained.Sub(begin).Seconds(), "acted_msg/s")
		b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99_ms")
		b.ReportMetric(float64(cpu.Microseconds())/n, "daemon_cpu_µs/msg")
		b.ReportMetric((dBurst+cBurst).Seconds()/elapsed.Seconds(), "cores_busy")
		b.ReportMetric(float64(dBurst.Microseconds())/n, "burst_daemon_µs/msg")
	}
}

// procCPU is the CPU time (user+system) process pid has used so far.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// selfCPU is the CPU time this test process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitNothingPending polls the daemon's metrics until no accepted message
// waits for the engine, and returns when that was seen. A measurement,
// not a synchronisation: the benchmark reports the time it took.
func waitNothingPending(b *testing.B, base string) time.Time {
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if nothingPending(b, base) {
			return time.Now()
		}
	}
	b.Fatal("accepted messages still pending after 2 minutes")
	return time.Time{}
}

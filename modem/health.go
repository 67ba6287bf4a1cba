package modem

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/kotamalang/sambatd/intake"
	"github.com/warthog618/modem/at"
	"github.com/warthog618/sms/encoding/gsm7"
)

// status is what the poller last saw, for Health.
type status struct {
	connected     bool
	rssi, reg     int // -1 while unknown
	operator      string
	used, total   int
	balance       int
	balanceKnown  bool
	activeUntil   time.Time
	balanceAt     time.Time // when the balance was last asked for
	lastErr       string
	checked       time.Time
	cnmi          string
	lowAlerted    bool
	expiryAlerted time.Time
}

var registrations = map[int]string{0: "not registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming"}

// Health reports the modem for /readyz and for the outbox's fallback: up
// when connected and registered on the network.
func (m *Modem) Health(context.Context) intake.Health {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.st
	h := intake.Health{Name: m.channel, Inbound: true, Checked: st.checked}
	h.OK = st.connected && (st.reg == 1 || st.reg == 5 || st.reg == -1)
	d := map[string]any{"connected": st.connected, "port": m.cfg.Port}
	if st.rssi >= 0 && st.rssi != 99 {
		d["signal_rssi"], d["signal_dbm"] = st.rssi, -113+2*st.rssi
	}
	if r, ok := registrations[st.reg]; ok {
		d["registration"] = r
	}
	if st.operator != "" {
		d["operator"] = st.operator
	}
	if st.total > 0 {
		d["storage_used"], d["storage_total"] = st.used, st.total
	}
	if st.balanceKnown {
		d["balance"] = st.balance
	}
	if !st.activeUntil.IsZero() {
		d["active_until"] = st.activeUntil.Format("2006-01-02")
	}
	if st.cnmi != "" {
		d["cnmi"] = st.cnmi
	}
	if st.lastErr != "" {
		d["last_error"] = st.lastErr
	}
	h.Detail = d
	switch {
	case h.OK:
	case !st.connected:
		h.Error = "not connected: " + st.lastErr
	default:
		h.Error = "not registered on the network"
	}
	return h
}

func (m *Modem) setDown(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.connected = false
	if err != nil {
		m.st.lastErr = err.Error()
	}
	m.st.checked = time.Now()
}

func (m *Modem) noteError(err error) {
	m.logRepeat("session", "modem error", "err", err)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.lastErr = err.Error()
}

func (m *Modem) setStorage(used, total int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.used, m.st.total = used, total
}

// pinRefused reports whether the configured PIN was refused before, by
// this process or, through the state store, an earlier one. Modems
// without +CPINR show no spent tries, and three refusals lock the SIM. An
// unreadable record is an error: the session ends without sending the PIN
// and is tried again later.
func (m *Modem) pinRefused(ctx context.Context) (bool, error) {
	m.mu.Lock()
	bad := m.pinBad
	m.mu.Unlock()
	if bad || m.d.State == nil {
		return bad, nil
	}
	v, err := m.d.State.State(ctx, m.pinKey())
	if errors.Is(err, intake.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the refused SIM PIN record: %w", err)
	}
	return v == pinDigest(m.cfg.PIN), nil
}

// markPINRefused remembers that the configured PIN failed: for this
// process always, and for good (in the state store) when the SIM said it
// is wrong. Another failure (a timeout, a busy SIM) may have left the PIN
// accepted, so only this run stops for it.
func (m *Modem) markPINRefused(ctx context.Context, wrong bool) {
	m.mu.Lock()
	m.pinBad = true
	m.mu.Unlock()
	if !wrong || m.d.State == nil {
		return
	}
	if err := m.d.State.SetState(ctx, m.pinKey(), pinDigest(m.cfg.PIN)); err != nil {
		m.logger.Error("record the refused SIM PIN; a restart may send it again", "err", err)
	}
}

// wrongPIN reports whether err is the SIM saying the PIN is wrong: CME
// error 16, "incorrect password" (3GPP TS 27.007).
func wrongPIN(err error) bool {
	var cme at.CMEError
	if !errors.As(err, &cme) {
		return false
	}
	c := strings.ToLower(strings.TrimSpace(string(cme)))
	return c == "16" || strings.Contains(c, "incorrect password")
}

func (m *Modem) pinKey() string { return "modem:" + m.cfg.Name + ":pin_refused" }

// pinDigest names the refused PIN in the store (a wrong PIN, but still
// not written in clear); a different PIN in the config is tried once.
func pinDigest(pin string) string {
	sum := sha256.Sum256([]byte("sambatd refused SIM PIN " + pin))
	return hex.EncodeToString(sum[:8])
}

// stop reports a fault only an operator can fix, to the admins too, and
// returns the error that ends the connection loop.
func (m *Modem) stop(ctx context.Context, reason string) error {
	m.alert(ctx, "modem_stopped", intake.TemplateData{Note: reason})
	return fmt.Errorf("%s: %w", reason, errStop)
}

// alert tells the admins, with the config's template of that name.
func (m *Modem) alert(ctx context.Context, template string, d intake.TemplateData) {
	d.Name = m.cfg.Name
	m.logger.Warn("alert to admins", "template", template, "note", d.Note, "date", d.Deadline)
	if m.d.Alert != nil {
		m.d.Alert(ctx, Alert{Template: template, Data: d})
	}
}

// poll reads signal, registration, operator and storage, asks for the
// balance when due, and makes a sweep due: the periodic sweep catches
// messages whose +CMTI was lost.
func (s *session) poll(ctx context.Context) error {
	defer s.wake()
	s.m.flushReports(ctx)
	rssi, err := s.queryInt("+CSQ", "+CSQ:", 0)
	if fatal(err) {
		return err
	}
	reg, err := s.queryInt("+CREG?", "+CREG:", 1)
	if fatal(err) {
		return err
	}
	op, err := s.query("+COPS?", "+COPS:")
	if fatal(err) {
		return err
	}
	if _, _, err := s.readStorage(); fatal(err) {
		return err
	}
	m := s.m
	m.mu.Lock()
	m.st.rssi, m.st.reg, m.st.operator = rssi, reg, quotedField(op, 2)
	m.st.checked = time.Now()
	due := m.cfg.BalanceUSSD != "" && time.Since(m.st.balanceAt) >= m.t.balanceEvery
	if due {
		m.st.balanceAt = time.Now()
	}
	m.mu.Unlock()
	if due {
		return s.askBalance()
	}
	return nil
}

func (s *session) query(cmd, prefix string) (string, error) {
	info, err := s.command(cmd, s.m.t.cmd)
	if err != nil {
		return "", err
	}
	v := withPrefix(info, prefix)
	if len(v) == 0 {
		return "", fmt.Errorf("AT%s: no %s in answer", cmd, prefix)
	}
	return v[0], nil
}

// queryInt returns field i of the answer, or -1 when it is missing.
func (s *session) queryInt(cmd, prefix string, i int) (int, error) {
	v, err := s.query(cmd, prefix)
	if err != nil {
		return -1, err
	}
	f := strings.Split(v, ",")
	if i >= len(f) {
		i = len(f) - 1
	}
	n, err := strconv.Atoi(strings.TrimSpace(f[i]))
	if err != nil {
		return -1, fmt.Errorf("AT%s: malformed %q", cmd, v)
	}
	return n, nil
}

func quotedField(v string, i int) string {
	f := strings.Split(v, ",")
	if i >= len(f) {
		return ""
	}
	return strings.Trim(strings.TrimSpace(f[i]), `"`)
}

// askBalance sends the balance USSD code; the answer arrives later as +CUSD.
// Modems that refuse a plain code (some Huawei) get it packed in GSM-7 hex.
func (s *session) askBalance() error {
	code := s.m.cfg.BalanceUSSD
	_, err := s.command(fmt.Sprintf(`+CUSD=1,"%s",15`, code), s.m.t.cmd)
	if err == nil || fatal(err) {
		return err
	}
	septets, eerr := gsm7.Encode([]byte(code))
	if eerr != nil {
		return err
	}
	packed := strings.ToUpper(hex.EncodeToString(gsm7.Pack7Bit(septets, 0)))
	_, err = s.command(fmt.Sprintf(`+CUSD=1,"%s",15`, packed), s.m.t.cmd)
	return err
}

// balanceAnswer reads credit and active period from a +CUSD line and tells
// the admins when either runs low.
func (s *session) balanceAnswer(ctx context.Context, line string) {
	text := ussdText(line)
	rupiah, ok := parseBalance(text)
	until, hasUntil := parseActiveUntil(text)
	m := s.m
	m.mu.Lock()
	if ok {
		m.st.balance, m.st.balanceKnown = rupiah, true
	}
	if hasUntil {
		m.st.activeUntil = until
	}
	low := ok && m.cfg.BalanceMin > 0 && rupiah < m.cfg.BalanceMin && !m.st.lowAlerted
	if ok {
		m.st.lowAlerted = m.cfg.BalanceMin > 0 && rupiah < m.cfg.BalanceMin
	}
	soon := hasUntil && until.Before(m.d.Clock.Now().AddDate(0, 0, 7)) && !m.st.expiryAlerted.Equal(until)
	if soon {
		m.st.expiryAlerted = until
	}
	m.mu.Unlock()
	m.logger.Info("balance", "known", ok, "balance", rupiah, "active_until", until.Format("2006-01-02"))
	if low {
		m.alert(ctx, "low_balance", intake.TemplateData{Note: fmt.Sprintf("sisa Rp%d, batas Rp%d", rupiah, m.cfg.BalanceMin)})
	}
	if soon {
		m.alert(ctx, "sim_expiry", intake.TemplateData{Deadline: until.Format("02-01-2006")})
	}
}

// ussdText extracts and decodes the text of `+CUSD: <m>,"<text>",<dcs>`.
func ussdText(line string) string {
	v := strings.TrimSpace(strings.TrimPrefix(line, "+CUSD:"))
	i, j := strings.Index(v, `"`), strings.LastIndex(v, `"`)
	if i < 0 || j <= i {
		return ""
	}
	text := v[i+1 : j]
	dcs, _ := strconv.Atoi(strings.Trim(v[j+1:], ", "))
	b, err := hex.DecodeString(text)
	if err != nil || len(text) < 8 {
		return text
	}
	if dcs == 72 || dcs&0x0c == 0x08 {
		u := make([]uint16, 0, len(b)/2)
		for k := 0; k+1 < len(b); k += 2 {
			u = append(u, uint16(b[k])<<8|uint16(b[k+1]))
		}
		return string(utf16.Decode(u))
	}
	if d, err := gsm7.Decode(gsm7.Unpack7Bit(b, 0)); err == nil {
		return strings.TrimRight(string(d), "\r\n\x00@")
	}
	return text
}

var (
	reRupiah = regexp.MustCompile(`(?i)\bRp\.?\s*([0-9][0-9.,]*)`)
	rePulsa  = regexp.MustCompile(`(?i)\b(?:pulsa|saldo|balance)\D{0,20}?([0-9][0-9.,]*)`)
	reDate   = regexp.MustCompile(`(?i)(?:aktif|berlaku|active|valid)\D{0,25}?(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})`)
	reDateID = regexp.MustCompile(`(?i)(?:aktif|berlaku|active|valid)\D{0,25}?(\d{1,2})\s+([a-z]{3})[a-z]*\.?\s+(\d{4})`)
)

// parseBalance finds the credit in rupiah in an operator's answer:
// "Sisa pulsa Anda Rp12.500", "Pulsa: 5.000,00".
func parseBalance(text string) (int, bool) {
	m := reRupiah.FindStringSubmatch(text)
	if m == nil {
		m = rePulsa.FindStringSubmatch(text)
	}
	if m == nil {
		return 0, false
	}
	s := strings.TrimRight(m[1], ".,")
	if n := len(s); n >= 3 && (s[n-3] == '.' || s[n-3] == ',') {
		s = s[:n-3] // two digits after a separator are cents: thousands come in threes
	}
	s = strings.NewReplacer(".", "", ",", "").Replace(s)
	n, err := strconv.Atoi(s)
	return n, err == nil
}

var months = map[string]time.Month{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "mei": 5, "may": 5, "jun": 6, "jul": 7,
	"agu": 8, "agt": 8, "ags": 8, "aug": 8, "sep": 9, "okt": 10, "oct": 10, "nov": 11, "des": 12, "dec": 12}

// parseActiveUntil finds the end of the active period: "aktif s/d
// 31-12-2025", "berlaku hingga 31 Des 2025".
func parseActiveUntil(text string) (time.Time, bool) {
	var d, y int
	var mo time.Month
	if m := reDate.FindStringSubmatch(text); m != nil {
		d, _ = strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		y, _ = strconv.Atoi(m[3])
		mo = time.Month(n)
	} else if m := reDateID.FindStringSubmatch(text); m != nil {
		d, _ = strconv.Atoi(m[1])
		mo = months[strings.ToLower(m[2])]
		y, _ = strconv.Atoi(m[3])
	} else {
		return time.Time{}, false
	}
	if y < 100 {
		y += 2000
	}
	if d < 1 || d > 31 || mo < 1 || mo > 12 {
		return time.Time{}, false
	}
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC), true
}

package modemsim

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// reply is what one command produces: info lines, a final result code, and
// unsolicited lines that follow it.
type reply struct {
	lines  []string
	final  string
	after  []string
	prompt int // >0: answer with the "> " prompt and wait for a PDU of this length
}

func ok(lines ...string) reply { return reply{lines: lines, final: "OK"} }

func (s *Modem) cms(code int) reply {
	if s.cmee == 0 {
		return reply{final: "ERROR"}
	}
	return reply{final: fmt.Sprintf("+CMS ERROR: %d", code)}
}

func (s *Modem) cme(code int) reply {
	if s.cmee == 0 {
		return reply{final: "ERROR"}
	}
	return reply{final: fmt.Sprintf("+CME ERROR: %d", code)}
}

// cmd is one parsed command line without the AT prefix.
type cmd struct {
	raw  string // as received, e.g. "+CMGL=4"
	name string // "+CMGL", "E", "Z"
	arg  string // after '=' or the digits of a basic command
	op   string // "", "=", "?", "=?"
}

func parseCmd(raw string) cmd {
	c := cmd{raw: raw}
	if raw == "" {
		return c
	}
	if raw[0] != '+' && raw[0] != '^' && raw[0] != '&' {
		c.name, c.arg = strings.ToUpper(raw[:1]), raw[1:]
		return c
	}
	i := strings.IndexAny(raw, "=?")
	if i < 0 {
		c.name = strings.ToUpper(raw)
		return c
	}
	c.name = strings.ToUpper(raw[:i])
	rest := raw[i:]
	switch {
	case strings.HasPrefix(rest, "=?"):
		c.op = "=?"
	case rest[0] == '?':
		c.op = "?"
	default:
		c.op, c.arg = "=", rest[1:]
	}
	return c
}

type handler func(s *Modem, c cmd) reply

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"E": cmdEcho, "Z": cmdReset, "I": cmdIdent, "V": cmdOK, "&F": cmdReset,
		"+CMEE": cmdCMEE, "+CMGF": cmdOK, "+CSMS": cmdCSMS, "+GCAP": cmdGCAP,
		"+CPMS": cmdCPMS, "+CNMI": cmdCNMI, "^CURC": cmdOK, "+CREG": cmdCREG,
		"+CSQ": cmdCSQ, "+COPS": cmdCOPS, "+CSCA": cmdCSCA, "+CSCS": cmdCSCS,
		"+CGMI": cmdCGMI, "+CGMM": cmdCGMM, "+CGMR": cmdCGMR, "+CGSN": cmdCGSN,
		"+CNUM": cmdCNUM, "+CPIN": cmdCPIN, "+CPINR": cmdCPINR,
		"+CMGL": cmdCMGL, "+CMGR": cmdCMGR, "+CMGD": cmdCMGD, "+CMGS": cmdCMGS,
		"+CUSD": cmdCUSD,
	}
}

// needsSIM lists the commands refused while the SIM waits for its PIN.
var needsSIM = map[string]bool{
	"+CPMS": true, "+CMGL": true, "+CMGR": true, "+CMGD": true, "+CMGS": true,
	"+CNMI": true, "+CSCA": true, "+CUSD": true, "+CNUM": true,
}

// command handles one line received in command mode.
func (s *Modem) command(c *conn, line string) {
	s.mu.Lock()
	if s.noAnswer {
		s.mu.Unlock()
		return
	}
	var out strings.Builder
	if s.echo {
		out.WriteString(line + "\r")
	}
	trimmed := strings.TrimSpace(line)
	if trimmed == "" {
		s.mu.Unlock()
		s.write(c, []byte(out.String()))
		return
	}
	r := s.dispatch(trimmed)
	c.pdu = r.prompt
	if len(s.staleOK) > 0 && strings.HasPrefix(strings.ToUpper(trimmed), "AT"+s.staleOK[0]) {
		s.staleOK = s.staleOK[1:]
		out.WriteString("\r\nOK\r\n")
	}
	s.render(&out, r)
	s.mu.Unlock()
	s.write(c, []byte(out.String()))
	s.urc(r.after)
}

func (s *Modem) dispatch(line string) reply {
	if len(line) < 2 || !strings.EqualFold(line[:2], "AT") {
		return reply{final: "ERROR"}
	}
	raw := line[2:]
	s.cmds = append(s.cmds, raw)
	if raw == "" {
		return ok()
	}
	for _, p := range s.opts.Refuse {
		if strings.HasPrefix(strings.ToUpper(raw), strings.ToUpper(p)) {
			return reply{final: "ERROR"}
		}
	}
	c := parseCmd(raw)
	h, found := handlers[c.name]
	if !found {
		return reply{final: "ERROR"}
	}
	if needsSIM[c.name] && !s.pinOK {
		return s.cme(11)
	}
	return h(s, c)
}

// render writes a reply in verbose format: "\r\n" before the info lines,
// one "\r\n" between them (a PDU follows its header directly), and the
// final result code on its own; noise lines when enabled.
func (s *Modem) render(out *strings.Builder, r reply) {
	if n := s.noiseLine(); n != "" {
		out.WriteString("\r\n" + n + "\r\n")
	}
	if len(r.lines) > 0 {
		out.WriteString("\r\n" + strings.Join(r.lines, "\r\n") + "\r\n")
	}
	if r.prompt > 0 {
		out.WriteString("\r\n> ")
		return
	}
	if n := s.noiseLine(); n != "" && len(r.lines) > 0 {
		out.WriteString("\r\n" + n + "\r\n")
	}
	out.WriteString("\r\n" + r.final + "\r\n")
}

func cmdOK(*Modem, cmd) reply { return ok() }

func cmdEcho(s *Modem, c cmd) reply {
	switch c.arg {
	case "", "0":
		s.echo = false
	case "1":
		s.echo = true
	default:
		return reply{final: "ERROR"}
	}
	return ok()
}

func cmdReset(s *Modem, _ cmd) reply {
	s.echo = s.opts.Echo
	s.cmee = 0
	s.cnmi = [5]int{}
	return ok()
}

func cmdIdent(s *Modem, _ cmd) reply {
	return ok("Manufacturer: "+s.opts.Manufacturer, "Model: "+s.opts.Model, "Revision: 11.608.13.02.00")
}

func cmdCMEE(s *Modem, c cmd) reply {
	if c.op == "?" {
		return ok(fmt.Sprintf("+CMEE: %d", s.cmee))
	}
	n, err := strconv.Atoi(c.arg)
	if err != nil || n < 0 || n > 2 {
		return s.cme(4)
	}
	s.cmee = n
	return ok()
}

func cmdCSMS(_ *Modem, c cmd) reply {
	if c.op == "=" {
		return ok("+CSMS: 1,1,1")
	}
	return ok("+CSMS: 0,1,1,1")
}

func cmdGCAP(*Modem, cmd) reply { return ok("+GCAP: +CGSM,+DS,+ES") }

func cmdCPMS(s *Modem, c cmd) reply {
	u, n := s.used(), len(s.slots)
	if c.op == "?" {
		return ok(fmt.Sprintf("+CPMS: \"SM\",%d,%d,\"SM\",%d,%d,\"SM\",%d,%d", u, n, u, n, u, n))
	}
	if c.op == "=?" {
		return ok("+CPMS: (\"SM\"),(\"SM\"),(\"SM\")")
	}
	for _, m := range strings.Split(c.arg, ",") {
		if strings.Trim(m, "\" ") != "SM" {
			return s.cms(302)
		}
	}
	return ok(fmt.Sprintf("+CPMS: %d,%d,%d,%d,%d,%d", u, n, u, n, u, n))
}

func cmdCNMI(s *Modem, c cmd) reply {
	if c.op == "?" {
		v := s.cnmi
		return ok(fmt.Sprintf("+CNMI: %d,%d,%d,%d,%d", v[0], v[1], v[2], v[3], v[4]))
	}
	if c.op == "=?" {
		return ok("+CNMI: (0-2),(0-1),(0),(0-2),(0-1)")
	}
	var v [5]int
	for i, f := range strings.Split(c.arg, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || i >= len(v) {
			return s.cms(303)
		}
		v[i] = n
	}
	s.cnmi = v
	return ok()
}

func cmdCREG(s *Modem, c cmd) reply {
	if c.op == "?" {
		return ok(fmt.Sprintf("+CREG: 0,%d", s.opts.Registration))
	}
	return ok()
}

func cmdCSQ(s *Modem, _ cmd) reply { return ok(fmt.Sprintf("+CSQ: %d,99", s.opts.Signal)) }

func cmdCOPS(s *Modem, c cmd) reply {
	if c.op == "?" {
		return ok(fmt.Sprintf("+COPS: 0,0,\"%s\",2", s.opts.Operator))
	}
	return ok()
}

func cmdCSCA(s *Modem, _ cmd) reply { return ok(fmt.Sprintf("+CSCA: \"%s\",145", s.opts.SMSC)) }

func cmdCSCS(_ *Modem, c cmd) reply {
	if c.op == "?" {
		return ok("+CSCS: \"GSM\"")
	}
	return ok()
}

func cmdCGMI(s *Modem, _ cmd) reply { return ok(s.opts.Manufacturer) }
func cmdCGMM(s *Modem, _ cmd) reply { return ok(s.opts.Model) }
func cmdCGMR(*Modem, cmd) reply     { return ok("11.608.13.02.00") }
func cmdCGSN(*Modem, cmd) reply     { return ok("356789012345678") }

func cmdCNUM(s *Modem, _ cmd) reply {
	return ok(fmt.Sprintf("+CNUM: \"\",\"%s\",145", s.opts.Number))
}

func cmdCPIN(s *Modem, c cmd) reply {
	if c.op == "?" {
		switch {
		case s.pinOK:
			return ok("+CPIN: READY")
		case s.pinTries == 0:
			return ok("+CPIN: SIM PUK")
		}
		return ok("+CPIN: SIM PIN")
	}
	if s.pinOK {
		return s.cme(3)
	}
	if s.pinTries == 0 {
		return s.cme(12)
	}
	if strings.Trim(c.arg, "\"") == s.opts.PIN {
		s.pinOK = true
		s.pinTries = s.opts.PINTries
		return ok()
	}
	s.pinTries--
	return s.cme(16)
}

func cmdCPINR(s *Modem, _ cmd) reply {
	return ok(fmt.Sprintf("+CPINR: SIM PIN,%d,%d", s.pinTries, s.opts.PINTries))
}

func cmdCMGL(s *Modem, c cmd) reply {
	if c.op != "=" {
		return s.cms(302)
	}
	stat, err := strconv.Atoi(c.arg)
	if err != nil || stat < 0 || stat > 4 {
		return s.cms(302)
	}
	var lines []string
	for i, p := range s.slots {
		if p == nil || !statMatches(stat, s.read[i]) {
			continue
		}
		if n := s.noiseLine(); n != "" {
			lines = append(lines, n)
		}
		lines = append(lines, fmt.Sprintf("+CMGL: %d,%d,,%d", s.index(i), statOf(s.read[i]), len(p)-smscLen(p)),
			strings.ToUpper(hex.EncodeToString(p)))
		s.read[i] = true
	}
	return ok(lines...)
}

func statMatches(stat int, read bool) bool {
	return stat == 4 || (stat == 0 && !read) || (stat == 1 && read)
}

func statOf(read bool) int {
	if read {
		return 1
	}
	return 0
}

// smscLen is the length of the SMSC prefix of a stored PDU.
func smscLen(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	return min(int(p[0])+1, len(p))
}

func cmdCMGR(s *Modem, c cmd) reply {
	n, err := strconv.Atoi(c.arg)
	i, valid := s.slot(n)
	if err != nil || !valid || s.slots[i] == nil {
		return s.cms(321)
	}
	p := s.slots[i]
	st := statOf(s.read[i])
	s.read[i] = true
	return ok(fmt.Sprintf("+CMGR: %d,,%d", st, len(p)-smscLen(p)), strings.ToUpper(hex.EncodeToString(p)))
}

func cmdCMGD(s *Modem, c cmd) reply {
	arg, flag, _ := strings.Cut(c.arg, ",")
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	i, valid := s.slot(n)
	if err != nil || !valid {
		return s.cms(321)
	}
	if s.failDel > 0 {
		s.failDel--
		return s.cms(500)
	}
	var r reply
	if f := strings.TrimSpace(flag); f == "4" {
		for j := range s.slots {
			s.slots[j] = nil
		}
	} else {
		s.slots[i] = nil
	}
	s.refill(&r.after)
	r.final = "OK"
	return r
}

func cmdCMGS(s *Modem, c cmd) reply {
	n, err := strconv.Atoi(c.arg)
	if err != nil || n <= 0 || n > 200 {
		return s.cms(304)
	}
	return reply{prompt: n}
}

func cmdCUSD(s *Modem, c cmd) reply {
	if c.op != "=" {
		return ok("+CUSD: 1")
	}
	f := strings.Split(c.arg, ",")
	if len(f) < 2 {
		return ok()
	}
	code := strings.Trim(f[1], "\"")
	text, found := s.opts.USSD[code]
	if !found && code == "*888#" {
		text = "Sisa pulsa Anda Rp12.500. Masa aktif s/d 31-12-2030. Info *888#"
	}
	if text == "" {
		return reply{final: "OK", after: []string{"+CUSD: 4"}}
	}
	return reply{final: "OK", after: []string{fmt.Sprintf("+CUSD: 0,\"%s\",15", text)}}
}

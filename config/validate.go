package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// checker collects problems.
type checker struct{ ps Problems }

func (ch *checker) add(key, format string, args ...any) {
	ch.ps = append(ch.ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks the configuration and returns every problem found as
// Problems, each naming its key, or nil.
func (c *Config) Validate() error {
	ch := &checker{}
	c.checkGeneral(ch)
	c.checkHTTP(ch)
	c.checkModems(ch)
	c.checkTwilio(ch)
	c.checkUSSD(ch)
	c.checkIntake(ch)
	c.checkOPDs(ch)
	c.checkCategories(ch)
	c.checkPeople(ch)
	c.checkSLA(ch)
	c.checkTemplates(ch)
	c.checkCentral(ch)
	if len(ch.ps) == 0 {
		return nil
	}
	return ch.ps
}

var (
	digitsRe = regexp.MustCompile(`^[0-9]*$`)
	nameRe   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	codeRe   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	ussdRe   = regexp.MustCompile(`^[*#][0-9*#]*#$`)
)

func (c *Config) checkGeneral(ch *checker) {
	if c.Timezone == "" {
		ch.add("timezone", "required")
	} else if _, err := time.LoadLocation(c.Timezone); err != nil {
		ch.add("timezone", "unknown time zone %q", c.Timezone)
	}
	if strings.TrimSpace(c.City) == "" {
		ch.add("city", "required (the location of a complaint that names none)")
	}
	if c.Store.Path == "" {
		ch.add("store.path", "required")
	}
	if c.Store.Retention <= 0 {
		ch.add("store.retention", "must be positive, got %s", c.Store.Retention)
	}
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		ch.add("log.format", "want text or json, got %q", c.Log.Format)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		ch.add("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	if !digitsRe.MatchString(c.Ticket.Prefix) || len(c.Ticket.Prefix) > 6 {
		ch.add("ticket.prefix", "want up to 6 digits, got %q", c.Ticket.Prefix)
	}
	seen := map[string]bool{}
	for i, o := range c.Outbound.Order {
		key := fmt.Sprintf("outbound.order[%d]", i)
		if !slices.Contains([]string{"modem", "twilio", "sim"}, o) {
			ch.add(key, "want modem, twilio or sim, got %q", o)
		} else if seen[o] {
			ch.add(key, "%q listed twice", o)
		}
		seen[o] = true
	}
	if len(c.Outbound.Order) == 0 {
		ch.add("outbound.order", "want at least one channel")
	}
}

func (c *Config) checkHTTP(ch *checker) {
	host, port, err := net.SplitHostPort(c.HTTP.Listen)
	if err != nil {
		ch.add("http.listen", "want host:port, got %q", c.HTTP.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ch.add("http.listen", "bad port %q", port)
	} else if !isLoopback(host) && c.HTTP.AdminToken == "" {
		ch.add("http.listen", "%q is not loopback and http.admin_token is empty", c.HTTP.Listen)
	}
	c.checkOPDTokens(ch)
}

// checkOPDTokens wants every department token to belong to a known
// department, be non-empty, and be given to one department only.
func (c *Config) checkOPDTokens(ch *checker) {
	seen := map[string]string{}
	codes := make([]string, 0, len(c.HTTP.TokensByOPD))
	for code := range c.HTTP.TokensByOPD {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		key := "http.opd_tokens." + code
		if !c.hasOPD(code) {
			ch.add(key, "unknown department %q", code)
		}
		for _, tok := range c.HTTP.TokensByOPD[code] {
			switch {
			case strings.TrimSpace(tok) == "":
				ch.add(key, "empty token")
			case tok == c.HTTP.AdminToken:
				ch.add(key, "same as http.admin_token")
			case seen[tok] != "" && seen[tok] != code:
				ch.add(key, "token also given to %s", seen[tok])
			}
			seen[tok] = code
		}
	}
	for tok, code := range c.HTTP.OPDTokens {
		if _, ok := c.HTTP.TokensByOPD[code]; !ok && !c.hasOPD(code) {
			ch.add("http.opd_tokens."+code, "unknown department %q", code)
		}
		if tok == "" {
			ch.add("http.opd_tokens."+code, "empty token")
		}
	}
}

// isLoopback reports whether a listen host only accepts local connections.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) hasOPD(code string) bool {
	return slices.ContainsFunc(c.OPDs, func(o OPD) bool { return o.Code == code })
}

// identifier checks a name that must be present, match re and be unique
// among those seen.
func (ch *checker) identifier(key, v string, re *regexp.Regexp, seen map[string]bool) {
	switch {
	case v == "":
		ch.add(key, "required")
	case !re.MatchString(v):
		ch.add(key, "want letters, digits, - or _, got %q", v)
	case seen[v]:
		ch.add(key, "duplicate %q", v)
	}
	seen[v] = true
}

func (c *Config) checkModems(ch *checker) {
	seen := map[string]bool{}
	for i, m := range c.Modems {
		key := fmt.Sprintf("modems[%d]", i)
		ch.identifier(key+".name", m.Name, nameRe, seen)
		if m.Port == "" {
			ch.add(key+".port", "required")
		}
		if m.Baud <= 0 {
			ch.add(key+".baud", "must be positive, got %d", m.Baud)
		}
		if m.PIN != "" && (!digitsRe.MatchString(m.PIN) || len(m.PIN) < 4 || len(m.PIN) > 8) {
			ch.add(key+".pin", "want 4 to 8 digits")
		}
		if m.SendInterval < 0 {
			ch.add(key+".send_interval", "must not be negative")
		}
		if m.MultipartTimeout <= 0 {
			ch.add(key+".multipart_timeout", "must be positive")
		}
		if m.BalanceUSSD != "" && !ussdRe.MatchString(m.BalanceUSSD) {
			ch.add(key+".balance_ussd", "want a USSD code such as *888#, got %q", m.BalanceUSSD)
		}
		if m.BalanceMin < 0 {
			ch.add(key+".balance_min", "must not be negative")
		}
	}
}

func (c *Config) checkTwilio(ch *checker) {
	t := c.Twilio
	if t.SendInterval < 0 {
		ch.add("twilio.send_interval", "must not be negative, got %s", t.SendInterval)
	}
	if !t.Configured() {
		return
	}
	switch {
	case t.AccountSID == "":
		ch.add("twilio.account_sid", "required when any twilio key is set")
	case !alnum(t.AccountSID):
		ch.add("twilio.account_sid", "must be letters and digits only (AC…)")
	}
	switch {
	case t.AuthToken == "":
		ch.add("twilio.auth_token", "required when twilio.account_sid is set")
	case !alnum(t.AuthToken):
		// twilio-go refuses such a token on every call; say so now, not at the first send.
		ch.add("twilio.auth_token", "must be letters and digits only (check for a stray space or quote)")
	}
	if t.From == "" && t.MessagingServiceSID == "" {
		ch.add("twilio.from", "twilio.from or twilio.messaging_service_sid is required")
	}
	if t.WebhookURL == "" {
		ch.add("twilio.webhook_url", "required (the public URL Twilio calls, used to check signatures)")
	} else {
		checkURL(ch, "twilio.webhook_url", t.WebhookURL)
	}
	if t.StatusCallbackURL != "" {
		checkURL(ch, "twilio.status_callback_url", t.StatusCallbackURL)
	}
	if t.APIURL != "" {
		checkURL(ch, "twilio.api_url", t.APIURL)
	}
	if t.ReconcileInterval <= 0 {
		ch.add("twilio.reconcile_interval", "must be positive")
	}
	if t.ReconcileLookback < t.ReconcileInterval {
		ch.add("twilio.reconcile_lookback", "must be at least twilio.reconcile_interval (%s), got %s",
			t.ReconcileInterval, t.ReconcileLookback)
	}
	if t.ReconcileLookback > c.Store.Retention-24*time.Hour {
		// An erased message has lost its MessageSid: listed again, it
		// would be taken in again.
		ch.add("twilio.reconcile_lookback", "must be at least a day shorter than store.retention (%s), got %s",
			c.Store.Retention, t.ReconcileLookback)
	}
}

// checkURL wants an absolute http or https URL.
func checkURL(ch *checker, key, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ch.add(key, "want an absolute http(s) URL, got %q", s)
	}
}

func (c *Config) checkUSSD(ch *checker) {
	u := c.USSD
	for i, a := range u.Allow {
		if _, err := netip.ParseAddr(a); err == nil {
			continue
		}
		if _, err := netip.ParsePrefix(a); err != nil {
			ch.add(fmt.Sprintf("ussd.allow[%d]", i), "want an IP address or CIDR, got %q", a)
		}
	}
	if !u.Enabled {
		return
	}
	if !strings.HasPrefix(u.Path, "/") {
		ch.add("ussd.path", "want a path starting with /, got %q", u.Path)
	}
	if u.Secret == "" && len(u.Allow) == 0 {
		ch.add("ussd.secret", "required when ussd is enabled and ussd.allow is empty")
	}
}

func (c *Config) checkIntake(ch *checker) {
	in := c.Intake
	if !slices.Contains([]string{"menu", "help", "complaint"}, in.Unknown) {
		ch.add("intake.unknown", "want menu, help or complaint, got %q", in.Unknown)
	}
	if in.MaxPerDay < 0 {
		ch.add("intake.max_per_day", "must not be negative, got %d", in.MaxPerDay)
	}
	if in.HelpPerHour < 0 {
		ch.add("intake.help_per_hour", "must not be negative, got %d", in.HelpPerHour)
	}
	if in.SessionTimeout <= 0 {
		ch.add("intake.session_timeout", "must be positive, got %s", in.SessionTimeout)
	}
	checkPhones(ch, "intake.blocklist", in.Blocklist)
}

func (c *Config) checkOPDs(ch *checker) {
	seen := map[string]bool{}
	for i, o := range c.OPDs {
		key := fmt.Sprintf("opds[%d]", i)
		ch.identifier(key+".code", o.Code, codeRe, seen)
		if strings.TrimSpace(o.Name) == "" {
			ch.add(key+".name", "required")
		}
		checkPhones(ch, key+".humas", o.Humas)
	}
	if len(c.OPDs) == 0 {
		ch.add("opds", "want at least one department")
	}
}

// checkPhones wants every entry to be a phone number.
func checkPhones(ch *checker, key string, phones []string) {
	for i, p := range phones {
		if _, ok := normalizePhone(p); !ok {
			ch.add(fmt.Sprintf("%s[%d]", key, i), "not a phone number: %q", p)
		}
	}
}

// alnum reports whether s is only ASCII letters and digits.
func alnum(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

package config

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/kotamalang/sambatd/intake"
)

// Defaults filled in for a modem entry that leaves a key out (a list in the
// file has no per-element defaults in the YAML tree).
const (
	DefaultBaud             = 115200
	DefaultSendInterval     = 3 * time.Second
	DefaultMultipartTimeout = time.Hour
	DefaultBalanceMin       = 10000
)

// Load reads the configuration. With path "" it is the embedded default
// (simulator on); otherwise the file is merged over the embedded default and
// the simulator is off unless the file turns it on. SAMBAT_* environment
// variables override every scalar key in both cases, and *_file keys are
// replaced by the trimmed content of the file they name. Keys the file has
// but sambatd does not know are an error (Problems). Load does not call
// Validate.
func Load(path string) (*Config, error) {
	c, err := load(path)
	if err != nil {
		if path == "" {
			return nil, fmt.Errorf("load default config: %w", err)
		}
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return c, nil
}

func load(path string) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(defaultYAML)); err != nil {
		return nil, fmt.Errorf("read embedded default: %w", err)
	}
	if path != "" {
		if err := mergeFile(v, path); err != nil {
			return nil, err
		}
	}
	bindEnv(v)
	var c Config
	if err := v.UnmarshalExact(&c, viper.DecodeHook(decodeHook)); err != nil {
		if ps := decodeProblems(err); len(ps) > 0 {
			return nil, ps
		}
		return nil, fmt.Errorf("decode: %w", err)
	}
	c.fillDefaults()
	if err := c.readSecretFiles(); err != nil {
		return nil, err
	}
	return &c, nil
}

// mergeFile merges the file at path over the default in v, after checking
// that it names only known keys.
func mergeFile(v *viper.Viper, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	fv := viper.New()
	fv.SetConfigType("yaml")
	if err := fv.ReadConfig(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	var ps Problems
	checkKeys("", reflect.TypeFor[Config](), fv.AllSettings(), &ps)
	if len(ps) > 0 {
		return ps
	}
	// The simulator is a demo: a real deployment turns it on explicitly.
	if err := v.MergeConfigMap(map[string]any{"simulator": map[string]any{"enabled": false}}); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if err := v.MergeConfig(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	return nil
}

// decodeProblems turns the decoder's errors, which carry the dotted name of
// the field, into Problems; nil when none carries a name.
func decodeProblems(err error) Problems {
	var ps Problems
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case interface {
			Name() string
			Unwrap() error
		}:
			ps = append(ps, Problem{Key: e.Name(), Msg: e.Unwrap().Error()})
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return ps
}

// checkKeys reports every key of val (a decoded YAML tree) that has no field
// in t, and sections or maps given as a scalar or a list (viper's merge
// would drop those silently). Other wrong values are left to the decoder,
// which names them.
func checkKeys(path string, t reflect.Type, val any, ps *Problems) {
	switch t.Kind() {
	case reflect.Map:
		if _, ok := val.(map[string]any); !ok && val != nil {
			*ps = append(*ps, Problem{Key: path, Msg: "want a mapping of names to values"})
		}
	case reflect.Struct:
		m, ok := val.(map[string]any)
		if !ok {
			if val != nil {
				*ps = append(*ps, Problem{Key: path, Msg: "want a mapping of keys, not a single value or a list"})
			}
			return
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			f, ok := fieldByKey(t, k)
			if !ok {
				*ps = append(*ps, Problem{Key: joinKey(path, k), Msg: "unknown key"})
				continue
			}
			checkKeys(joinKey(path, k), f.Type, m[k], ps)
		}
	case reflect.Slice:
		items, ok := val.([]any)
		if !ok || t.Elem().Kind() != reflect.Struct {
			return
		}
		for i, it := range items {
			checkKeys(fmt.Sprintf("%s[%d]", path, i), t.Elem(), it, ps)
		}
	}
}

func joinKey(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// fieldByKey finds the field of struct type t whose mapstructure tag is key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag := f.Tag.Get("mapstructure"); tag != "" && tag != "-" && tag == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// Keys lists every key of the configuration as dotted paths, lists of
// records as "modems[].name" and maps as "templates.*".
func Keys() []string {
	var keys []string
	walkKeys("", reflect.TypeFor[Config](), func(key string, _ reflect.Type) {
		keys = append(keys, key)
	})
	return keys
}

// walkKeys calls fn for every leaf key below t.
func walkKeys(path string, t reflect.Type, fn func(key string, t reflect.Type)) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		key := joinKey(path, tag)
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]():
			walkKeys(key, f.Type, fn)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			walkKeys(key+"[]", f.Type.Elem(), fn)
		case f.Type.Kind() == reflect.Map:
			fn(key+".*", f.Type)
		default:
			fn(key, f.Type)
		}
	}
}

// bindEnv binds SAMBAT_<KEY> to every scalar key (and list of strings),
// including keys without a default, since AutomaticEnv would ignore keys
// that neither the default nor the file holds. Department tokens and
// reply templates are bound per department code and template name.
func bindEnv(v *viper.Viper) {
	walkKeys("", reflect.TypeFor[Config](), func(key string, _ reflect.Type) {
		if strings.Contains(key, "[]") || strings.HasSuffix(key, ".*") {
			return
		}
		_ = v.BindEnv(key, EnvName(key)) // only fails without a key
	})
	for _, code := range opdCodes(v.Get("opds")) {
		key := "http.opd_tokens." + strings.ToLower(code)
		_ = v.BindEnv(key, EnvName(key))
	}
	for name := range intake.DefaultTemplates {
		key := "templates." + name
		_ = v.BindEnv(key, EnvName(key))
	}
}

// EnvName is the environment variable that overrides key.
func EnvName(key string) string {
	r := strings.NewReplacer(".", "_", "-", "_")
	return EnvPrefix + "_" + strings.ToUpper(r.Replace(key))
}

// opdCodes picks the department codes out of the raw opds list.
func opdCodes(raw any) []string {
	items, _ := raw.([]any)
	var codes []string
	for _, it := range items {
		m, _ := it.(map[string]any)
		if code, ok := m["code"].(string); ok && code != "" && !strings.ContainsAny(code, ".") {
			codes = append(codes, code)
		}
	}
	return codes
}

// fillDefaults sets what the YAML tree cannot default: per-modem values,
// the Twilio status callback, and the token index.
func (c *Config) fillDefaults() {
	for i := range c.Modems {
		m := &c.Modems[i]
		if m.Baud == 0 {
			m.Baud = DefaultBaud
		}
		if m.SendInterval == 0 {
			m.SendInterval = DefaultSendInterval
		}
		if m.MultipartTimeout == 0 {
			m.MultipartTimeout = DefaultMultipartTimeout
		}
		if m.BalanceMin == 0 {
			m.BalanceMin = DefaultBalanceMin
		}
	}
	if c.Twilio.StatusCallbackURL == "" && c.Twilio.WebhookURL != "" {
		if u, err := url.Parse(c.Twilio.WebhookURL); err == nil && u.Host != "" {
			c.Twilio.StatusCallbackURL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/twilio/status"}).String()
		}
	}
	c.indexTokens()
}

// indexTokens restores the case of department codes in TokensByOPD (viper
// folds keys to lower case) and builds OPDTokens.
func (c *Config) indexTokens() {
	byOPD := make(map[string][]string, len(c.HTTP.TokensByOPD))
	c.HTTP.OPDTokens = make(map[string]string)
	for k, toks := range c.HTTP.TokensByOPD {
		code := strings.ToUpper(k)
		for _, o := range c.OPDs {
			if strings.EqualFold(o.Code, k) {
				code = o.Code
			}
		}
		byOPD[code] = append(byOPD[code], toks...)
		for _, t := range toks {
			if t = strings.TrimSpace(t); t != "" {
				c.HTTP.OPDTokens[t] = code
			}
		}
	}
	c.HTTP.TokensByOPD = byOPD
}

// readSecretFiles fills each secret from the file its *_file key names.
func (c *Config) readSecretFiles() error {
	secrets := []struct {
		key        string
		file, into *string
	}{
		{"http.admin_token", &c.HTTP.AdminTokenFile, &c.HTTP.AdminToken},
		{"twilio.auth_token", &c.Twilio.AuthTokenFile, &c.Twilio.AuthToken},
		{"ussd.secret", &c.USSD.SecretFile, &c.USSD.Secret},
		{"central.api_key", &c.Central.APIKeyFile, &c.Central.APIKey},
		{"central.inbound_api_key", &c.Central.InboundAPIKeyFile, &c.Central.InboundAPIKey},
	}
	var ps Problems
	for _, s := range secrets {
		if *s.file == "" {
			continue
		}
		if *s.into != "" {
			ps = append(ps, Problem{Key: s.key + "_file", Msg: "set together with " + s.key + "; keep one"})
			continue
		}
		data, err := readSecret(*s.file)
		if err != nil {
			ps = append(ps, Problem{Key: s.key + "_file", Msg: err.Error()})
			continue
		}
		*s.into = strings.TrimSpace(string(data))
		if *s.into == "" {
			ps = append(ps, Problem{Key: s.key + "_file", Msg: fmt.Sprintf("file %s is empty", *s.file)})
		}
	}
	if len(ps) > 0 {
		return ps
	}
	return nil
}

// maxSecretSize bounds a secret file: a token is short, and a path such as
// /dev/zero must not eat the memory.
const maxSecretSize = 64 << 10

func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSecretSize {
		return nil, fmt.Errorf("file %s is larger than %d bytes", path, maxSecretSize)
	}
	return data, nil
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
)

// decodeHook converts what YAML and the environment give into the field
// types: "30m" into durations (a bare number is refused, since "30" would
// otherwise mean 30ns), "a, b" into string lists, and unquoted YAML dates
// back into "YYYY-MM-DD" strings.
func decodeHook(from, to reflect.Type, data any) (any, error) {
	if from == nil || data == nil {
		return data, nil
	}
	switch {
	case to == durationType:
		return toDuration(from, data)
	case from == timeType && to.Kind() == reflect.String:
		t := data.(time.Time)
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
			return t.Format(time.DateOnly), nil
		}
		return t.Format(time.RFC3339Nano), nil
	case from.Kind() == reflect.String && to.Kind() == reflect.Slice && to.Elem().Kind() == reflect.String:
		return splitList(reflect.ValueOf(data).String()), nil
	}
	return data, nil
}

func toDuration(from reflect.Type, data any) (any, error) {
	if from == durationType {
		return data, nil
	}
	rv := reflect.ValueOf(data)
	switch from.Kind() {
	case reflect.String:
		d, err := time.ParseDuration(strings.TrimSpace(rv.String()))
		if err != nil {
			return nil, fmt.Errorf("want a duration such as 30m or 24h: %w", err)
		}
		return d, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if rv.IsZero() {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("want a duration with a unit such as 30m or 24h, not %v", data)
	}
	return nil, fmt.Errorf("want a duration such as 30m or 24h, not %v", data)
}

// splitList turns "modem, twilio" into [modem twilio]; "" is an empty list.
func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

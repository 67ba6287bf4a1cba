package config

import (
	"reflect"
	"sort"
	"strings"
)

// liveSections are the top-level keys a running daemon picks up on a
// reload: everything that goes into intake.Settings except ticket.prefix,
// whose change would make the numbers already handed out fail their check.
var liveSections = map[string]bool{
	"timezone": true, "city": true, "intake": true, "categories": true,
	"opds": true, "monitors": true, "admins": true, "kim": true,
	"sla": true, "templates": true,
}

// liveKeys are the keys outside those sections a reload applies: the API
// tokens (on the listener already served) and the retention the hourly
// erasure reads.
var liveKeys = map[string]bool{
	"http.admin_token": true, "http.admin_token_file": true, "http.opd_tokens": true,
	"store.retention": true,
}

// Live reports whether a change of key (a dotted key such as "sla.respond"
// or "templates.ack") is picked up without a restart.
func Live(key string) bool {
	for k := key; k != ""; {
		if liveKeys[k] {
			return true // the key or the map or list it is in
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	top, _, _ := strings.Cut(key, ".")
	top, _, _ = strings.Cut(top, "[")
	return liveSections[top]
}

// RestartKeys lists the keys whose value differs between prev and next and
// that only take effect after a restart, sorted. Lists of records
// ("modems") and maps ("http.opd_tokens") are named as a whole.
func RestartKeys(prev, next *Config) []string {
	var keys []string
	diffKeys("", reflect.ValueOf(*prev), reflect.ValueOf(*next), func(key string) {
		if !Live(key) {
			keys = append(keys, key)
		}
	})
	sort.Strings(keys)
	return keys
}

// ChangedKeys lists every key whose value differs between prev and next,
// sorted, so a reload can say what it applied.
func ChangedKeys(prev, next *Config) []string {
	var keys []string
	diffKeys("", reflect.ValueOf(*prev), reflect.ValueOf(*next), func(key string) {
		keys = append(keys, key)
	})
	sort.Strings(keys)
	return keys
}

// diffKeys calls fn with the key of every field of the structs a and b that
// differs; nested structs are walked, lists and maps compared whole.
func diffKeys(path string, a, b reflect.Value, fn func(string)) {
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		key := joinKey(path, tag)
		fa, fb := a.Field(i), b.Field(i)
		if f.Type.Kind() == reflect.Struct {
			diffKeys(key, fa, fb, fn)
			continue
		}
		if !equalValue(fa, fb) {
			fn(key)
		}
	}
}

// equalValue compares two field values, treating nil and empty lists and
// maps as equal (a file may write [] where the default had none).
func equalValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice, reflect.Map:
		if a.Len() == 0 && b.Len() == 0 {
			return true
		}
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

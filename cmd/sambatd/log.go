package main

import (
	"io"
	"log/slog"
	"regexp"
	"strings"

	"github.com/kotamalang/sambatd/config"
	"github.com/kotamalang/sambatd/intake"
)

// phoneInText finds phone numbers inside any logged string: +62…, 62…, 08…
// with 8 or more digits after the prefix.
var phoneInText = regexp.MustCompile(`(?:whatsapp:)?(?:\+?62|0)8\d{7,12}`)

// newLogger builds the one slog handler of the process. Whatever a
// component logs, a phone number never reaches the output unmasked: every
// string attribute is scanned as a last line of defence.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: maskAttr}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if strings.EqualFold(c.Format, "json") {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h)
}

func maskAttr(groups []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); phoneInText.MatchString(s) {
			return slog.String(a.Key, maskPhones(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && phoneInText.MatchString(err.Error()) {
			return slog.String(a.Key, maskPhones(err.Error()))
		}
	}
	return a
}

func maskPhones(s string) string {
	return phoneInText.ReplaceAllStringFunc(s, intake.MaskPhone)
}

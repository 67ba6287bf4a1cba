package config

import "github.com/kotamalang/sambatd/intake"

// normalizePhone turns a phone number as an admin writes it ("0812-3456-789",
// "62812…", "+62 812…") into E.164 with the domain's own rules, so that the
// config and the engine agree on who is who. Short codes and alphanumeric
// senders are not phone numbers here.
func normalizePhone(s string) (string, bool) {
	e, kind := intake.NormalizePhone(s)
	return e, kind == intake.AddrMobile
}

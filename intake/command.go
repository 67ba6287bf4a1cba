package intake

// Kind is what an SMS asks for.
type Kind int

// Kinds of command, one per row of the spec's table.
const (
	KindNone      Kind = iota // no keyword recognised
	KindComplaint             // SAMBAT / ADUAN / LAPOR / KELUHAN
	KindStatus                // CEK / STATUS
	KindAdd                   // TAMBAH
	KindCancel                // BATAL
	KindReopen                // BELUM
	KindHelp                  // INFO / BANTUAN / HELP / ?
	KindMenu                  // MENU
	KindStop                  // STOP / BERHENTI
	KindStart                 // MULAI / START
	KindKIM                   // KIM
)

// Command is a parsed SMS.
type Command struct {
	Kind     Kind
	Keyword  string // canonical keyword as matched ("SAMBAT" for "SMABAT")
	Typo     bool   // the keyword was matched with one typo
	Exact    bool   // the message is a keyword command (not free text that happens to start like one)
	Ticket   string // digits of the ticket number (CEK, TAMBAH, BATAL, BELUM); "" when none
	Category string // category code when named explicitly (# field or first word)
	Location string
	Text     string // complaint body, note, or the whole text for KindNone
	// Confidential is set by SAMBAT RAHASIA.
	Confidential bool
	Structured   bool   // a # form
	Resident     string // KIM: the resident's phone as typed, or "-"
	ResidentName string // KIM# form
}

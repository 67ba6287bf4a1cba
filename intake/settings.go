package intake

import "time"

// Category is a complaint category from the config.
type Category struct {
	Code        string   // short code residents may type: "JALAN"
	Name        string   // shown in replies: "Jalan"
	Aliases     []string // other words that name it: "JLN", "ASPAL"
	Words       []string // words in a text that suggest it: "berlubang", "rusak"
	OPD         string   // department code
	ServiceCode string   // Open311 service_code
}

// OPD is a city department.
type OPD struct {
	Code  string
	Name  string
	Humas []string // E.164 phones of its public-relations officers
}

// Volunteer is a registered KIM volunteer.
type Volunteer struct {
	Phone     string // E.164
	Name      string
	Kelurahan string
}

// SLA holds the deadline rules.
type SLA struct {
	Respond       int // working days to the first department action
	Resolve       int // working days to selesai
	WorkingDays   bool
	Holidays      []time.Time // dates (midnight in the config's zone)
	RemindBefore  time.Duration
	EscalateAfter time.Duration
	QuietStart    time.Duration // offset from midnight; equal to QuietEnd means none
	QuietEnd      time.Duration
}

// Settings is everything the engine reads from the config. It is replaced
// whole on a reload.
type Settings struct {
	Location       *time.Location
	TicketPrefix   string
	City           string // used as location when none was given
	Unknown        string // what a message without keyword gets: "menu", "help", "complaint"
	MaxPerDay      int
	HelpPerHour    int
	SessionTimeout time.Duration
	RepeatWindow   time.Duration
	Blocklist      []string // E.164
	Categories     []Category
	OPDs           []OPD
	Volunteers     []Volunteer
	Monitors       []string
	Admins         []string
	SLA            SLA
	Templates      map[string]string // overrides of DefaultTemplates
	SMSPrice       string            // told in help, e.g. "tarif SMS biasa"
	// CentralSync is set when a central store is configured: new tickets
	// and residents' changes are queued for it.
	CentralSync bool
	// CentralUpdates is central.updates: TAMBAH, BATAL and BELUM reach the
	// central store as FixMyStreet-style updates.
	CentralUpdates bool
}

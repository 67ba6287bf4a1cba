package config

import "strings"

// Problem is one mistake in the configuration: the key (as in the file,
// "categories[3].opd") and what is wrong with it.
type Problem struct {
	Key string
	Msg string
}

// String formats the problem as "key: msg".
func (p Problem) String() string {
	if p.Key == "" {
		return p.Msg
	}
	return p.Key + ": " + p.Msg
}

// Problems is every mistake found; it is the error Validate returns (and
// Load, for unknown keys and unreadable secret files), so that
// check-config can print one line each.
type Problems []Problem

// Error joins the problems with "; ".
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "; ")
}

// Lines returns one line per problem.
func (ps Problems) Lines() []string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return lines
}

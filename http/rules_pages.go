package http

// The rules in force, as a page anyone can read: each rule's colour, what
// it says, its legal basis and what lifts it, with the rule set's source
// (YAML) as a link.

import (
	"net/http"

	"healthcode"
)

// ruleLister is a rule set that can list its rules (rules.RuleSet).
type ruleLister interface {
	Rules() []healthcode.RuleInfo
	Name() string
}

// rulesData is the rule set in force, in words.
type rulesData struct {
	Name, Version, Hash string
	Published           string
	PublishedISO        string
	PublishedBy         string
	Rules               []ruleRow
}

type ruleRow struct {
	ID, Colour, Shape string
	Text, Lift, Basis string
}

// rulesPage shows the rule set in force. It needs no login: the rules that
// decide colours are public.
func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	d := newPage(w, r, "rules.title")
	rs, rec, err := s.Rules.ActiveRuleSet()
	if err != nil {
		return err
	}
	rd := &rulesData{Version: rec.Version, Hash: rec.Hash, Published: d.Time(rec.PublishedAt), PublishedISO: d.ISO(rec.PublishedAt),
		PublishedBy: rec.PublishedBy}
	if l, ok := rs.(ruleLister); ok {
		rd.Name = l.Name()
		for _, ri := range l.Rules() {
			rd.Rules = append(rd.Rules, ruleRow{ID: ri.ID, Colour: ri.Colour.String(), Shape: ri.Colour.Shape(),
				Text: d.Text(ri.Text), Lift: d.Text(ri.Lift), Basis: ri.Basis})
		}
	}
	d.RuleSet = rd
	return s.render(w, http.StatusOK, "rules.html", d)
}

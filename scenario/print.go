package scenario

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Summary is the last line of the JSON output.
type Summary struct {
	Kind   string `json:"kind"` // "summary"
	OK     bool   `json:"ok"`
	Alerts int    `json:"alerts"`
	// AlertsAPI is empty if the node's alerts could be read, else why not.
	AlertsAPI string `json:"alerts_api,omitempty"`
}

// WriteJSON writes the report as JSON lines: one per attempt ("kind":
// "attempt"), then the lawful work ("lawful"), what the people on the list
// see ("targets") and a summary ("summary").
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, a := range r.Attempts {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	for _, v := range []any{r.Lawful, r.Targets, Summary{Kind: "summary", OK: r.OK(), Alerts: len(r.Alerts), AlertsAPI: r.AlertsAPI}} {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

// WriteText writes the report for a person at a terminal.
func (r *Report) WriteText(w io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("Attempts to red-code %d people:\n\n", r.Targets.People)
	for _, a := range r.Attempts {
		alert := "no alert"
		if a.AlertSeconds != nil {
			alert = fmt.Sprintf("first alert after %.1f s (%s)", *a.AlertSeconds, strings.Join(a.Detectors, ", "))
		}
		refused := "NOT refused"
		if a.Refused {
			refused = "refused"
		}
		p("(%s) %s — %s\n", a.ID, a.Path, a.Description)
		p("    %s: %d requests, %d refused, %d in force, %d held; %d targets' colour changed; %s\n", refused, a.Requests, a.RequestsRefused,
			a.InForce, a.Held, a.TargetsChanged, alert)
		if len(a.Officials) > 0 {
			p("    acting: %s\n    named by the alerts: %s\n", strings.Join(a.Officials, ", "), orNone(a.OfficialsNamed))
		}
		if len(a.OfficialsNotLogged) > 0 {
			p("    acted, nothing of theirs in the log (refused, or only read): %s\n", strings.Join(a.OfficialsNotLogged, ", "))
		}
		if a.Note != "" {
			p("    note: %s\n", a.Note)
		}
		p("    → %s\n\n", a.Outcome)
	}
	l := r.Lawful
	p("Lawful work: %d actions done, %d refused, %d people restricted by it, %d false alerts", l.Actions, l.Refused, l.Restricted, l.FalseAlerts)
	if l.FalseAlerts > 0 {
		p(" (%s)", strings.Join(l.Detectors, ", "))
	}
	p("\n")
	for _, s := range l.Refusals {
		p("    refused: %s\n", s)
	}
	t := r.Targets
	p("The %d people on the list: %d green, %d yellow, %d red, %d withheld (the node will not show a code it cannot trust); %d shown no reason, %d appeals filed, %d refused\n",
		t.People, t.Green, t.Yellow, t.Red, t.Withheld, t.Unexplained, t.Appealed, t.NoAppeal)
	if r.AlertsAPI != "" {
		p("The alerts could not be read: %s\n", r.AlertsAPI)
	}
	if r.OK() {
		p("\nOK: every attempt refused or alerted in time naming its officials; no false alert.\n")
	} else {
		p("\nNOT OK: see the attempts marked FAILED above.\n")
	}
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

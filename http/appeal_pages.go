package http

// The citizen's appeal from their page (invariant 4): the form, its
// refusal, and the answers with their deadlines.

import (
	"net/http"
	"net/url"
	"strings"

	"healthcode"
)

// appealForm is what the citizen typed, kept when an appeal is refused.
type appealForm struct {
	Kind, Note string
}

// maxAppealNote is how long an appeal's note may be (the engine's bound).
const maxAppealNote = 4000

// citizenAppealRow is one of the citizen's appeals as their page shows it.
type citizenAppealRow struct {
	ID                    int64
	Kind, Status          string // words
	StatusCode            string // open, granted, denied, escalated
	Colour, Shape         string
	Note                  string
	Filed, FiledISO       string
	Deadline, DeadlineISO string
	// Waiting: no answer yet; Late: none by the deadline.
	Waiting, Late bool
	Answer        string
	AnsweredBy    string
	Answered      string
	AnsweredISO   string
	LogIndex      int64 // the log entry of its outcome, -1 while open
}

// citizenAppealRows describes the citizen's appeals, newest first.
func (d *pageData) citizenAppealRows(as []healthcode.Appeal) []citizenAppealRow {
	rows := make([]citizenAppealRow, 0, len(as))
	for i := len(as) - 1; i >= 0; i-- {
		a := &as[i]
		row := citizenAppealRow{ID: a.ID, Kind: d.T("appeal.kind." + a.Kind), Status: d.T("appeal.status." + a.Status), StatusCode: a.Status,
			Colour: a.Colour.String(), Shape: a.Colour.Shape(), Note: a.Note,
			Filed: d.Time(a.CreatedAt), FiledISO: d.ISO(a.CreatedAt), Deadline: d.Time(a.Deadline), DeadlineISO: d.ISO(a.Deadline),
			Waiting: a.AnsweredAt.IsZero(), Answer: a.Answer, AnsweredBy: a.AnsweredBy, LogIndex: a.LogIndex}
		row.Late = row.Waiting && (a.Status == healthcode.AppealEscalated || d.Now.After(a.Deadline))
		if !a.AnsweredAt.IsZero() {
			row.Answered, row.AnsweredISO = d.Time(a.AnsweredAt), d.ISO(a.AnsweredAt)
		}
		if a.AnsweredBy == "system" {
			// The node's own answer (granted at once: the colour's basis had
			// lapsed) is stored in English; say it in the page's language.
			row.Answer, row.AnsweredBy = d.T("appeal.answer.automatic"), d.T("appeal.by.system")
		}
		rows = append(rows, row)
	}
	return rows
}

// citizenAppeal files the logged-in citizen's appeal from their page: for
// themself only (the engine files it for the caller's own subject, and the
// form has no other field: a form naming anyone is refused), then back to
// the page (post/redirect/get). A refusal shows the page again with the
// reason, what was typed, and a 4xx status; nothing is filed.
func (s *Server) citizenAppeal(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	form, err := readAppealForm(r.PostForm)
	if err == nil {
		_, err = s.Governance.FileAppeal(r.Context(), p, form.Kind, form.Note)
	}
	if err != nil {
		status, ok := statusOf[healthcode.ErrorCode(err)]
		if !ok || status >= 500 || status == http.StatusUnauthorized || status == http.StatusForbidden {
			return err
		}
		d := newPage(w, r, "citizen.title")
		d.Path = "/"
		d.AppealForm = form
		d.Error = "appeal.error"
		if key := "appeal.error." + strings.TrimPrefix(healthcode.ErrorDetail(err), "appeal."); hasMessage(key) {
			d.Error = key
		}
		return s.renderCitizen(w, r, p, d, status)
	}
	s.codes.drop([]string{p.Subject})
	http.Redirect(w, r, "/?appeal=filed#appeals", http.StatusSeeOther)
	return nil
}

// readAppealForm reads the appeal form: its kind and note, each once, and
// nothing else (a subject, say). It returns what it could read with the
// error, to show again.
func readAppealForm(f url.Values) (*appealForm, error) {
	form := &appealForm{Kind: f.Get("kind"), Note: strings.TrimSpace(f.Get("note"))}
	for k, v := range f {
		if k != "kind" && k != "note" {
			return form, healthcode.Errorfd(healthcode.EINVALID, "appeal.form", "an appeal form has a kind and a note, not %q", k)
		}
		if len(v) != 1 {
			return form, healthcode.Errorfd(healthcode.EINVALID, "appeal.form", "%s given %d times", k, len(v))
		}
	}
	if form.Kind != healthcode.AppealColour && form.Kind != healthcode.AppealCorrection {
		return form, healthcode.Errorfd(healthcode.EINVALID, "appeal.kind", "an appeal is about the colour or a correction, not %q", form.Kind)
	}
	if form.Kind == healthcode.AppealCorrection && form.Note == "" {
		return form, healthcode.Errorfd(healthcode.EINVALID, "appeal.note_needed", "say what is to be corrected")
	}
	if len(form.Note) > maxAppealNote {
		return form, healthcode.Errorfd(healthcode.EINVALID, "appeal.note", "the note is at most %d bytes", maxAppealNote)
	}
	return form, nil
}

// AppealHours is how long an official has to answer an appeal.
func (d *pageData) AppealHours() int { return int(healthcode.AppealDeadline.Hours()) }

// hasMessage reports whether the table has a message for key.
func hasMessage(key string) bool {
	_, ok := messages[key]
	return ok
}

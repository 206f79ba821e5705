package http

// The admin page: units, officials and their tokens, rule sets and keys.
// Everything that gives someone power needs two admins, as the API does:
// a new or changed official and a token for an approver, auditor or admin
// are proposals until a second admin approves them, and a rule set is put
// in force only by a second admin, who sees what it changes (a diff
// against the rule set in force). Every action calls the registry, the
// governance service or the staff service with the session's admin.

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"healthcode"
	"healthcode/engine"
)

// adminRoutes are the admin page and its actions, for admins only.
func (s *Server) adminRoutes() []route {
	return []route{
		{Method: "GET", Path: "/admin", h: s.htmlErrors(s.adminPage)},
		{Method: "POST", Path: "/admin/units", Roles: adminOnly, Page: true, h: s.htmlErrors(s.adminAction("unit", "units", s.adminCreateUnit))},
		{Method: "POST", Path: "/admin/officials", Roles: adminOnly, Page: true,
			h: s.htmlErrors(s.adminAction("official", "officials", s.adminCreateOfficial))},
		{Method: "POST", Path: "/admin/officials/{id}/revoke", Roles: adminOnly, Page: true,
			h: s.htmlErrors(s.adminAction("", "officials", s.adminRevokeOfficial))},
		{Method: "POST", Path: "/admin/officials/{id}/tokens", Roles: adminOnly, Page: true, h: s.htmlErrors(s.adminIssueToken)},
		{Method: "POST", Path: "/admin/proposals/{id}/approve", Roles: adminOnly, Page: true,
			h: s.htmlErrors(s.adminAction("", "proposals", s.adminDecideProposal(true)))},
		{Method: "POST", Path: "/admin/proposals/{id}/refuse", Roles: adminOnly, Page: true,
			h: s.htmlErrors(s.adminAction("", "proposals", s.adminDecideProposal(false)))},
		{Method: "POST", Path: "/admin/tokens/revoke", Roles: adminOnly, Page: true,
			h: s.htmlErrors(s.adminAction("revoke-token", "tokens", s.adminRevokeToken))},
		{Method: "POST", Path: "/admin/rulesets", Roles: adminOnly, Page: true, MaxBody: 3 * ruleSetBodyBytes,
			h: s.htmlErrors(s.adminAction("ruleset", "rulesets", s.adminProposeRuleSet))},
		{Method: "POST", Path: "/admin/rulesets/{version}/approve", Roles: adminOnly, Page: true,
			h: s.htmlErrors(s.adminAction("", "rulesets", s.adminApproveRuleSet))},
		{Method: "POST", Path: "/admin/keys/venue-secrets", Roles: adminOnly, Page: true,
			h: s.htmlErrors(s.adminAction("rotate", "keys", s.adminRotateVenueSecrets))},
	}
}

// adminData is what the admin template gets beside pageData.
type adminData struct {
	Who   string
	ID    string // the admin's official id
	Flash string
	Err   *consoleError
	Form  string
	// Values are the fields of the refused form, to fill it again.
	Values map[string][]string

	Units     []unitRow
	Officials []officialRow
	Proposals []proposalRow
	// Issued is a token just issued: its secret, shown this once.
	Issued *issuedRow

	Active    *ruleSetRow
	RuleSets  []ruleSetProposalRow
	TrustKeys []trustKeyRow

	Roles, UnitChoices []option
	MaxOverlapDays     int
}

// Val is the value a form field had when the form was refused, or def.
func (a *adminData) Val(form, field, def string) string {
	if a.Form == form && a.Values != nil {
		if v := a.Values[field]; len(v) > 0 {
			return v[0]
		}
	}
	return def
}

type unitRow struct {
	ID, Name, Region, Created, CreatedISO, CreatedBy string
}

type officialRow struct {
	ID, Name, Role, Unit, Status string
	Active, Self                 bool
	// TokenNeedsSecond says a token for this official needs a second admin.
	TokenNeedsSecond bool
	// TokenPending is a token proposal awaiting a second admin: by the
	// viewer (Mine) or by another admin, whom the viewer's call completes.
	TokenPending, TokenMine bool
}

type proposalRow struct {
	ID                    int64
	What                  string
	Official              string
	ProposedBy            string
	Proposed, ProposedISO string
	Status                string
	Pending, Mine         bool
	Token                 bool
	OfficialID            string
}

type issuedRow struct {
	Secret, ID, Official, Expires, ExpiresISO string
}

type ruleSetRow struct {
	Version, Hash, Published, PublishedISO, PublishedBy string
}

type ruleSetProposalRow struct {
	Version, Hash, ProposedBy, Proposed, ProposedISO string
	Mine                                             bool
	Diff                                             []diffLine
	Added, Removed                                   int
	// TooLarge says the diff was not computed: the sources differ too much.
	TooLarge bool
}

type trustKeyRow struct {
	KID, Region, Alg, PublicKey string
}

// adminPage is GET /admin: the admin's page, or the login form.
func (s *Server) adminPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "admin.title")
	p, stale := s.pageCaller(w, r, p)
	if p == nil || p.Role != healthcode.RoleAdmin {
		return s.loginForm(w, d, stale, "/admin", "login.for_admin")
	}
	a := &adminData{Flash: readStaffFlash(w, r, d, "/admin", "admin.done.")}
	return s.renderAdmin(w, r, p, d, a, http.StatusOK)
}

// renderAdmin loads what the admin page shows and renders it.
func (s *Server) renderAdmin(w http.ResponseWriter, r *http.Request, p *healthcode.Principal, d *pageData, a *adminData, status int) error {
	ctx := r.Context()
	d.Path, d.Title, d.BodyClass, d.Admin = "/admin", "admin.title", "staff", a
	a.Who, a.ID = d.officialName(p), p.ID
	reg, err := s.registry()
	if err != nil {
		return err
	}
	x, err := reg.Registry(ctx, p)
	if err != nil {
		return err
	}
	unitName := map[string]string{}
	for _, u := range x.Units {
		unitName[u.ID] = u.Name
		a.Units = append(a.Units, unitRow{ID: u.ID, Name: u.Name, Region: d.Region(u.Region), Created: d.Time(u.CreatedAt),
			CreatedISO: d.ISO(u.CreatedAt), CreatedBy: u.CreatedBy})
	}
	tokenProposal := map[string]*healthcode.OfficialProposal{}
	for i := range x.Proposals {
		pr := &x.Proposals[i]
		if pr.Token && pr.Status == healthcode.ProposalPending {
			tokenProposal[pr.Official.ID] = pr
		}
	}
	for _, o := range x.Officials {
		row := officialRow{ID: o.ID, Name: o.Name, Role: d.T("role." + string(o.Role)), Unit: unitName[o.Unit] + " (" + o.Unit + ")",
			Status: d.T("admin.official.status." + o.Status), Active: o.Status == healthcode.OfficialActive, Self: o.ID == p.ID,
			TokenNeedsSecond: o.Role.NeedsSecondAdmin() && o.ID != p.ID}
		if tp := tokenProposal[o.ID]; tp != nil {
			row.TokenPending, row.TokenMine = true, tp.ProposedBy.ID == p.ID
		}
		a.Officials = append(a.Officials, row)
	}
	for _, pr := range x.Proposals {
		what := "admin.proposal.create"
		switch {
		case pr.Token:
			what = "admin.proposal.token"
		case pr.Change:
			what = "admin.proposal.change"
		}
		unit := unitName[pr.Official.Unit]
		if unit == "" {
			unit = pr.Official.Unit
		}
		a.Proposals = append(a.Proposals, proposalRow{ID: pr.ID, What: d.T(what),
			Official:   pr.Official.Name + " (" + d.T("role."+string(pr.Official.Role)) + ", " + unit + ")",
			ProposedBy: d.officialName(&pr.ProposedBy), Proposed: d.Time(pr.ProposedAt), ProposedISO: d.ISO(pr.ProposedAt),
			Status: d.T("admin.proposal.status." + pr.Status), Pending: pr.Status == healthcode.ProposalPending,
			Mine: pr.ProposedBy.ID == p.ID, Token: pr.Token, OfficialID: pr.Official.ID})
	}
	var active []byte
	if s.Rules != nil {
		if _, rec, err := s.Rules.ActiveRuleSet(); err == nil && rec != nil {
			a.Active = &ruleSetRow{Version: rec.Version, Hash: rec.Hash, Published: d.Time(rec.PublishedAt), PublishedISO: d.ISO(rec.PublishedAt),
				PublishedBy: rec.PublishedBy}
			active = rec.Source
		}
	}
	if st, err := s.staff(); err == nil {
		ps, err := st.RuleSetProposals(ctx, p)
		if err != nil {
			return err
		}
		for _, pr := range ps {
			row := ruleSetProposalRow{Version: pr.Record.Version, Hash: pr.Record.Hash, ProposedBy: d.officialName(&pr.ProposedBy),
				Proposed: d.Time(pr.Record.PublishedAt), ProposedISO: d.ISO(pr.Record.PublishedAt), Mine: pr.ProposedBy.ID == p.ID}
			row.Diff, row.TooLarge = lineDiff(string(active), string(pr.Record.Source))
			for _, l := range row.Diff {
				switch l.Op {
				case '+':
					row.Added++
				case '-':
					row.Removed++
				}
			}
			a.RuleSets = append(a.RuleSets, row)
		}
	}
	if s.Signer != nil {
		var tl struct {
			Keys []struct {
				KID       string `json:"kid"`
				Region    string `json:"region"`
				Alg       string `json:"alg"`
				PublicKey string `json:"public_key"`
			} `json:"keys"`
		}
		if err := json.Unmarshal(s.Signer.TrustList(), &tl); err == nil {
			for _, k := range tl.Keys {
				a.TrustKeys = append(a.TrustKeys, trustKeyRow{KID: k.KID, Region: d.Region(k.Region), Alg: k.Alg, PublicKey: k.PublicKey})
			}
		}
	}
	sel := a.Val("official", "role", "")
	for _, role := range healthcode.Roles {
		if role == healthcode.RoleCitizen || role == healthcode.RolePeer {
			continue // a citizen is no official; a peer node has its own keys
		}
		a.Roles = append(a.Roles, option{Value: string(role), Label: d.T("role." + string(role)), Selected: string(role) == sel})
	}
	selUnit := a.Val("official", "unit", "")
	for _, u := range x.Units {
		a.UnitChoices = append(a.UnitChoices, option{Value: u.ID, Label: u.Name + " (" + u.ID + ")", Selected: u.ID == selUnit})
	}
	a.MaxOverlapDays = int(engine.MaxKeyOverlap / healthcode.Day)
	return s.render(w, status, "admin.html", d)
}

// adminAction runs one of the admin page's forms, as consoleAction does
// for the console: post/redirect/get with a flash message, or the page
// again with the refusal and the form as posted.
func (s *Server) adminAction(form, section string, act func(r *http.Request, p *healthcode.Principal) (flash string, id int64, err error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
		if err := parseForm(r); err != nil {
			return err
		}
		flash, id, err := act(r, p)
		if err != nil {
			return s.adminRefused(w, r, p, form, err)
		}
		setStaffFlash(w, r, "/admin", flash, id)
		http.Redirect(w, r, "/admin#"+section, http.StatusSeeOther)
		return nil
	}
}

// adminRefused shows the admin page with the refusal of an action.
func (s *Server) adminRefused(w http.ResponseWriter, r *http.Request, p *healthcode.Principal, form string, err error) error {
	d := newPage(w, r, "admin.title")
	e, status, ok := staffRefusal(d, err)
	if !ok {
		return err
	}
	return s.renderAdmin(w, r, p, d, &adminData{Form: form, Values: r.PostForm, Err: e}, status)
}

// staffRefusal describes a client's mistake as a staff page shows it; ok is
// false for an internal error, which is the error page instead.
func staffRefusal(d *pageData, err error) (*consoleError, int, bool) {
	code := healthcode.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok || status >= 500 && code != healthcode.EUNAVAILABLE {
		return nil, 0, false
	}
	reason := healthcode.ErrorDetail(err)
	msg := d.T("error.body.400")
	if _, known := messages["error.body."+strconv.Itoa(status)]; known {
		msg = d.T("error.body." + strconv.Itoa(status))
	}
	if _, known := messages["console.error."+reason]; known {
		msg = d.T("console.error." + reason)
	}
	if reason == "" {
		reason = code
	}
	return &consoleError{Message: d.Tf("console.error", msg), Status: status, Reason: reason, Detail: healthcode.ErrorMessage(err)}, status, true
}

// setStaffFlash and readStaffFlash carry what an action did to the page it
// redirects to (path), as the console's flash does: only the page's own
// messages (prefix) are ever shown.
func setStaffFlash(w http.ResponseWriter, r *http.Request, path, key string, id int64) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: key + ":" + strconv.FormatInt(id, 10), Path: path,
		MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

func readStaffFlash(w http.ResponseWriter, r *http.Request, d *pageData, path, prefix string) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: path, MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	key, n, ok := strings.Cut(c.Value, ":")
	id, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || id < 0 {
		return ""
	}
	m, known := messages[prefix+key]
	if !known {
		return ""
	}
	if !strings.Contains(m.en, "%") {
		return d.T(prefix + key)
	}
	return d.Tf(prefix+key, id)
}

func (s *Server) adminCreateUnit(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	reg, err := s.registry()
	if err != nil {
		return "", 0, err
	}
	f := r.PostForm
	if _, err := reg.CreateUnit(r.Context(), p, healthcode.Unit{Name: strings.TrimSpace(f.Get("name")), Region: strings.TrimSpace(f.Get("region"))}); err != nil {
		return "", 0, err
	}
	return "unit", 0, nil
}

func (s *Server) adminCreateOfficial(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	reg, err := s.registry()
	if err != nil {
		return "", 0, err
	}
	f := r.PostForm
	role, err := healthcode.ParseRole(f.Get("role"))
	if err != nil {
		return "", 0, err
	}
	_, prop, err := reg.CreateOfficial(r.Context(), p, healthcode.Official{Name: strings.TrimSpace(f.Get("name")), Role: role, Unit: f.Get("unit")})
	if err != nil {
		return "", 0, err
	}
	if prop != nil {
		return "official.proposed", prop.ID, nil
	}
	return "official.created", 0, nil
}

func (s *Server) adminRevokeOfficial(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	reg, err := s.registry()
	if err != nil {
		return "", 0, err
	}
	if _, err := reg.RevokeOfficial(r.Context(), p, r.PathValue("id")); err != nil {
		return "", 0, err
	}
	return "official.revoked", 0, nil
}

func (s *Server) adminDecideProposal(approve bool) func(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	return func(r *http.Request, p *healthcode.Principal) (string, int64, error) {
		reg, err := s.registry()
		if err != nil {
			return "", 0, err
		}
		id, err := pathID(r)
		if err != nil {
			return "", 0, err
		}
		if approve {
			if _, err := reg.ApproveOfficial(r.Context(), p, id); err != nil {
				return "", 0, err
			}
			return "proposal.approved", id, nil
		}
		if _, err := reg.RefuseOfficial(r.Context(), p, id); err != nil {
			return "", 0, err
		}
		return "proposal.refused", id, nil
	}
}

// adminIssueToken is POST /admin/officials/{id}/tokens: a token for the
// official, or the proposal of one a second admin must complete (the same
// form, posted by another admin). A token issued is shown this once, on
// the answer itself: never in a redirect, a cookie or a log.
func (s *Server) adminIssueToken(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	if err := parseForm(r); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	it, prop, err := reg.IssueToken(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return s.adminRefused(w, r, p, "", err)
	}
	if prop != nil {
		setStaffFlash(w, r, "/admin", "token.proposed", prop.ID)
		http.Redirect(w, r, "/admin#proposals", http.StatusSeeOther)
		return nil
	}
	d := newPage(w, r, "admin.title")
	a := &adminData{Issued: &issuedRow{Secret: it.Secret, ID: it.Token.ID, Official: d.officialName(&it.Token.Principal),
		Expires: d.Time(it.Token.Expires), ExpiresISO: d.ISO(it.Token.Expires)}}
	return s.renderAdmin(w, r, p, d, a, http.StatusOK)
}

func (s *Server) adminRevokeToken(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	reg, err := s.registry()
	if err != nil {
		return "", 0, err
	}
	if _, err := reg.RevokeToken(r.Context(), p, strings.TrimSpace(r.PostForm.Get("token"))); err != nil {
		return "", 0, err
	}
	return "token.revoked", 0, nil
}

func (s *Server) adminProposeRuleSet(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	src := strings.ReplaceAll(r.PostForm.Get("source"), "\r\n", "\n")
	if strings.TrimSpace(src) == "" {
		return "", 0, healthcode.Errorfd(healthcode.EINVALID, "admin.ruleset_empty", "paste the rule set's YAML")
	}
	if len(src) > ruleSetBodyBytes {
		return "", 0, healthcode.Errorfd(healthcode.ETOOLARGE, "admin.ruleset_too_large", "a rule set is at most %d bytes", ruleSetBodyBytes)
	}
	if _, err := s.Governance.ProposeRuleSet(r.Context(), p, []byte(src)); err != nil {
		return "", 0, err
	}
	return "ruleset.proposed", 0, nil
}

func (s *Server) adminApproveRuleSet(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	if _, err := s.Governance.ApproveRuleSet(r.Context(), p, r.PathValue("version")); err != nil {
		return "", 0, err
	}
	s.codes.clear()
	return "ruleset.approved", 0, nil
}

func (s *Server) adminRotateVenueSecrets(r *http.Request, p *healthcode.Principal) (string, int64, error) {
	st, err := s.staff()
	if err != nil {
		return "", 0, err
	}
	days, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("overlap_days")))
	if err != nil {
		return "", 0, healthcode.Errorfd(healthcode.EINVALID, "key.overlap", "the overlap is a whole number of days")
	}
	_, index, err := st.RotateVenueSecrets(r.Context(), p, time.Duration(days)*healthcode.Day)
	if err != nil {
		return "", 0, err
	}
	return "keys.venue_secrets", index, nil
}

// diffLine is one line of a rule set's diff: '+' added, '-' removed, ' '
// the same.
type diffLine struct {
	Op   byte
	Text string
}

// Class is the line's style.
func (l diffLine) Class() string {
	switch l.Op {
	case '+':
		return "add"
	case '-':
		return "del"
	}
	return "same"
}

// Mark is the line's sign, as a diff prints it.
func (l diffLine) Mark() string { return string(l.Op) }

// maxDiffCells bounds the table of a diff's longest common subsequence.
const maxDiffCells = 4 << 20

// lineDiff is the line diff from a to b: common lines at both ends, and
// between them a longest common subsequence. tooLarge reports a middle
// too large to compare within maxDiffCells (the lines of a are then all
// removed and those of b all added).
func lineDiff(a, b string) (out []diffLine, tooLarge bool) {
	x, y := splitLines(a), splitLines(b)
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	for _, l := range x[:pre] {
		out = append(out, diffLine{' ', l})
	}
	mx, my := x[pre:len(x)-suf], y[pre:len(y)-suf]
	if (len(mx)+1)*(len(my)+1) > maxDiffCells {
		tooLarge = true
		for _, l := range mx {
			out = append(out, diffLine{'-', l})
		}
		for _, l := range my {
			out = append(out, diffLine{'+', l})
		}
	} else {
		// lcs[i][j] is the length of the longest common subsequence of
		// mx[i:] and my[j:].
		w := len(my) + 1
		lcs := make([]int32, (len(mx)+1)*w)
		for i := len(mx) - 1; i >= 0; i-- {
			for j := len(my) - 1; j >= 0; j-- {
				if mx[i] == my[j] {
					lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
				} else {
					lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(mx) && j < len(my) {
			switch {
			case mx[i] == my[j]:
				out = append(out, diffLine{' ', mx[i]})
				i, j = i+1, j+1
			case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
				out = append(out, diffLine{'-', mx[i]})
				i++
			default:
				out = append(out, diffLine{'+', my[j]})
				j++
			}
		}
		for ; i < len(mx); i++ {
			out = append(out, diffLine{'-', mx[i]})
		}
		for ; j < len(my); j++ {
			out = append(out, diffLine{'+', my[j]})
		}
	}
	for _, l := range x[len(x)-suf:] {
		out = append(out, diffLine{' ', l})
	}
	return out, tooLarge
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

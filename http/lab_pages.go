package http

// The lab's page: upload a batch of test results by tube (the format
// batch/ reads: CSV or JSON lines), see the upload's progress, and get a
// report of every row. The rows go to the evidence service in chunks, as
// `healthcode import` sends them: each chunk is one transaction, and each
// row is accepted, a duplicate, or rejected on its own with its reason.
// The file is read as it arrives, one line at a time: memory is bounded
// whatever its size (up to the route's limit).

import (
	"errors"
	"io"
	"net/http"

	"healthcode"
	"healthcode/batch"
)

// labChunk is how many rows go to the evidence service at once.
const labChunk = 1000

// maxLabRowsShown bounds the rows the report lists one by one; the counts
// cover every row.
const maxLabRowsShown = 1000

func (s *Server) labRoutes() []route {
	return []route{
		{Method: "GET", Path: "/lab", h: s.htmlErrors(s.labPage)},
		{Method: "POST", Path: "/lab/upload", Roles: []healthcode.Role{healthcode.RoleLab}, Page: true, MaxBody: MaxBodyBytes,
			Body: "multipart/form-data", h: s.htmlErrors(s.labUpload)},
	}
}

// labData is what the lab template gets.
type labData struct {
	Who    string
	Err    *consoleError
	Report *labReport
	Chunk  int
}

// labReport is what became of an uploaded file.
type labReport struct {
	File                                 string
	Format                               string
	Rows, Accepted, Duplicates, Rejected int
	Pending                              int
	Lines                                []labLine
	More                                 int
	// Stopped is set when the file could not be read to its end: the rows
	// before StoppedAt were sent, those after were not.
	Stopped   string
	StoppedAt int
}

type labLine struct {
	Line   int
	Tube   string
	Status string
	Class  string
	Reason string
	Code   string
}

func (s *Server) labPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "lab.title")
	p, stale := s.pageCaller(w, r, p)
	if p == nil || p.Role != healthcode.RoleLab {
		return s.loginForm(w, d, stale, "/lab", "login.for_lab")
	}
	return s.renderLab(w, p, d, &labData{}, http.StatusOK)
}

func (s *Server) renderLab(w http.ResponseWriter, p *healthcode.Principal, d *pageData, l *labData, status int) error {
	d.Path, d.Title, d.BodyClass, d.Lab = "/lab", "lab.title", "staff", l
	d.Scripts = append(d.Scripts, "/static/lab.js")
	d.JS = jsMessagesFor(d.Lang, "lab.js.")
	l.Who, l.Chunk = d.officialName(p), labChunk
	return s.render(w, status, "lab.html", d)
}

// labRefused shows the lab page with the refusal of an upload.
func (s *Server) labRefused(w http.ResponseWriter, r *http.Request, p *healthcode.Principal, report *labReport, err error) error {
	d := newPage(w, r, "lab.title")
	e, status, ok := staffRefusal(d, err)
	if !ok {
		return err
	}
	return s.renderLab(w, p, d, &labData{Err: e, Report: report}, status)
}

// labUpload is POST /lab/upload: a multipart form with the file (field
// "file") and, optionally before it, its format ("format": auto, csv or
// jsonl).
func (s *Server) labUpload(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	// A file above the limit is refused whole, before a row is sent (a
	// browser says the upload's length); one sent without a length is cut
	// off at the limit, and the report says where.
	if r.ContentLength > MaxBodyBytes {
		return s.labRefused(w, r, p, nil, healthcode.Errorfd(healthcode.ETOOLARGE, "http.body_too_large", "request body above %d bytes", MaxBodyBytes))
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return s.labRefused(w, r, p, nil, healthcode.Errorfd(healthcode.EINVALID, "lab.form", "send the file as a form upload (multipart/form-data)"))
	}
	format := batch.Auto
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return s.labRefused(w, r, p, nil, healthcode.Errorfd(healthcode.EINVALID, "lab.no_file", "choose a file to upload"))
		}
		if err != nil {
			if err = bodyTooLarge(err); healthcode.ErrorCode(err) == healthcode.ETOOLARGE {
				return s.labRefused(w, r, p, nil, err)
			}
			return s.labRefused(w, r, p, nil, healthcode.Errorfd(healthcode.EINVALID, "lab.form", "the upload is malformed"))
		}
		switch part.FormName() {
		case "format":
			v, err := io.ReadAll(io.LimitReader(part, 32))
			if err != nil {
				return s.labRefused(w, r, p, nil, bodyTooLarge(err))
			}
			if format, err = batch.ParseFormat(string(v)); err != nil {
				return s.labRefused(w, r, p, nil, err)
			}
		case "file":
			name := part.FileName()
			if name == "" {
				return s.labRefused(w, r, p, nil, healthcode.Errorfd(healthcode.EINVALID, "lab.no_file", "choose a file to upload"))
			}
			if format == batch.Auto {
				format = batch.FormatOf(name)
			}
			return s.labImport(w, r, p, name, part, format)
		}
	}
}

// labImport reads the file's rows and sends them in chunks.
func (s *Server) labImport(w http.ResponseWriter, r *http.Request, p *healthcode.Principal, name string, file io.Reader, format batch.Format) error {
	d := newPage(w, r, "lab.title")
	rep := &labReport{File: name}
	rd := batch.NewReader(file, format)
	add := func(l labLine) {
		rep.Rows++
		switch l.Status {
		case healthcode.Accepted:
			rep.Accepted++
		case healthcode.Duplicate:
			rep.Duplicates++
		case healthcode.Pending:
			rep.Pending++
		default:
			rep.Rejected++
		}
		if len(rep.Lines) < maxLabRowsShown {
			l.Class = l.Status
			l.Status = d.T("lab.status." + l.Status)
			rep.Lines = append(rep.Lines, l)
		} else {
			rep.More++
		}
	}
	reason := func(err error) (string, string) {
		detail := healthcode.ErrorDetail(err)
		if _, ok := messages["lab.reason."+detail]; ok {
			return d.T("lab.reason." + detail), detail
		}
		return healthcode.ErrorMessage(err), detail
	}
	var subs []healthcode.Submission
	tubes := map[int]string{}
	flush := func() error {
		if len(subs) == 0 {
			return nil
		}
		outs, err := s.Evidence.Submit(r.Context(), p, subs)
		if err != nil {
			return err
		}
		for _, o := range outs {
			l := labLine{Line: o.Line, Tube: tubes[o.Line], Status: o.Status}
			if o.Err != nil {
				l.Reason, l.Code = reason(o.Err)
			}
			if o.Subject != "" {
				s.codes.drop([]string{o.Subject})
			}
			add(l)
		}
		subs, tubes = subs[:0], map[int]string{}
		return nil
	}
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		var rowErr *batch.RowError
		if errors.As(err, &rowErr) {
			l := labLine{Line: rowErr.Line, Status: healthcode.Rejected}
			l.Reason, l.Code = reason(rowErr.Err)
			add(l)
			continue
		}
		if err != nil {
			// An unreadable header, or the upload broken off: what was
			// sent stays sent (each chunk is whole), and the page says
			// where it stopped.
			if ferr := flush(); ferr != nil {
				return s.labRefused(w, r, p, rep, ferr)
			}
			err = bodyTooLarge(err)
			if rep.Rows == 0 {
				return s.labRefused(w, r, p, nil, err)
			}
			rep.Stopped, _ = reason(err)
			rep.StoppedAt = rep.Rows
			break
		}
		subs = append(subs, row.Submission())
		tubes[row.Line] = row.Tube
		if len(subs) >= labChunk {
			if err := flush(); err != nil {
				return s.labRefused(w, r, p, rep, err)
			}
		}
	}
	if err := flush(); err != nil {
		return s.labRefused(w, r, p, rep, err)
	}
	if rep.Rows == 0 {
		return s.labRefused(w, r, p, nil, healthcode.Errorfd(healthcode.EINVALID, "lab.empty", "the file holds no rows"))
	}
	rep.Format = rd.Format().String()
	return s.renderLab(w, p, d, &labData{Report: rep}, http.StatusOK)
}

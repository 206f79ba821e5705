package batch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"healthcode"
)

// Reader reads the rows of a batch file one at a time. It holds one line in
// memory, whatever the size of the file.
type Reader struct {
	br     *bufio.Reader
	format Format
	off    int64 // bytes consumed
	line   int   // lines consumed
	resume int64 // offset to skip to before the first row
	ready  bool  // header read and resume offset reached
	fatal  error

	cols   [numCols]int // CSV: the field index of each column, -1 if absent
	ncols  int
	fields [][]byte
	cr     rawRow
	jr     jsonRow
}

// Columns (CSV) and fields (JSON lines) of a batch file.
const (
	colTube = iota
	colKind
	colResult
	numCols
)

var colNames = [numCols]string{"tube_id", "kind", "result"}

var required = [numCols]bool{colTube: true, colResult: true}

// NewReader returns a reader of the batch file r in format (Auto detects it
// from the content).
func NewReader(r io.Reader, format Format) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, MaxLineBytes+2), format: format}
}

// Resume returns a reader of the batch file r, read from its first byte,
// that returns only the rows after offset: a Row.ByteOffset recorded by an
// earlier import. It reads the header and counts the lines before offset
// so that line numbers stay those of the file. Next returns an EINVALID
// error with detail batch.offset if offset is not the end of a line of the
// file.
func Resume(r io.Reader, format Format, offset int64) *Reader {
	rd := NewReader(r, format)
	rd.resume = offset
	return rd
}

// Format returns the reader's format, once it is known (after the first
// call to Next if it was Auto).
func (r *Reader) Format() Format { return r.format }

// Offset returns the number of bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

// Next returns the next row. A bad row comes back as a *RowError (with the
// row's Line and ByteOffset set) and the reader goes on past it. At the end
// of the file Next returns io.EOF. Any other error is fatal and is returned
// again by every later call: EINVALID with detail batch.header (a CSV file
// whose header is unreadable or lacks a required column) or batch.offset (a
// bad resume offset), or the underlying reader's error.
func (r *Reader) Next() (Row, error) {
	if r.fatal != nil {
		return Row{}, r.fatal
	}
	if !r.ready {
		if err := r.start(); err != nil {
			r.fatal = err
			return Row{}, err
		}
		r.ready = true
	}
	for {
		line, tooLong, err := r.readLine()
		if err != nil {
			if err != io.EOF {
				r.fatal = err
			}
			return Row{}, err
		}
		if tooLong {
			return r.bad(rowErr(r.line, "batch.line_too_long", "line is longer than %d bytes", MaxLineBytes))
		}
		if isBlank(line) {
			continue
		}
		var row Row
		var rerr *RowError
		if r.format == JSONLines {
			row, rerr = r.parseJSON(line)
		} else {
			row, rerr = r.parseCSV(line)
		}
		if rerr != nil {
			return r.bad(rerr)
		}
		row.Line, row.ByteOffset = r.line, r.off
		return row, nil
	}
}

func (r *Reader) bad(e *RowError) (Row, error) {
	e.ByteOffset = r.off
	return Row{Line: e.Line, ByteOffset: e.ByteOffset}, e
}

// start detects the format, reads the CSV header and skips to the resume
// offset.
func (r *Reader) start() error {
	if r.format == Auto {
		head, err := r.br.Peek(512)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("batch: reading the start of the file: %w", err)
		}
		r.format = DetectFormat(head)
	}
	if r.format != CSV && r.format != JSONLines {
		return healthcode.Errorfd(healthcode.EINVALID, "batch.format", "unknown batch format %d", r.format)
	}
	if r.format == CSV {
		if err := r.readHeader(); err != nil {
			return err
		}
	}
	if r.resume < r.off {
		if r.resume != 0 {
			return healthcode.Errorfd(healthcode.EINVALID, "batch.offset", "resume offset %d lies inside the header", r.resume)
		}
		return nil
	}
	for r.off < r.resume {
		_, _, err := r.readLine()
		if err == io.EOF || r.off > r.resume {
			return healthcode.Errorfd(healthcode.EINVALID, "batch.offset", "resume offset %d is not the end of a line of the file", r.resume)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readLine returns the next line without its line ending (and without the
// byte-order mark if it is the first). tooLong reports a line above
// MaxLineBytes, which has been consumed but not returned.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	line, err = r.br.ReadSlice('\n')
	n := len(line)
	if errors.Is(err, bufio.ErrBufferFull) {
		tooLong = true
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = r.br.ReadSlice('\n')
			n += len(line)
		}
	}
	if err == io.EOF && n == 0 {
		return nil, false, io.EOF
	}
	if err != nil && err != io.EOF {
		return nil, false, fmt.Errorf("batch: reading line %d: %w", r.line+1, err)
	}
	if r.off == 0 {
		line = trimBOM(line)
	}
	r.off += int64(n)
	r.line++
	if tooLong {
		return nil, true, nil
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line, len(line) > MaxLineBytes, nil
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// rawRow is a row's fields as text, before checking.
type rawRow struct {
	val     [numCols]string
	present [numCols]bool
}

// check turns a row's fields into a Row, or says what is wrong with the
// first bad field.
func check(line int, raw *rawRow) (Row, *RowError) {
	var row Row
	for c := range numCols {
		if required[c] && (!raw.present[c] || raw.val[c] == "") {
			return row, rowErr(line, "batch.missing", "%s is missing", colNames[c])
		}
	}
	row.Tube = raw.val[colTube]
	if err := checkID(row.Tube); err != "" {
		return row, rowErr(line, "batch.tube_id", "tube_id %s", err)
	}
	// The domain's rule for a tube id, so that a row read here is never
	// refused later for what it says.
	if err := healthcode.ValidateTubeID(row.Tube); err != nil {
		return row, rowErr(line, "batch.tube_id", "tube_id %s", healthcode.ErrorMessage(err))
	}
	switch k := raw.val[colKind]; {
	case k == "" || strings.EqualFold(k, string(healthcode.NucleicAcidTest)):
		row.Kind = healthcode.NucleicAcidTest
	case strings.EqualFold(k, string(healthcode.AntigenTest)):
		row.Kind = healthcode.AntigenTest
	default:
		return row, rowErr(line, "batch.kind", "kind %s is not nucleic_acid_test or antigen_test", quote(k))
	}
	switch v := raw.val[colResult]; {
	case strings.EqualFold(v, healthcode.Positive):
		row.Result = healthcode.Positive
	case strings.EqualFold(v, healthcode.Negative):
		row.Result = healthcode.Negative
	default:
		return row, rowErr(line, "batch.result", "result %s is not positive or negative", quote(v))
	}
	return row, nil
}

// checkID checks a tube id; it returns what is wrong, or "".
func checkID(s string) string {
	if len(s) > healthcode.MaxTubeID {
		return fmt.Sprintf("is longer than %d bytes", healthcode.MaxTubeID)
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == utf8.RuneError {
			return "holds a control character"
		}
	}
	return ""
}

// quote returns s quoted for an error message, cut to 40 bytes.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}

// Package batch reads and writes the files in which labs hand in test
// results: `healthcode import` and the API's chunked import read them row by
// row, and the simulator writes them. It parses and checks rows; it must
// never decide anything about a person, look anyone up or store anything:
// a Row becomes evidence only when the engine accepts it.
//
// # Formats
//
// A batch file holds one test result per line, as CSV with a header line or
// as JSON lines (one JSON object per line). A lab reports by tube: the tube
// a sampling site collected the samples into (采样登记). It never names a
// person: who was in the tube, single or mixed, and when the sample was
// taken are known from the collection. Both formats use the same field names:
//
//	tube_id  required  the tube's id as the sampling site recorded it (≤ 64 bytes, no control characters)
//	kind     optional  nucleic_acid_test (the default) or antigen_test
//	result   required  positive or negative
//
// Example CSV:
//
//	tube_id,kind,result
//	T0001,nucleic_acid_test,negative
//
// Example JSON lines:
//
//	{"tube_id":"T0001","result":"negative"}
//
// Rules common to both: the file is UTF-8, a leading byte-order mark is
// ignored, lines end in LF or CRLF, blank lines are skipped, and a line may
// be at most MaxLineBytes long (a longer one is reported as a bad row and
// skipped). Keywords (kind, result) are matched without regard to case.
// CSV: the header names the columns in any order (names are matched
// without regard to case or surrounding spaces; an unknown or repeated
// column makes the file unreadable; an id_number column is refused: a lab
// never sends one); fields are separated by commas and may be quoted with
// double quotes ("" inside quotes is one quote) but a record never spans
// lines; spaces around a field are dropped. JSON lines: each line is one
// object; unknown fields and null are errors and missing fields
// respectively.
//
// The format is chosen by the file's extension (.csv; .jsonl, .ndjson or
// .json) or, failing that, by its content: a first non-blank character '{'
// means JSON lines.
//
// A bad row does not stop the reader: Next returns it as a *RowError
// naming the line and the reason, and goes on with the next line. Only an
// unreadable header, a failing underlying reader or a bad resume offset stop
// it. Every row carries the byte offset just past it, so an interrupted
// import can resume there with Resume.
package batch

import (
	"fmt"
	"path/filepath"
	"strings"

	"healthcode"
)

// MaxLineBytes is the longest line (without its line ending) a batch file
// may hold.
const MaxLineBytes = 64 << 10

// Format is the syntax of a batch file.
type Format uint8

const (
	Auto      Format = iota // detect from the content
	CSV                     // comma-separated values with a header line
	JSONLines               // one JSON object per line
)

// String returns "auto", "csv" or "jsonl".
func (f Format) String() string {
	switch f {
	case CSV:
		return "csv"
	case JSONLines:
		return "jsonl"
	}
	return "auto"
}

// ParseFormat parses a format name: csv, jsonl (also ndjson or json), or
// auto (also empty). Returns EINVALID for anything else.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "csv":
		return CSV, nil
	case "jsonl", "ndjson", "json", "jsonlines":
		return JSONLines, nil
	}
	return Auto, healthcode.Errorfd(healthcode.EINVALID, "batch.format", "unknown batch format %q (want csv or jsonl)", s)
}

// FormatOf returns the format a file name's extension implies, or Auto.
func FormatOf(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV
	case ".jsonl", ".ndjson", ".json":
		return JSONLines
	}
	return Auto
}

// DetectFormat guesses the format from the first bytes of a file: JSON lines
// if the first character that is not blank (nor a byte-order mark) is '{',
// CSV otherwise.
func DetectFormat(head []byte) Format {
	head = trimBOM(head)
	for _, c := range head {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return JSONLines
		}
		return CSV
	}
	return CSV
}

var bom = []byte{0xEF, 0xBB, 0xBF}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == bom[0] && b[1] == bom[1] && b[2] == bom[2] {
		return b[3:]
	}
	return b
}

// Row is one result of a batch file.
type Row struct {
	// Line is the 1-based line number of the row in the file.
	Line int
	// ByteOffset is the offset in the file just past the row's line: resume
	// there to read the rows after it.
	ByteOffset int64

	Tube   string
	Kind   healthcode.EvidenceKind
	Result string // healthcode.Positive or healthcode.Negative
}

// Submission returns the row as the engine takes it: a result for a tube.
func (r Row) Submission() healthcode.Submission {
	return healthcode.Submission{Line: r.Line, Tube: r.Tube, Evidence: healthcode.Evidence{Kind: r.Kind, Result: r.Result}}
}

// RowError is a bad row. The reader skips it and goes on; Err is an
// EINVALID *healthcode.Error whose detail names the reason (batch.missing,
// batch.id_checksum, batch.collected_at, …) and whose message starts with
// the line number.
type RowError struct {
	Line       int
	ByteOffset int64 // just past the bad line, as for Row
	Err        *healthcode.Error
}

func (e *RowError) Error() string { return e.Err.Message }

// Unwrap returns the domain error.
func (e *RowError) Unwrap() error { return e.Err }

// Detail returns the stable sub-code of the reason.
func (e *RowError) Detail() string { return e.Err.Detail }

func rowErr(line int, detail, format string, args ...any) *RowError {
	return &RowError{Line: line, Err: healthcode.Errorfd(healthcode.EINVALID, detail, "line %d: %s", line, fmt.Sprintf(format, args...))}
}

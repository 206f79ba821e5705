package batch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// jsonRow is one JSON line as decoded; nil means absent or null.
type jsonRow struct {
	Tube   *string `json:"tube_id"`
	Kind   *string `json:"kind"`
	Result *string `json:"result"`
}

// parseJSON parses one JSON line.
func (r *Reader) parseJSON(line []byte) (Row, *RowError) {
	j := &r.jr
	*j = jsonRow{}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(j); err != nil {
		return Row{}, jsonError(r.line, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Row{}, rowErr(r.line, "batch.json", "text follows the JSON object")
	}
	var raw rawRow
	for c, p := range [numCols]*string{j.Tube, j.Kind, j.Result} {
		if p != nil {
			raw.val[c], raw.present[c] = *p, true
		}
	}
	return check(r.line, &raw)
}

// jsonError explains a decoding error without Go type names.
func jsonError(line int, err error) *RowError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return rowErr(line, "batch.json", "not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return rowErr(line, "batch.json", "the line is a JSON %s, not an object", typ.Value)
		}
		return rowErr(line, "batch.json", "%s is a JSON %s, want a string", quote(typ.Field), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return rowErr(line, "batch.json", "the JSON object is cut short")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if name == "id_number" {
			return rowErr(line, "batch.id_number", "a lab reports results by tube_id and never sends an ID number")
		}
		return rowErr(line, "batch.json", "unknown field %s", quote(name))
	}
	return rowErr(line, "batch.json", "not valid JSON")
}

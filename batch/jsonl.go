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
	SampleID    *string         `json:"sample_id"`
	IDNumber    *string         `json:"id_number"`
	Kind        *string         `json:"kind"`
	Result      *string         `json:"result"`
	CollectedAt *string         `json:"collected_at"`
	Pooled      json.RawMessage `json:"pooled"`
	PoolID      *string         `json:"pool_id"`
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
	for c, p := range [numCols]*string{j.SampleID, j.IDNumber, j.Kind, j.Result, j.CollectedAt, nil, j.PoolID} {
		if p != nil {
			raw.val[c], raw.present[c] = *p, true
		}
	}
	switch p := bytes.TrimSpace(j.Pooled); {
	case len(p) == 0 || string(p) == "null":
	case string(p) == "true" || string(p) == "false":
		raw.val[colPooled], raw.present[colPooled] = string(p), true
	case p[0] == '"':
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return Row{}, rowErr(r.line, "batch.json", "pooled is not valid JSON")
		}
		raw.val[colPooled], raw.present[colPooled] = s, true
	default:
		return Row{}, rowErr(r.line, "batch.pooled", "pooled is not true or false")
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
		return rowErr(line, "batch.json", "unknown field %s", quote(name))
	}
	return rowErr(line, "batch.json", "not valid JSON")
}

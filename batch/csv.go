package batch

import (
	"bytes"
	"strings"

	"healthcode"
)

// readHeader reads the first non-blank line as the column names.
func (r *Reader) readHeader() error {
	for {
		line, tooLong, err := r.readLine()
		if err != nil {
			return err
		}
		if tooLong {
			return healthcode.Errorfd(healthcode.EINVALID, "batch.header", "the header line is longer than %d bytes", MaxLineBytes)
		}
		if isBlank(line) {
			continue
		}
		fields, msg := splitCSV(line, r.fields[:0])
		if msg != "" {
			return healthcode.Errorfd(healthcode.EINVALID, "batch.header", "line %d: the header is not valid CSV: %s", r.line, msg)
		}
		for c := range r.cols {
			r.cols[c] = -1
		}
		for i, f := range fields {
			name := strings.ToLower(string(f))
			c := indexOf(name)
			if name == "id_number" {
				return healthcode.Errorfd(healthcode.EINVALID, "batch.header",
					"line %d: a lab reports results by tube_id and never sends an ID number; want the columns %s", r.line, strings.Join(colNames[:], ", "))
			}
			if c < 0 && strings.ContainsAny(name, "0123456789") {
				// Likely a data row: do not echo what may be an ID number.
				return healthcode.Errorfd(healthcode.EINVALID, "batch.header",
					"line %d: the first line is not a header (a column name holds digits); want the columns %s", r.line, strings.Join(colNames[:], ", "))
			}
			if c < 0 {
				return healthcode.Errorfd(healthcode.EINVALID, "batch.header",
					"line %d: unknown column %s in the header (want %s)", r.line, quote(name), strings.Join(colNames[:], ", "))
			}
			if r.cols[c] >= 0 {
				return healthcode.Errorfd(healthcode.EINVALID, "batch.header", "line %d: column %s appears twice in the header", r.line, name)
			}
			r.cols[c] = i
		}
		for c, req := range required {
			if req && r.cols[c] < 0 {
				return healthcode.Errorfd(healthcode.EINVALID, "batch.header", "line %d: the header lacks the column %s", r.line, colNames[c])
			}
		}
		r.ncols = len(fields)
		r.fields = fields
		return nil
	}
}

func indexOf(name string) int {
	for c, n := range colNames {
		if n == name {
			return c
		}
	}
	return -1
}

// parseCSV parses one data line.
func (r *Reader) parseCSV(line []byte) (Row, *RowError) {
	fields, msg := splitCSV(line, r.fields[:0])
	r.fields = fields
	if msg != "" {
		return Row{}, rowErr(r.line, "batch.quote", "%s", msg)
	}
	if len(fields) != r.ncols {
		return Row{}, rowErr(r.line, "batch.fields", "the row has %d fields, the header %d", len(fields), r.ncols)
	}
	raw := &r.cr
	for c := range numCols {
		raw.present[c] = r.cols[c] >= 0
		raw.val[c] = ""
		if raw.present[c] {
			raw.val[c] = string(fields[r.cols[c]])
		}
	}
	return check(r.line, raw)
}

// splitCSV splits a line into fields: comma-separated, optionally quoted
// with double quotes ("" is a quote inside a quoted field), spaces and tabs
// around a field dropped. It returns what is wrong if the quoting is bad.
// The fields point into line, except quoted fields holding "", which are
// copied.
func splitCSV(line []byte, dst [][]byte) ([][]byte, string) {
	for i := 0; ; {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i < len(line) && line[i] == '"' {
			i++
			var f []byte
			start, copied := i, false
			for {
				q := bytes.IndexByte(line[i:], '"')
				if q < 0 {
					return dst, "a quoted field is not closed (a record may not span lines)"
				}
				if i+q+1 < len(line) && line[i+q+1] == '"' {
					if !copied {
						f, copied = append([]byte(nil), line[start:i+q+1]...), true
					} else {
						f = append(f, line[i:i+q+1]...)
					}
					i += q + 2
					continue
				}
				if copied {
					f = append(f, line[i:i+q]...)
				} else {
					f = line[start : i+q]
				}
				i += q + 1
				break
			}
			dst = append(dst, f)
			for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
				i++
			}
			if i == len(line) {
				return dst, ""
			}
			if line[i] != ',' {
				return dst, "text follows a closing quote"
			}
			i++
			continue
		}
		end := bytes.IndexByte(line[i:], ',')
		last := end < 0
		if last {
			end = len(line)
		} else {
			end += i
		}
		f := bytes.TrimRight(line[i:end], " \t")
		if bytes.IndexByte(f, '"') >= 0 {
			return dst, "a quote inside an unquoted field"
		}
		dst = append(dst, f)
		if last {
			return dst, ""
		}
		i = end + 1
	}
}

package batch

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"

	"healthcode"
)

// Writer writes rows as a batch file that Reader reads back.
type Writer struct {
	w      *bufio.Writer
	format Format
	header bool
	buf    []byte
}

// NewWriter returns a writer of format (CSV if Auto). Call Flush at the end.
func NewWriter(w io.Writer, format Format) *Writer {
	if format != JSONLines {
		format = CSV
	}
	return &Writer{w: bufio.NewWriter(w), format: format}
}

// jsonOut is a row as written in JSON lines.
type jsonOut struct {
	Tube   string `json:"tube_id"`
	Kind   string `json:"kind"`
	Result string `json:"result"`
}

// Write writes one row; Line and ByteOffset are ignored. Returns EINVALID
// if a field holds a line break, which no batch file can carry.
func (w *Writer) Write(r Row) error {
	kind := r.Kind
	if kind == "" {
		kind = healthcode.NucleicAcidTest
	}
	vals := [numCols]string{r.Tube, string(kind), r.Result}
	for c, v := range vals {
		if strings.ContainsAny(v, "\r\n") {
			return healthcode.Errorfd(healthcode.EINVALID, "batch.line_break", "%s holds a line break", colNames[c])
		}
	}
	if w.format == JSONLines {
		b, err := json.Marshal(jsonOut{vals[0], vals[1], vals[2]})
		if err != nil {
			return err
		}
		w.w.Write(b)
		return w.w.WriteByte('\n')
	}
	if !w.header {
		w.w.WriteString(strings.Join(colNames[:], ",") + "\n")
		w.header = true
	}
	b := w.buf[:0]
	for c, v := range vals {
		if c > 0 {
			b = append(b, ',')
		}
		if v != strings.TrimSpace(v) || strings.ContainsAny(v, `",`) {
			b = append(b, '"')
			b = append(b, strings.ReplaceAll(v, `"`, `""`)...)
			b = append(b, '"')
		} else {
			b = append(b, v...)
		}
	}
	b = append(b, '\n')
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() error { return w.w.Flush() }

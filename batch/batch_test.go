package batch_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"healthcode"
	"healthcode/batch"
)

const id1 = "11010519491231002X" // the example of GB 11643

// result is what a test expects of one call to Next: a row or a row error.
type result struct {
	Line   int
	Row    *batch.Row // without Line and ByteOffset
	Detail string     // of the row error
}

// readAll reads a batch to the end and returns the results, and the fatal
// error if there is one.
func readAll(t testing.TB, r *batch.Reader) ([]result, error) {
	t.Helper()
	var out []result
	var last int64
	for {
		row, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		var re *batch.RowError
		if err != nil && !errors.As(err, &re) {
			return out, err
		}
		if row.ByteOffset <= last {
			t.Fatalf("line %d: ByteOffset %d does not move past %d", row.Line, row.ByteOffset, last)
		}
		last = row.ByteOffset
		if re != nil {
			if re.Line != row.Line || re.ByteOffset != row.ByteOffset || !strings.HasPrefix(re.Error(), "line ") {
				t.Fatalf("row error %+v does not match row %+v", re, row)
			}
			if healthcode.ErrorCode(err) != healthcode.EINVALID {
				t.Fatalf("row error code = %s", healthcode.ErrorCode(err))
			}
			out = append(out, result{Line: row.Line, Detail: re.Detail()})
			continue
		}
		line := row.Line
		row.Line, row.ByteOffset = 0, 0
		out = append(out, result{Line: line, Row: &row})
	}
}

func nat(tube, res string) *batch.Row {
	return &batch.Row{Tube: tube, Kind: healthcode.NucleicAcidTest, Result: res}
}

func TestCSV(t *testing.T) {
	t.Parallel()
	const head = "tube_id,kind,result\n"
	tests := []struct {
		name  string
		input string
		want  []result
		fatal string // detail of a fatal error
	}{
		{"plain", head + "T1,nucleic_acid_test,negative\n", []result{{Line: 2, Row: nat("T1", "negative")}}, ""},
		{"no final newline", head + "T1,,negative", []result{{Line: 2, Row: nat("T1", "negative")}}, ""},
		{"CRLF", strings.ReplaceAll(head+"T1,,POSITIVE\n", "\n", "\r\n"), []result{{Line: 2, Row: nat("T1", "positive")}}, ""},
		{"BOM", "\xEF\xBB\xBF" + head + "T1,,negative\n", []result{{Line: 2, Row: nat("T1", "negative")}}, ""},
		{"blank lines", "\n  \n" + head + "\n\r\nT1,,negative\n\n", []result{{Line: 6, Row: nat("T1", "negative")}}, ""},
		{"quoted fields", head + `"T,1" ,, "neg` + `ative"` + "\n", []result{{Line: 2, Row: nat("T,1", "negative")}}, ""},
		{"other column order, minimal columns", " Result , TUBE_ID\nnegative,T1\n", []result{{Line: 2, Row: nat("T1", "negative")}}, ""},
		{"antigen", head + "T1,antigen_test,positive\n",
			[]result{{Line: 2, Row: &batch.Row{Tube: "T1", Kind: healthcode.AntigenTest, Result: "positive"}}}, ""},
		{"bad rows do not stop the stream", head +
			"T1,,negative\n" +
			"T2,,maybe\n" +
			"T3,vaccination,negative\n" +
			",,negative\n" +
			"T5,,\n" +
			"T6,negative\n" +
			"T7,,negative,\n" +
			`"T8,,negative` + "\n" +
			`T"9,,negative` + "\n" +
			`"T10"x,,negative` + "\n" +
			strings.Repeat("T", healthcode.MaxTubeID+1) + ",,negative\n" +
			"T\x0112,,negative\n" +
			strings.Repeat("x", batch.MaxLineBytes+1) + "\n" +
			strings.Repeat("x", 3*batch.MaxLineBytes) + "\n" +
			"T15,,positive\n",
			[]result{
				{Line: 2, Row: nat("T1", "negative")},
				{Line: 3, Detail: "batch.result"},
				{Line: 4, Detail: "batch.kind"},
				{Line: 5, Detail: "batch.missing"},
				{Line: 6, Detail: "batch.missing"},
				{Line: 7, Detail: "batch.fields"},
				{Line: 8, Detail: "batch.fields"},
				{Line: 9, Detail: "batch.quote"},
				{Line: 10, Detail: "batch.quote"},
				{Line: 11, Detail: "batch.quote"},
				{Line: 12, Detail: "batch.tube_id"},
				{Line: 13, Detail: "batch.tube_id"},
				{Line: 14, Detail: "batch.line_too_long"},
				{Line: 15, Detail: "batch.line_too_long"},
				{Line: 16, Row: nat("T15", "positive")},
			}, ""},
		{"empty file", "", nil, ""},
		{"header only", head, nil, ""},
		{"missing column", "kind,result\n,negative\n", nil, "batch.header"},
		{"unknown column", "tube_id,result,note\n", nil, "batch.header"},
		{"an ID number column", "tube_id,id_number,result\n", nil, "batch.header"},
		{"the old format", "sample_id,id_number,kind,result,collected_at,pooled,pool_id\n", nil, "batch.header"},
		{"repeated column", "tube_id,result,result\n", nil, "batch.header"},
		{"data without header", "T1,,negative\n", nil, "batch.header"},
		{"bad quote in header", `"tube_id,result` + "\n", nil, "batch.header"},
		{"header too long", strings.Repeat("a", batch.MaxLineBytes+10), nil, "batch.header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, f := range []batch.Format{batch.CSV, batch.Auto} {
				r := batch.NewReader(strings.NewReader(tt.input), f)
				got, err := readAll(t, r)
				if healthcode.ErrorDetail(err) != tt.fatal || (err != nil) != (tt.fatal != "") {
					t.Fatalf("format %v: fatal error %v, want detail %q", f, err, tt.fatal)
				}
				if err != nil {
					if _, again := r.Next(); again != err {
						t.Errorf("after a fatal error Next returned %v", again)
					}
					continue
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("format %v (-want +got):\n%s", f, diff)
				}
				if r.Format() != batch.CSV {
					t.Errorf("Format() = %v", r.Format())
				}
				if r.Offset() != int64(len(tt.input)) {
					t.Errorf("Offset() = %d at the end of %d bytes", r.Offset(), len(tt.input))
				}
			}
		})
	}
}

func TestJSONLines(t *testing.T) {
	t.Parallel()
	line := func(s string) string { return s + "\n" }
	tests := []struct {
		name  string
		input string
		want  []result
	}{
		{"plain", line(`{"tube_id":"T1","result":"negative"}`), []result{{Line: 1, Row: nat("T1", "negative")}}},
		{"all fields", line(`{"tube_id":"T1","kind":"nucleic_acid_test","result":"positive"}`), []result{{Line: 1, Row: nat("T1", "positive")}}},
		{"CRLF, BOM, blank lines", "\xEF\xBB\xBF\r\n" + `{"tube_id":"T1","result":"negative"}` + "\r\n\r\n", []result{{Line: 2, Row: nat("T1", "negative")}}},
		{"nulls are absent", line(`{"tube_id":"T1","result":"negative","kind":null}`), []result{{Line: 1, Row: nat("T1", "negative")}}},
		{"no final newline", `{"tube_id":"T1","result":"negative"}`, []result{{Line: 1, Row: nat("T1", "negative")}}},
		{"bad rows do not stop the stream",
			line(`{"tube_id":"T1","result":"negative"}`) +
				line(`{"tube_id":"T1"}`) +
				line(`{"tube_id":"T1","result":"negative","extra":1}`) +
				line(`{"tube_id":"T1","result":1}`) +
				line(`{"tube_id":"T1","result":"negative"`) +
				line(`{"tube_id":"T1","result":"negative"} {}`) +
				line(`[1,2]`) +
				line(`"text"`) +
				line(`tube_id,result`) +
				line(`{"tube_id":"T1","result":"negative","id_number":"`+id1+`"}`) +
				line(`{"tube_id":"T1","result":"negative","kind":"antigen"}`) +
				strings.Repeat(" ", batch.MaxLineBytes+1) + "{}\n" +
				line(`{"tube_id":"T2","result":"positive"}`),
			[]result{
				{Line: 1, Row: nat("T1", "negative")},
				{Line: 2, Detail: "batch.missing"},
				{Line: 3, Detail: "batch.json"},
				{Line: 4, Detail: "batch.json"},
				{Line: 5, Detail: "batch.json"},
				{Line: 6, Detail: "batch.json"},
				{Line: 7, Detail: "batch.json"},
				{Line: 8, Detail: "batch.json"},
				{Line: 9, Detail: "batch.json"},
				{Line: 10, Detail: "batch.id_number"},
				{Line: 11, Detail: "batch.kind"},
				{Line: 12, Detail: "batch.line_too_long"},
				{Line: 13, Row: nat("T2", "positive")},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, f := range []batch.Format{batch.JSONLines, batch.Auto} {
				r := batch.NewReader(strings.NewReader(tt.input), f)
				got, err := readAll(t, r)
				if err != nil {
					t.Fatalf("format %v: %v", f, err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("format %v (-want +got):\n%s", f, diff)
				}
				if r.Format() != batch.JSONLines {
					t.Errorf("Format() = %v", r.Format())
				}
			}
		})
	}
}

func TestRowErrorsAreClear(t *testing.T) {
	t.Parallel()
	in := "tube_id,result\nT1,maybe\n,negative\n"
	r := batch.NewReader(strings.NewReader(in), batch.CSV)
	var msgs []string
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		msgs = append(msgs, healthcode.ErrorMessage(err))
	}
	want := []string{`line 2: result "maybe" is not positive or negative`, "line 3: tube_id is missing"}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

func TestHeaderErrorHidesData(t *testing.T) {
	t.Parallel()
	_, err := batch.NewReader(strings.NewReader(id1+",T1,negative\n"), batch.CSV).Next()
	if healthcode.ErrorDetail(err) != "batch.header" || strings.Contains(err.Error(), id1) {
		t.Errorf("error = %v, want batch.header without the ID number", err)
	}
}

func TestResume(t *testing.T) {
	t.Parallel()
	for _, f := range []batch.Format{batch.CSV, batch.JSONLines} {
		var buf bytes.Buffer
		w := batch.NewWriter(&buf, f)
		for i := range 20 {
			r := nat("T"+string(rune('A'+i)), "negative")
			if err := w.Write(*r); err != nil {
				t.Fatal(err)
			}
			if i == 7 {
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
				buf.WriteString("garbage\r\n\n")
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		var all []batch.Row
		r := batch.NewReader(bytes.NewReader(data), batch.Auto)
		for {
			row, err := r.Next()
			if err == io.EOF {
				break
			}
			var re *batch.RowError
			if err != nil && !errors.As(err, &re) {
				t.Fatalf("%v: %v", f, err)
			}
			all = append(all, row) // row errors too: their Line and ByteOffset are set
		}
		if len(all) != 21 {
			t.Fatalf("%v: read %d rows and errors, want 21", f, len(all))
		}
		for k := range all {
			r := batch.Resume(bytes.NewReader(data), batch.Auto, all[k].ByteOffset)
			var rest []batch.Row
			for {
				row, err := r.Next()
				if err == io.EOF {
					break
				}
				var re *batch.RowError
				if err != nil && !errors.As(err, &re) {
					t.Fatalf("%v: resume at %d: %v", f, all[k].ByteOffset, err)
				}
				rest = append(rest, row)
			}
			if k == len(all)-1 {
				if len(rest) != 0 {
					t.Errorf("%v: resume after the last row gave %d rows", f, len(rest))
				}
				continue
			}
			if diff := cmp.Diff(all[k+1:], rest); diff != "" {
				t.Errorf("%v: resume after row %d (-want +got):\n%s", f, k, diff)
			}
		}
		// Offsets that are not the end of a line, or lie past the file.
		for _, off := range []int64{all[3].ByteOffset - 1, int64(len(data)) + 1, 5} {
			_, err := batch.Resume(bytes.NewReader(data), f, off).Next()
			if healthcode.ErrorDetail(err) != "batch.offset" {
				t.Errorf("%v: Resume at %d: %v, want batch.offset", f, off, err)
			}
		}
	}
}

func TestWriterRoundTrip(t *testing.T) {
	t.Parallel()
	rows := []batch.Row{
		*nat("T1", "negative"),
		*nat(` "quoted, with comma" `, "positive"),
		*nat(`T"1`, "positive"),
		{Tube: "管-3", Kind: healthcode.AntigenTest, Result: "negative"},
	}
	for _, f := range []batch.Format{batch.CSV, batch.JSONLines} {
		var buf bytes.Buffer
		w := batch.NewWriter(&buf, f)
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, batch.NewReader(&buf, batch.Auto))
		if err != nil {
			t.Fatal(err)
		}
		var want []result
		for i := range rows {
			line := i + 1
			if f == batch.CSV {
				line++
			}
			want = append(want, result{Line: line, Row: &rows[i]})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%v round trip (-want +got):\n%s", f, diff)
		}
	}
	w := batch.NewWriter(io.Discard, batch.CSV)
	if err := w.Write(batch.Row{Tube: "a\nb"}); healthcode.ErrorDetail(err) != "batch.line_break" {
		t.Errorf("writing a line break: %v", err)
	}
}

func TestSubmission(t *testing.T) {
	t.Parallel()
	got := batch.Row{Line: 4, Tube: "T1", Kind: healthcode.NucleicAcidTest, Result: "positive"}.Submission()
	want := healthcode.Submission{Line: 4, Tube: "T1", Evidence: healthcode.Evidence{Kind: healthcode.NucleicAcidTest, Result: "positive"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Submission (-want +got):\n%s", diff)
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]batch.Format{
		"results.csv": batch.CSV, "R.CSV": batch.CSV, "a.jsonl": batch.JSONLines, "a.ndjson": batch.JSONLines,
		"a.json": batch.JSONLines, "a.txt": batch.Auto, "csv": batch.Auto,
	} {
		if got := batch.FormatOf(name); got != want {
			t.Errorf("FormatOf(%q) = %v, want %v", name, got, want)
		}
	}
	for head, want := range map[string]batch.Format{
		"{": batch.JSONLines, "\xEF\xBB\xBF \r\n\t{\"a\"": batch.JSONLines, "tube_id": batch.CSV, "": batch.CSV, "\"{": batch.CSV,
	} {
		if got := batch.DetectFormat([]byte(head)); got != want {
			t.Errorf("DetectFormat(%q) = %v, want %v", head, got, want)
		}
	}
	for s, want := range map[string]batch.Format{"csv": batch.CSV, "JSONL": batch.JSONLines, "ndjson": batch.JSONLines, "": batch.Auto, "auto": batch.Auto} {
		if got, err := batch.ParseFormat(s); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := batch.ParseFormat("xml"); healthcode.ErrorDetail(err) != "batch.format" {
		t.Errorf("ParseFormat(xml) error = %v", err)
	}
	if _, err := batch.NewReader(strings.NewReader("x"), batch.Format(9)).Next(); healthcode.ErrorDetail(err) != "batch.format" {
		t.Errorf("unknown format: %v", err)
	}
}

type failingReader struct{ after int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk on fire")
	}
	n := copy(p[:min(len(p), f.after)], strings.Repeat("tube_id,result\n", 10))
	f.after -= n
	return n, nil
}

func TestReadErrorIsFatal(t *testing.T) {
	t.Parallel()
	r := batch.NewReader(&failingReader{after: 50}, batch.CSV)
	_, err := readAll(t, r)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("error = %v, want the reader's", err)
	}
}

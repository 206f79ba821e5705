package batch_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"healthcode"
	"healthcode/batch"
)

const (
	id1 = "11010519491231002X" // the example of GB 11643
	id2 = "410104196504307132"
)

var cst = time.FixedZone("", 8*3600)

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

func nat(sample, id, res string, at time.Time) *batch.Row {
	return &batch.Row{SampleID: sample, IDNumber: id, Kind: healthcode.NucleicAcidTest, Result: res, CollectedAt: at}
}

func pooled(r *batch.Row, pool string) *batch.Row {
	r.Pooled, r.PoolID = true, pool
	return r
}

var t0 = time.Date(2022, 5, 1, 8, 30, 0, 0, cst)

func TestCSV(t *testing.T) {
	t.Parallel()
	const head = "sample_id,id_number,kind,result,collected_at,pooled,pool_id\n"
	tests := []struct {
		name  string
		input string
		want  []result
		fatal string // detail of a fatal error
	}{
		{"plain", head + "S1," + id1 + ",nucleic_acid_test,negative,2022-05-01T08:30:00+08:00,,\n",
			[]result{{Line: 2, Row: nat("S1", id1, "negative", t0)}}, ""},
		{"no final newline", head + "S1," + id1 + ",,negative,2022-05-01T08:30:00+08:00,,",
			[]result{{Line: 2, Row: nat("S1", id1, "negative", t0)}}, ""},
		{"CRLF", strings.ReplaceAll(head+"S1,"+id1+",,POSITIVE,2022-05-01T00:30:00Z,true,T9\n", "\n", "\r\n"),
			[]result{{Line: 2, Row: pooled(nat("S1", id1, "positive", t0), "T9")}}, ""},
		{"BOM", "\xEF\xBB\xBF" + head + "S1," + id1 + ",,negative,2022-05-01T08:30:00+08:00,false,\n",
			[]result{{Line: 2, Row: nat("S1", id1, "negative", t0)}}, ""},
		{"blank lines", "\n  \n" + head + "\n\r\nS1," + id1 + ",,negative,2022-05-01T08:30:00+08:00,,\n\n",
			[]result{{Line: 6, Row: nat("S1", id1, "negative", t0)}}, ""},
		{"quoted fields", head + `"S,1"," ` + id1 + `",,"neg` + `ative", "2022-05-01T08:30:00+08:00" ,"1","T""9"""` + "\n",
			[]result{{Line: 2, Row: pooled(nat("S,1", id1, "negative", t0), `T"9"`)}}, ""},
		{"other column order, minimal columns", " Result , COLLECTED_AT,id_number,sample_id\nnegative,2022-05-01T08:30:00+08:00," + strings.ToLower(id1) + ",S1\n",
			[]result{{Line: 2, Row: nat("S1", id1, "negative", t0)}}, ""},
		{"antigen", head + "S1," + id2 + ",antigen_test,positive,2022-05-01T08:30:00.5+08:00,,\n",
			[]result{{Line: 2, Row: &batch.Row{SampleID: "S1", IDNumber: id2, Kind: healthcode.AntigenTest, Result: "positive", CollectedAt: t0.Add(500 * time.Millisecond)}}}, ""},
		{"pool id implies pooled", head + "S1," + id1 + ",,negative,2022-05-01T08:30:00+08:00,,T1\n",
			[]result{{Line: 2, Row: pooled(nat("S1", id1, "negative", t0), "T1")}}, ""},
		{"bad rows do not stop the stream", head +
			"S1," + id1 + ",,negative,2022-05-01T08:30:00+08:00,,\n" +
			"S2,410104196504307133,,negative,2022-05-01T08:30:00+08:00,,\n" + // check digit
			"S3,41010419650430713,,negative,2022-05-01T08:30:00+08:00,,\n" + // too short
			"S4," + id1 + ",,maybe,2022-05-01T08:30:00+08:00,,\n" +
			"S5," + id1 + ",,negative,2022-05-01 08:30,,\n" +
			"S6," + id1 + ",,negative,2022-05-01T08:30:00,,\n" + // no zone
			"S7," + id1 + ",vaccination,negative,2022-05-01T08:30:00+08:00,,\n" +
			"S8," + id1 + ",,negative,2022-05-01T08:30:00+08:00,true,\n" +
			"S9," + id1 + ",,negative,2022-05-01T08:30:00+08:00,false,T1\n" +
			"S10," + id1 + ",,negative,2022-05-01T08:30:00+08:00,perhaps,\n" +
			"S11," + id1 + ",antigen_test,negative,2022-05-01T08:30:00+08:00,true,T1\n" +
			"," + id1 + ",,negative,2022-05-01T08:30:00+08:00,,\n" +
			"S13,,,negative,2022-05-01T08:30:00+08:00,,\n" +
			"S14," + id1 + ",,negative,2022-05-01T08:30:00+08:00\n" +
			"S15," + id1 + ",,negative,2022-05-01T08:30:00+08:00,,,\n" +
			`"S16,` + id1 + ",,negative,2022-05-01T08:30:00+08:00,,\n" +
			`S"17,` + id1 + ",,negative,2022-05-01T08:30:00+08:00,,\n" +
			`"S18"x,` + id1 + ",,negative,2022-05-01T08:30:00+08:00,,\n" +
			strings.Repeat("S", 129) + "," + id1 + ",,negative,2022-05-01T08:30:00+08:00,,\n" +
			"S\x0120," + id1 + ",,negative,2022-05-01T08:30:00+08:00,,\n" +
			"S21,010105194912310023,,negative,2022-05-01T08:30:00+08:00,,\n" +
			"S22,110105194902300020,,negative,2022-05-01T08:30:00+08:00,,\n" +
			strings.Repeat("x", batch.MaxLineBytes+1) + "\n" +
			strings.Repeat("x", 3*batch.MaxLineBytes) + "\n" +
			"S25," + id2 + ",,negative,2022-05-01T08:30:00+08:00,,\n" +
			"S26," + id2 + ",,positive,2019-11-30T23:59:59Z,,\n" + // before healthcode.Epoch
			"S27," + id2 + ",,positive,0000-01-01T00:00:00Z,,\n",
			[]result{
				{Line: 2, Row: nat("S1", id1, "negative", t0)},
				{Line: 3, Detail: "batch.id_checksum"},
				{Line: 4, Detail: "batch.id_number"},
				{Line: 5, Detail: "batch.result"},
				{Line: 6, Detail: "batch.collected_at"},
				{Line: 7, Detail: "batch.collected_at"},
				{Line: 8, Detail: "batch.kind"},
				{Line: 9, Detail: "batch.pool_id"},
				{Line: 10, Detail: "batch.pool_id"},
				{Line: 11, Detail: "batch.pooled"},
				{Line: 12, Detail: "batch.pooled"},
				{Line: 13, Detail: "batch.missing"},
				{Line: 14, Detail: "batch.missing"},
				{Line: 15, Detail: "batch.fields"},
				{Line: 16, Detail: "batch.fields"},
				{Line: 17, Detail: "batch.quote"},
				{Line: 18, Detail: "batch.quote"},
				{Line: 19, Detail: "batch.quote"},
				{Line: 20, Detail: "batch.sample_id"},
				{Line: 21, Detail: "batch.sample_id"},
				{Line: 22, Detail: "batch.id_number"},
				{Line: 23, Detail: "batch.id_number"},
				{Line: 24, Detail: "batch.line_too_long"},
				{Line: 25, Detail: "batch.line_too_long"},
				{Line: 26, Row: nat("S25", id2, "negative", t0)},
				{Line: 27, Detail: "batch.collected_at"},
				{Line: 28, Detail: "batch.collected_at"},
			}, ""},
		{"empty file", "", nil, ""},
		{"header only", head, nil, ""},
		{"missing column", "sample_id,id_number,result\nS1," + id1 + ",negative\n", nil, "batch.header"},
		{"unknown column", "sample_id,id_number,result,collected_at,note\n", nil, "batch.header"},
		{"repeated column", "sample_id,id_number,result,collected_at,result\n", nil, "batch.header"},
		{"data without header", "S1," + id1 + ",,negative,2022-05-01T08:30:00+08:00,,\n", nil, "batch.header"},
		{"bad quote in header", `"sample_id,id_number` + "\n", nil, "batch.header"},
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
	ok := `"sample_id":"S1","id_number":"` + id1 + `","collected_at":"2022-05-01T08:30:00+08:00"`
	tests := []struct {
		name  string
		input string
		want  []result
	}{
		{"plain", line(`{` + ok + `,"result":"negative"}`), []result{{Line: 1, Row: nat("S1", id1, "negative", t0)}}},
		{"all fields", line(`{` + ok + `,"kind":"nucleic_acid_test","result":"positive","pooled":true,"pool_id":"T1"}`),
			[]result{{Line: 1, Row: pooled(nat("S1", id1, "positive", t0), "T1")}}},
		{"pooled as a string, CRLF, BOM, blank lines", "\xEF\xBB\xBF\r\n" + `{` + ok + `,"result":"negative","pooled":"true","pool_id":"T1"}` + "\r\n\r\n",
			[]result{{Line: 2, Row: pooled(nat("S1", id1, "negative", t0), "T1")}}},
		{"nulls are absent", line(`{` + ok + `,"result":"negative","pooled":null,"pool_id":null,"kind":null}`),
			[]result{{Line: 1, Row: nat("S1", id1, "negative", t0)}}},
		{"no final newline", `{` + ok + `,"result":"negative"}`, []result{{Line: 1, Row: nat("S1", id1, "negative", t0)}}},
		{"bad rows do not stop the stream",
			line(`{`+ok+`,"result":"negative"}`) +
				line(`{`+ok+`}`) +
				line(`{`+ok+`,"result":"negative","extra":1}`) +
				line(`{`+ok+`,"result":1}`) +
				line(`{`+ok+`,"result":"negative"`) +
				line(`{`+ok+`,"result":"negative"} {}`) +
				line(`[1,2]`) +
				line(`"text"`) +
				line(`sample_id,id_number`) +
				line(`{`+ok+`,"result":"negative","pooled":3}`) +
				line(`{`+ok+`,"result":"negative","pooled":"yes"}`) +
				line(`{`+ok+`,"result":"negative","pooled":true}`) +
				line(`{"sample_id":"S1","id_number":"410104196504307133","collected_at":"2022-05-01T08:30:00+08:00","result":"negative"}`) +
				line(`{"sample_id":"S1","id_number":"`+id1+`","collected_at":"yesterday","result":"negative"}`) +
				line(`{`+ok+`,"result":"negative","kind":"antigen_test","pool_id":"T1"}`) +
				line(`{`+ok+`,"result":"negative","pooled":"nope`) +
				strings.Repeat(" ", batch.MaxLineBytes+1) + "{}\n" +
				line(`{`+ok+`,"result":"positive"}`),
			[]result{
				{Line: 1, Row: nat("S1", id1, "negative", t0)},
				{Line: 2, Detail: "batch.missing"},
				{Line: 3, Detail: "batch.json"},
				{Line: 4, Detail: "batch.json"},
				{Line: 5, Detail: "batch.json"},
				{Line: 6, Detail: "batch.json"},
				{Line: 7, Detail: "batch.json"},
				{Line: 8, Detail: "batch.json"},
				{Line: 9, Detail: "batch.json"},
				{Line: 10, Detail: "batch.pooled"},
				{Line: 11, Detail: "batch.pooled"},
				{Line: 12, Detail: "batch.pool_id"},
				{Line: 13, Detail: "batch.id_checksum"},
				{Line: 14, Detail: "batch.collected_at"},
				{Line: 15, Detail: "batch.pooled"},
				{Line: 16, Detail: "batch.json"},
				{Line: 17, Detail: "batch.line_too_long"},
				{Line: 18, Row: nat("S1", id1, "positive", t0)},
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
	in := "sample_id,id_number,result,collected_at\nS1,410104196504307133,negative,2022-05-01T08:30:00+08:00\nS2," + id1 + ",negative,noon\n"
	r := batch.NewReader(strings.NewReader(in), batch.CSV)
	var msgs []string
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		msgs = append(msgs, healthcode.ErrorMessage(err))
	}
	want := []string{
		"line 2: id_number: the check digit is wrong",
		`line 3: collected_at "noon" is not an RFC 3339 time such as 2022-05-01T08:30:00+08:00`,
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	for _, m := range msgs {
		if strings.Contains(m, "410104196504307133") {
			t.Errorf("message %q repeats the ID number", m)
		}
	}
}

func TestHeaderErrorHidesData(t *testing.T) {
	t.Parallel()
	_, err := batch.NewReader(strings.NewReader(id1+",S1,negative\n"), batch.CSV).Next()
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
			r := nat("S"+string(rune('A'+i)), id1, "negative", t0.Add(time.Duration(i)*time.Minute))
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
		*nat("S1", id1, "negative", t0),
		*pooled(nat(` "quoted, with comma" `, id2, "positive", t0.Add(1234567*time.Nanosecond)), `T"1`),
		{SampleID: "样本-3", IDNumber: id2, Kind: healthcode.AntigenTest, Result: "negative", CollectedAt: t0.UTC()},
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
	if err := w.Write(batch.Row{SampleID: "a\nb"}); healthcode.ErrorDetail(err) != "batch.line_break" {
		t.Errorf("writing a line break: %v", err)
	}
}

func TestEvidence(t *testing.T) {
	t.Parallel()
	lab := healthcode.Principal{ID: "lab-001", Name: "郑州市疾病预防控制中心", Role: healthcode.RoleLab}
	r := pooled(nat("S1", id1, "positive", t0), "T1")
	got := r.Evidence(lab)
	want := healthcode.Evidence{Kind: healthcode.NucleicAcidTest, Submitter: "lab-001", SubmitterName: lab.Name,
		SubmitterRole: healthcode.RoleLab, ExternalID: "S1", ObservedAt: t0, Result: "positive", Pooled: true, PoolID: "T1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Evidence (-want +got):\n%s", diff)
	}
	got.Subject = "pabc"
	if err := got.Validate(t0.Add(time.Hour)); err != nil {
		t.Errorf("evidence of a good row does not validate: %v", err)
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
		"{": batch.JSONLines, "\xEF\xBB\xBF \r\n\t{\"a\"": batch.JSONLines, "sample_id": batch.CSV, "": batch.CSV, "\"{": batch.CSV,
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
	n := copy(p[:min(len(p), f.after)], strings.Repeat("sample_id,id_number,result,collected_at\n", 10))
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

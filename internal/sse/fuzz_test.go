package sse

import (
	"bytes"
	"io"
	"testing"
)

// refParse is a deliberately naive, whole-input implementation of the SSE
// parsing rules, used as an oracle. It returns only events that carry a
// name or data (what a consumer acts on).
func refParse(in []byte) []ev {
	in = bytes.TrimPrefix(in, utf8BOM)
	var out []ev
	var cur ev
	cur.NoData = true
	lines := false
	flush := func() {
		if lines && (cur.Name != "" || !cur.NoData) {
			out = append(out, cur)
		}
		cur, lines = ev{NoData: true}, false
	}
	for len(in) > 0 {
		i := bytes.IndexAny(in, "\r\n")
		var line []byte
		if i < 0 {
			line, in = in, nil
		} else {
			line = in[:i]
			if in[i] == '\r' && i+1 < len(in) && in[i+1] == '\n' {
				i++
			}
			in = in[i+1:]
		}
		if len(line) == 0 {
			flush()
			continue
		}
		lines = true
		if line[0] == ':' {
			continue
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if found {
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(name) {
		case "event":
			cur.Name = string(value)
		case "data":
			if cur.NoData {
				cur.Data, cur.NoData = string(value), false
			} else {
				cur.Data += "\n" + string(value)
			}
		}
	}
	flush()
	return out
}

// chunkReader returns the input in chunks whose sizes cycle through sizes.
type chunkReader struct {
	data  []byte
	sizes []byte
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)])%16 + 1
		c.i++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func FuzzReader(f *testing.F) {
	seeds := []string{
		"data: {\"choices\":[]}\n\ndata: [DONE]\n\n",
		"event: message_start\r\ndata: {}\r\n\r\n: ping\r\n\r\n",
		"event: a\rdata: 1\r\rdata\r\r",
		"\xEF\xBB\xBFdata: x\n\nid: 1\nretry: 5\nfoo\n\n\n\n",
		"data: a\r\n\r\ndata: b\r\n\r",
		"data: cut",
		"\r\r\n\n\r",
	}
	for _, s := range seeds {
		f.Add([]byte(s), []byte{0})
		f.Add([]byte(s), []byte{3, 0, 7})
	}
	f.Fuzz(func(t *testing.T, in, sizes []byte) {
		r := NewReader(&chunkReader{data: in, sizes: sizes})
		var raw bytes.Buffer
		var got []ev
		for {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if len(e.Raw) == 0 {
				t.Fatal("empty event returned")
			}
			raw.Write(e.Raw)
			got = append(got, copyEvent(e))
		}
		if !bytes.Equal(raw.Bytes(), in) {
			t.Fatalf("concatenated Raw differs from input\n got: %q\n  in: %q", raw.Bytes(), in)
		}
		if g, w := fields(got), refParse(in); !equalEvents(g, w) {
			t.Fatalf("parse differs from reference\n got: %v\nwant: %v", g, w)
		}
	})
}

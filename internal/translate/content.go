package translate

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Shapes shared by both directions: images, files, tool-call arguments and
// ids.

// dataURL splits "data:<media type>;base64,<data>". ok is false for any
// other URL (including non-base64 data URLs).
func dataURL(u string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	mediaType, found = strings.CutSuffix(meta, ";base64")
	if !found {
		return "", "", false
	}
	// Parameters such as ";charset=utf-8" are not part of the media type.
	mediaType, _, _ = strings.Cut(mediaType, ";")
	return mediaType, data, true
}

// imageBlock turns an OpenAI image URL (https or base64 data URL) into an
// Anthropic image block.
func imageBlock(u string) obj {
	src := obj{}
	if mt, data, ok := dataURL(u); ok {
		src.set("type", "base64")
		src.set("media_type", mt)
		src.set("data", data)
	} else {
		src.set("type", "url")
		src.set("url", u)
	}
	return obj{{"type", "image"}, {"source", src}}
}

// fileBlock turns an OpenAI file part carrying file_data (a base64 data
// URL) into an Anthropic document block: PDFs as base64, text as a text
// source. ok is false for anything else (file ids, other media types).
func fileBlock(fileData, filename string) (obj, bool) {
	mt, data, ok := dataURL(fileData)
	if !ok {
		return nil, false
	}
	src := obj{}
	switch {
	case mt == "application/pdf":
		src.set("type", "base64")
		src.set("media_type", mt)
		src.set("data", data)
	case strings.HasPrefix(mt, "text/"):
		text, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return nil, false
		}
		src.set("type", "text")
		src.set("media_type", "text/plain")
		src.set("data", string(text))
	default:
		return nil, false
	}
	b := obj{{"type", "document"}, {"source", src}}
	if filename != "" {
		b.set("title", filename)
	}
	return b, true
}

// imagePart turns an Anthropic image source into an OpenAI image_url part.
// ok is false for sources OpenAI cannot take (Files API ids).
func imagePart(src *source) (obj, bool) {
	var u string
	switch {
	case src == nil:
		return nil, false
	case src.Type == "base64":
		u = "data:" + src.MediaType + ";base64," + src.Data
	case src.Type == "url":
		u = src.URL
	default:
		return nil, false
	}
	return obj{{"type", "image_url"}, {"image_url", obj{{"url", u}}}}, true
}

// documentPart turns an Anthropic document block into an OpenAI part: a
// base64 PDF as a file part, a text (or content) source as a text part. ok
// is false for URL and Files API sources, which OpenAI chat cannot fetch.
func documentPart(b *block) (obj, bool) {
	src := b.Source
	if src == nil {
		return nil, false
	}
	switch src.Type {
	case "base64":
		if src.MediaType != "application/pdf" {
			return nil, false
		}
		name := b.Title
		if name == "" {
			name = "document.pdf"
		}
		return obj{{"type", "file"}, {"file", obj{
			{"filename", name},
			{"file_data", "data:application/pdf;base64," + src.Data},
		}}}, true
	case "text":
		return textPart(src.Data), true
	case "content":
		if s, ok := stringValue(src.Content); ok {
			return textPart(s), true
		}
		var blocks []block
		if json.Unmarshal(src.Content, &blocks) != nil {
			return nil, false
		}
		var sb strings.Builder
		for _, c := range blocks {
			if c.Type == "text" {
				if sb.Len() > 0 {
					sb.WriteString("\n")
				}
				sb.WriteString(c.Text)
			}
		}
		return textPart(sb.String()), true
	}
	return nil, false
}

func textPart(s string) obj {
	return obj{{"type", "text"}, {"text", s}}
}

func textBlock(s string) obj {
	return obj{{"type", "text"}, {"text", s}}
}

// toolInput turns OpenAI tool-call arguments (a JSON string) into the
// object Anthropic wants as tool_use input. Empty arguments are {}; so are
// arguments that are not a JSON object (a truncated call): Anthropic
// accepts nothing else.
func toolInput(args string) json.RawMessage {
	raw := json.RawMessage(strings.TrimSpace(args))
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return json.RawMessage("{}")
	}
	return compact(raw)
}

// toolArguments turns an Anthropic tool_use input into OpenAI's JSON
// string of arguments.
func toolArguments(input json.RawMessage) string {
	if isNull(input) {
		return "{}"
	}
	return string(compact(input))
}

// toolID makes a tool-call id acceptable to Anthropic, which wants
// ^[a-zA-Z0-9_-]+$; other characters become '_'. The mapping is the same
// for a call and its result, so they still match.
func toolID(id string) string {
	ok := true
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			ok = false
			break
		}
	}
	if ok {
		return id
	}
	b := []byte(id)
	for i := range b {
		if !idChar(b[i]) {
			b[i] = '_'
		}
	}
	return string(b)
}

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// source is an Anthropic image or document source.
type source struct {
	Type      string          `json:"type"`
	MediaType string          `json:"media_type"`
	Data      string          `json:"data"`
	URL       string          `json:"url"`
	FileID    string          `json:"file_id"`
	Content   json.RawMessage `json:"content"`
}

// block is an Anthropic content block as read from a request or response;
// only the members of its type are set.
type block struct {
	Type         string          `json:"type"`
	Text         string          `json:"text"`
	Source       *source         `json:"source"`
	Title        string          `json:"title"`
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Input        json.RawMessage `json:"input"`
	ToolUseID    string          `json:"tool_use_id"`
	Content      json.RawMessage `json:"content"` // tool_result: string or blocks
	IsError      bool            `json:"is_error"`
	Thinking     string          `json:"thinking"`
	Signature    string          `json:"signature"`
	CacheControl json.RawMessage `json:"cache_control"`
}

// anthropicContent decodes Anthropic message content (a string or an array
// of blocks) into blocks.
func anthropicContent(raw json.RawMessage) ([]block, error) {
	if isNull(raw) {
		return nil, nil
	}
	if s, ok := stringValue(raw); ok {
		return []block{{Type: "text", Text: s}}, nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(raw, &raws); err != nil {
		return nil, err
	}
	blocks := make([]block, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &blocks[i]); err != nil {
			// A block type this package does not translate may use the
			// member names differently (search_result's source is a
			// string); only its type matters then.
			var b struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(r, &b) != nil || translated(b.Type) {
				return nil, err
			}
			blocks[i] = block{Type: b.Type}
		}
	}
	return blocks, nil
}

// translated reports whether an Anthropic block type is one this package
// translates, rather than drops.
func translated(typ string) bool {
	switch typ {
	case "text", "image", "document", "tool_use", "tool_result", "thinking":
		return true
	}
	return false
}

// chatPart is an OpenAI message content part.
type chatPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Refusal  string          `json:"refusal"`
	ImageURL json.RawMessage `json:"image_url"` // {"url": ...}; a bare string from lenient clients
	File     *struct {
		FileData string `json:"file_data"`
		FileID   string `json:"file_id"`
		Filename string `json:"filename"`
	} `json:"file"`
	// Not OpenAI's, but OpenRouter and LiteLLM clients put Anthropic's
	// cache breakpoints on parts; an Anthropic target honours them.
	CacheControl json.RawMessage `json:"cache_control"`
}

// chatContent decodes OpenAI message content (a string, an array of parts
// or null) into parts.
func chatContent(raw json.RawMessage) ([]chatPart, error) {
	if isNull(raw) {
		return nil, nil
	}
	if s, ok := stringValue(raw); ok {
		return []chatPart{{Type: "text", Text: s}}, nil
	}
	var parts []chatPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, err
	}
	return parts, nil
}

// imageURL returns the URL of an image_url part.
func (p *chatPart) imageURL() string {
	if s, ok := stringValue(p.ImageURL); ok {
		return s
	}
	var v struct {
		URL string `json:"url"`
	}
	_ = json.Unmarshal(p.ImageURL, &v)
	return v.URL
}

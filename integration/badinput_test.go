package integration

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// The bad-input suite: every malformed, mistyped, oversized or otherwise
// odd request is refused with the route's error shape and a stable code,
// and leaves no trace: no provider call, no charge or hold, no usage
// event, no ledger entry, no new resource. One Caddy serves each table;
// every data-plane case runs twice, through `ai_auth → ai_gateway` and
// through `ai_auth → ai_credits → ai_gateway` (under /metered/).

// badInputMaxBody is the gateway's max_request_body in these tests: large
// enough for 100k-deep nesting to reach the JSON parser, small enough to
// make oversized bodies cheap.
const badInputMaxBody = 1 << 20

func badInputConfig(e *env) string {
	gw := "ai_gateway {\n\t\t\tmax_request_body 1MiB\n\t\t}"
	return e.caddyfile(cfgOpts{site: "handle /metered/* {\n\t\tai_auth\n\t\tai_credits\n\t\t" + gw + "\n\t}\n\thandle {\n\t\tai_auth\n\t\t" + gw + "\n\t}"})
}

// ---------------------------------------------------------------------------
// Side effects: everything a refused request must leave untouched, read
// through the management API.

type sideEffects struct {
	providerCalls int
	// balances and transactions are the raw answers per account.
	balances     map[string]string
	transactions map[string]string
	// usage is the ids of every usage event in the window.
	usage string
	// lists is the ids (data plane) or the raw answer (management) of each
	// resource list.
	lists map[string]string
}

// watch names what a suite reads for side effects.
type watch struct {
	accounts []string
	lists    []string
	rawLists bool // compare whole answers (management), not only ids
	from, to string
}

func newWatch(accounts []string, lists []string, raw bool) watch {
	return watch{accounts: accounts, lists: lists, rawLists: raw,
		from: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), to: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
}

func (e *env) adminOK(path string) []byte {
	e.t.Helper()
	st, b := e.admin("GET", path, "")
	if st != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, st, b)
	}
	return b
}

// listIDs returns the ids of the items of a list answer, sorted, and
// whether more pages follow.
func listIDs(t *testing.T, b []byte) string {
	t.Helper()
	var v map[string]json.RawMessage
	mustJSON(t, b, &v)
	var ids []string
	for k, raw := range v {
		if k == "uri" || k == "nextPageUri" {
			continue
		}
		var items []struct{ ID string }
		if err := json.Unmarshal(raw, &items); err == nil {
			for _, it := range items {
				ids = append(ids, it.ID)
			}
		}
	}
	sort.Strings(ids)
	more := ""
	if string(v["nextPageUri"]) != "null" && len(v["nextPageUri"]) > 0 {
		more = " (more)"
	}
	return strings.Join(ids, ",") + more
}

func (e *env) sideEffects(w watch) sideEffects {
	e.t.Helper()
	s := sideEffects{providerCalls: e.fake.Count(), balances: map[string]string{}, transactions: map[string]string{}, lists: map[string]string{}}
	for _, a := range w.accounts {
		s.balances[a] = string(e.adminOK("/ai/credits/balance?accountId=" + url.QueryEscape(a)))
		s.transactions[a] = string(e.adminOK("/ai/credits/transactions?limit=100&accountId=" + url.QueryEscape(a)))
	}
	s.usage = listIDs(e.t, e.adminOK("/ai/usage?includeRetries=true&limit=100&from="+url.QueryEscape(w.from)+"&to="+url.QueryEscape(w.to)))
	for _, l := range w.lists {
		b := e.adminOK(l)
		if w.rawLists {
			s.lists[l] = string(b)
		} else {
			s.lists[l] = listIDs(e.t, b)
		}
	}
	return s
}

// diff describes what changed between two readings; "" when nothing did.
func (s sideEffects) diff(after sideEffects) string {
	var out []string
	if after.providerCalls != s.providerCalls {
		out = append(out, "the provider was called")
	}
	for a, b := range s.balances {
		if after.balances[a] != b {
			out = append(out, "balance of "+a+" changed: "+b+" → "+after.balances[a])
		}
	}
	for a, b := range s.transactions {
		if after.transactions[a] != b {
			out = append(out, "ledger of "+a+" gained transactions")
		}
	}
	if after.usage != s.usage {
		out = append(out, "usage events were written")
	}
	for l, b := range s.lists {
		if after.lists[l] != b {
			out = append(out, l+" changed: "+b+" → "+after.lists[l])
		}
	}
	return strings.Join(out, "; ")
}

// ---------------------------------------------------------------------------
// Data plane.

// dpRoute is one data-plane route with a request it would serve.
type dpRoute struct {
	name      string
	path      string
	anthropic bool
	model     string // a catalog model the route serves
	other     string // another one, for duplicate members
	rest      string // the body's members after "model"; contains "hi"
}

var (
	chatRoute      = dpRoute{"chat", "/v1/chat/completions", false, "gpt-4o-mini", "claude-haiku-4-5", `"max_tokens":10,"messages":[{"role":"user","content":"hi"}]`}
	responsesRoute = dpRoute{"responses", "/v1/responses", false, "gpt-4o-mini", "gpt-4o", `"max_output_tokens":16,"input":"hi"`}
	embedRoute     = dpRoute{"embeddings", "/v1/embeddings", false, "text-embedding-3-small", "text-embedding-3-large", `"input":"hi"`}
	messagesRoute  = dpRoute{"messages", "/v1/messages", true, "claude-haiku-4-5", "gpt-4o-mini", `"max_tokens":10,"messages":[{"role":"user","content":"hi"}]`}
	countRoute     = dpRoute{"count_tokens", "/v1/messages/count_tokens", true, "claude-haiku-4-5", "claude-sonnet-4-6", `"messages":[{"role":"user","content":"hi"}]`}
)

func (r dpRoute) body(model string) string { return `{"model":` + model + `,` + r.rest + `}` }
func (r dpRoute) valid() string            { return r.body(`"` + r.model + `"`) }

// dpCase is one refused data-plane request.
type dpCase struct {
	name   string
	method string // default POST
	path   string
	body   string
	// chunked sends the body without a Content-Length.
	chunked bool
	// hdr replaces the default headers (the route's key header and
	// Content-Type: application/json); it gets the test's access key.
	hdr    func(token string) http.Header
	status int
	code   string
}

func defaultHeaders(path, token string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if strings.Contains(path, "/messages") {
		h.Set("X-Api-Key", token)
		h.Set("Anthropic-Version", "2023-06-01")
	} else {
		h.Set("Authorization", "Bearer "+token)
	}
	return h
}

// hdrs builds a header set; values of repeated names are all sent.
func hdrs(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func nested(open, close string, n int) string {
	return strings.Repeat(open, n) + strings.Repeat(close, n)
}

// genericCases are the malformed bodies, bad headers and methods every
// route refuses the same way.
func genericCases(r dpRoute) []dpCase {
	c := func(name, body string, status int, code string) dpCase {
		return dpCase{name: r.name + "/" + name, path: r.path, body: body, status: status, code: code}
	}
	with := func(name, header, value string) dpCase {
		return dpCase{name: r.name + "/" + name, path: r.path, body: r.valid(), status: 401, code: "invalid_access_key",
			hdr: func(tok string) http.Header {
				h := hdrs("Content-Type", "application/json", "Anthropic-Version", "2023-06-01")
				if header != "" {
					h.Add(header, strings.ReplaceAll(value, "TOKEN", tok))
				}
				return h
			}}
	}
	valid := r.valid()
	model := `"` + r.model + `"`
	huge := `{"model":` + model + `,` + r.rest + `,"pad":"` + strings.Repeat("x", badInputMaxBody) + `"}`
	cases := []dpCase{
		// syntax
		c("truncated JSON", `{"model":`, 400, "invalid_request"),
		c("empty body", ``, 400, "invalid_request"),
		c("whitespace body", " \n\t ", 400, "invalid_request"),
		c("top-level array", `[`+valid+`]`, 400, "invalid_request"),
		c("top-level string", `"`+r.model+`"`, 400, "invalid_request"),
		c("top-level number", `42`, 400, "invalid_request"),
		c("top-level null", `null`, 400, "invalid_request"),
		c("trailing garbage", valid+` x`, 400, "invalid_request"),
		c("two objects", valid+valid, 400, "invalid_request"),
		c("byte order mark", "\xef\xbb\xbf"+valid, 400, "invalid_request"),
		c("single quotes", strings.ReplaceAll(valid, `"`, `'`), 400, "invalid_request"),
		c("comment", `{/* gateway */"model":`+model+`,`+r.rest+`}`, 400, "invalid_request"),
		c("trailing comma", `{"model":`+model+`,`+r.rest+`,}`, 400, "invalid_request"),
		c("NaN literal", `{"model":`+model+`,`+r.rest+`,"temperature":NaN}`, 400, "invalid_request"),
		c("raw control character in string", strings.Replace(valid, `"hi"`, "\"h\x01i\"", 1), 400, "invalid_request"),
		c("raw NUL in string", strings.Replace(valid, `"hi"`, "\"h\x00i\"", 1), 400, "invalid_request"),
		c("invalid UTF-8 in content", strings.Replace(valid, `"hi"`, "\"hi\xff\xfe\"", 1), 400, "invalid_request"),
		c("invalid UTF-8 in model", r.body(`"`+r.model+"\xc3\x28\""), 400, "invalid_request"),
		c("100k nested arrays", `{"model":`+model+`,`+r.rest+`,"x":`+nested("[", "]", 100_000)+`}`, 400, "invalid_request"),
		c("100k nested objects", `{"model":`+model+`,`+r.rest+`,"x":`+strings.Repeat(`{"a":`, 100_000)+"1"+strings.Repeat("}", 100_000)+`}`, 400, "invalid_request"),
		// types of the members the gateway reads
		c("model as number", r.body(`5`), 400, "invalid_request"),
		c("model as array", r.body(`["`+r.model+`"]`), 400, "invalid_request"),
		c("model as object", r.body(`{"id":"`+r.model+`"}`), 400, "invalid_request"),
		c("model as boolean", r.body(`true`), 400, "invalid_request"),
		c("models as string", `{"model":`+model+`,"models":"`+r.other+`",`+r.rest+`}`, 400, "invalid_request"),
		c("models of numbers", `{"model":`+model+`,"models":[1,2],`+r.rest+`}`, 400, "invalid_request"),
		c("models as object", `{"model":`+model+`,"models":{"0":"`+r.other+`"},`+r.rest+`}`, 400, "invalid_request"),
		c("stream as string", `{"model":`+model+`,"stream":"true",`+r.rest+`}`, 400, "invalid_request"),
		c("stream as number", `{"model":`+model+`,"stream":1,`+r.rest+`}`, 400, "invalid_request"),
		// duplicate members: the gateway and the provider would read different requests
		c("duplicate model", `{"model":`+model+`,"model":"`+r.other+`",`+r.rest+`}`, 400, "invalid_request"),
		c("duplicate model differing in case", `{"model":`+model+`,"MODEL":"`+r.other+`",`+r.rest+`}`, 400, "invalid_request"),
		c("duplicate stream", `{"model":`+model+`,"stream":false,"stream":true,`+r.rest+`}`, 400, "invalid_request"),
		// models nobody serves
		c("unknown model", r.body(`"no-such-model-v0"`), 422, "no_matching_models"),
		c("provider with empty model", r.body(`"openai:"`), 422, "no_matching_models"),
		c("unknown provider", r.body(`"nobody:`+r.model+`"`), 422, "no_matching_models"),
		c("100k-character model", r.body(`"`+strings.Repeat("m", 100_000)+`"`), 422, "no_matching_models"),
		c("model with escaped NUL", r.body(`"`+r.model+`\u0000"`), 422, "no_matching_models"),
		// size
		c("body over max_request_body", huge, 413, "input_too_large"),
		{name: r.name + "/chunked body over max_request_body", path: r.path, body: huge, chunked: true, status: 413, code: "input_too_large"},
		// content types
		{name: r.name + "/form-encoded body", path: r.path, body: "model=" + r.model + "&input=hi", status: 400, code: "invalid_request",
			hdr: func(tok string) http.Header {
				h := defaultHeaders(r.path, tok)
				h.Set("Content-Type", "application/x-www-form-urlencoded")
				return h
			}},
		{name: r.name + "/multipart body", path: r.path, body: "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" + r.model + "\r\n--b--\r\n", status: 400, code: "invalid_request",
			hdr: func(tok string) http.Header {
				h := defaultHeaders(r.path, tok)
				h.Set("Content-Type", "multipart/form-data; boundary=b")
				return h
			}},
		{name: r.name + "/gzip body", path: r.path, body: gzipped(valid), status: 400, code: "invalid_request",
			hdr: func(tok string) http.Header {
				h := defaultHeaders(r.path, tok)
				h.Set("Content-Encoding", "gzip")
				return h
			}},
		// access keys
		with("no key", "", ""),
		with("empty bearer", "Authorization", "Bearer "),
		with("bearer of spaces", "Authorization", "Bearer    "),
		with("scheme without token", "Authorization", "Bearer"),
		with("token without scheme", "Authorization", "TOKEN"),
		with("basic auth", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("user:TOKEN"))),
		with("token scheme", "Authorization", "Token TOKEN"),
		with("azure api-key header", "Api-Key", "TOKEN"),
		with("bearer inside x-api-key", "X-Api-Key", "Bearer TOKEN"),
		with("tampered key", "Authorization", "Bearer TOKENx"),
		with("truncated key", "Authorization", "Bearer cag_"),
		with("management key", "Authorization", "Bearer "+adminKey),
		{name: r.name + "/two Authorization headers, valid first", path: r.path, body: valid, status: 401, code: "invalid_access_key",
			hdr: func(tok string) http.Header {
				return hdrs("Content-Type", "application/json", "Anthropic-Version", "2023-06-01", "Authorization", "Bearer "+tok, "Authorization", "Bearer cag_forged")
			}},
		{name: r.name + "/two Authorization headers, valid last", path: r.path, body: valid, status: 401, code: "invalid_access_key",
			hdr: func(tok string) http.Header {
				return hdrs("Content-Type", "application/json", "Anthropic-Version", "2023-06-01", "Authorization", "Bearer cag_forged", "Authorization", "Bearer "+tok)
			}},
		{name: r.name + "/two x-api-key headers", path: r.path, body: valid, status: 401, code: "invalid_access_key",
			hdr: func(tok string) http.Header {
				return hdrs("Content-Type", "application/json", "Anthropic-Version", "2023-06-01", "X-Api-Key", tok, "X-Api-Key", "cag_forged")
			}},
		// methods and paths
		{name: r.name + "/GET", method: "GET", path: r.path, status: 405, code: "method_not_allowed"},
		{name: r.name + "/PUT", method: "PUT", path: r.path, body: valid, status: 405, code: "method_not_allowed"},
		{name: r.name + "/PATCH", method: "PATCH", path: r.path, body: valid, status: 405, code: "method_not_allowed"},
		{name: r.name + "/DELETE", method: "DELETE", path: r.path, status: 405, code: "method_not_allowed"},
		{name: r.name + "/OPTIONS", method: "OPTIONS", path: r.path, status: 405, code: "method_not_allowed"},
		{name: r.name + "/path with extra segment", path: r.path + "/extra", body: valid, status: 404, code: "not_found"},
		{name: r.name + "/path with id", path: r.path + "/req_123", body: valid, status: 404, code: "not_found"},
		{name: r.name + "/path typo", path: strings.TrimSuffix(r.path, "s") + "z", body: valid, status: 404, code: "not_found"},
		{name: r.name + "/path in upper case", path: strings.ToUpper(r.path), body: valid, status: 404, code: "not_found"},
		{name: r.name + "/v2 path", path: strings.Replace(r.path, "/v1/", "/v2/", 1), body: valid, status: 404, code: "not_found"},
	}
	return cases
}

func gzipped(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return b.String()
}

// maxTokensCases are the bad output limits of a route's limit member.
func maxTokensCases(r dpRoute, member string) []dpCase {
	c := func(name, value string) dpCase {
		return dpCase{name: r.name + "/" + member + " " + name, path: r.path, status: 400, code: "invalid_request",
			body: `{"model":"` + r.model + `","` + member + `":` + value + `,` + withoutLimit(r.rest) + `}`}
	}
	return []dpCase{
		c("as string", `"10"`),
		c("as float", `1.5`),
		c("as boolean", `true`),
		c("as array", `[10]`),
		c("as object", `{"value":10}`),
		c("zero", `0`),
		c("negative zero", `-0`),
		c("-1", `-1`),
		c("2e9", `2e9`),
		c("1e30", `1e30`),
		c("1e400", `1e400`),
		c("2^63", `9223372036854775808`),
		c("-2^63-1", `-9223372036854775809`),
		c("-2^63", `-9223372036854775808`),
	}
}

// withoutLimit removes the output limit member from a route's rest.
func withoutLimit(rest string) string {
	for _, m := range []string{`"max_tokens":10,`, `"max_output_tokens":16,`} {
		rest = strings.Replace(rest, m, "", 1)
	}
	return rest
}

func openAICases() []dpCase {
	var cases []dpCase
	for _, r := range []dpRoute{chatRoute, responsesRoute, embedRoute} {
		cases = append(cases, genericCases(r)...)
	}
	cases = append(cases, maxTokensCases(chatRoute, "max_tokens")...)
	cases = append(cases, maxTokensCases(chatRoute, "max_completion_tokens")...)
	cases = append(cases, maxTokensCases(responsesRoute, "max_output_tokens")...)
	c := func(r dpRoute, name, body string, status int, code string) dpCase {
		return dpCase{name: r.name + "/" + name, path: r.path, body: body, status: status, code: code}
	}
	msgs := `{"role":"user","content":"hi"}`
	cases = append(cases,
		// chat
		c(chatRoute, "max_tokens and MAX_TOKENS", `{"model":"gpt-4o-mini","max_tokens":10,"MAX_TOKENS":100000,"messages":[`+msgs+`]}`, 400, "invalid_request"),
		c(chatRoute, "max_tokens and Max_Tokens", `{"model":"gpt-4o-mini","Max_Tokens":100000,"max_tokens":10,"messages":[`+msgs+`]}`, 400, "invalid_request"),
		c(chatRoute, "max_tokens twice", `{"model":"gpt-4o-mini","max_tokens":10,"max_tokens":100000,"messages":[`+msgs+`]}`, 400, "invalid_request"),
		c(chatRoute, "stream_options as string", `{"model":"gpt-4o-mini","stream":true,"stream_options":"usage","messages":[`+msgs+`]}`, 400, "invalid_request"),
		c(chatRoute, "include_usage as string", `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":"yes"},"messages":[`+msgs+`]}`, 400, "invalid_request"),
		c(chatRoute, "messages as string", `{"model":"gpt-4o-mini","messages":"hi"}`, 400, "invalid_request"),
		c(chatRoute, "messages as object", `{"model":"gpt-4o-mini","messages":`+msgs+`}`, 400, "invalid_request"),
		c(chatRoute, "messages as number", `{"model":"gpt-4o-mini","messages":1}`, 400, "invalid_request"),
		c(chatRoute, "messages as string, translated", `{"model":"claude-haiku-4-5","max_tokens":10,"messages":"hi"}`, 400, "invalid_request"),
		// responses
		c(responsesRoute, "input as number", `{"model":"gpt-4o-mini","input":5}`, 400, "invalid_request"),
		c(responsesRoute, "input as object", `{"model":"gpt-4o-mini","input":{"text":"hi"}}`, 400, "invalid_request"),
		c(responsesRoute, "max_output_tokens and MAX_OUTPUT_TOKENS", `{"model":"gpt-4o-mini","max_output_tokens":16,"MAX_OUTPUT_TOKENS":100000,"input":"hi"}`, 400, "invalid_request"),
		c(responsesRoute, "claude on responses with previous_response_id", `{"model":"claude-haiku-4-5","input":"hi","previous_response_id":"resp_1"}`, 400, "invalid_request"),
		c(responsesRoute, "claude on responses with store true", `{"model":"claude-haiku-4-5","input":"hi","store":true}`, 400, "invalid_request"),
		// embeddings
		c(embedRoute, "no model", `{"input":"hi"}`, 400, "invalid_request"),
		c(embedRoute, "null model", `{"model":null,"input":"hi"}`, 400, "invalid_request"),
		c(embedRoute, "empty model", `{"model":"","input":"hi"}`, 400, "invalid_request"),
		c(embedRoute, "empty object", `{}`, 400, "invalid_request"),
		c(embedRoute, "input as object", `{"model":"text-embedding-3-small","input":{"text":"hi"}}`, 400, "invalid_request"),
		c(embedRoute, "input as boolean", `{"model":"text-embedding-3-small","input":true}`, 400, "invalid_request"),
		c(embedRoute, "chat model", `{"model":"claude-haiku-4-5","input":"hi"}`, 422, "no_matching_models"),
		// unknown routes of the OpenAI family
		dpCase{name: "openai/assistants", path: "/v1/assistants", body: `{}`, status: 404, code: "not_found"},
		dpCase{name: "openai/completions (legacy)", path: "/v1/completions", body: `{"model":"gpt-4o-mini","prompt":"hi"}`, status: 404, code: "not_found"},
		dpCase{name: "openai/bare /v1/", path: "/v1/", body: `{}`, status: 404, code: "not_found"},
		dpCase{name: "openai/root", path: "/", body: `{}`, status: 404, code: "not_found"},
		dpCase{name: "openai/POST models", path: "/v1/models", body: `{}`, status: 405, code: "method_not_allowed"},
		dpCase{name: "openai/DELETE model", method: "DELETE", path: "/v1/models/gpt-4o-mini", status: 405, code: "method_not_allowed"},
	)
	return cases
}

func anthropicCases() []dpCase {
	var cases []dpCase
	for _, r := range []dpRoute{messagesRoute, countRoute} {
		cases = append(cases, genericCases(r)...)
	}
	cases = append(cases, maxTokensCases(messagesRoute, "max_tokens")...)
	c := func(r dpRoute, name, body string, status int, code string) dpCase {
		return dpCase{name: r.name + "/" + name, path: r.path, body: body, status: status, code: code}
	}
	msgs := `{"role":"user","content":"hi"}`
	cases = append(cases,
		c(messagesRoute, "max_tokens and MAX_TOKENS", `{"model":"claude-haiku-4-5","max_tokens":10,"MAX_TOKENS":100000,"messages":[`+msgs+`]}`, 400, "invalid_request"),
		c(messagesRoute, "MAX_TOKENS before max_tokens", `{"model":"claude-haiku-4-5","MAX_TOKENS":100000,"max_tokens":10,"messages":[`+msgs+`]}`, 400, "invalid_request"),
		c(messagesRoute, "max_tokens twice", `{"model":"claude-haiku-4-5","max_tokens":10,"max_tokens":100000,"messages":[`+msgs+`]}`, 400, "invalid_request"),
		c(messagesRoute, "messages as string", `{"model":"claude-haiku-4-5","max_tokens":10,"messages":"hi"}`, 400, "invalid_request"),
		c(messagesRoute, "messages as object", `{"model":"claude-haiku-4-5","max_tokens":10,"messages":`+msgs+`}`, 400, "invalid_request"),
		c(messagesRoute, "messages as string, translated", `{"model":"gpt-4o-mini","max_tokens":10,"messages":"hi"}`, 400, "invalid_request"),
		c(messagesRoute, "system as number, translated", `{"model":"gpt-4o-mini","max_tokens":10,"system":5,"messages":[`+msgs+`]}`, 400, "invalid_request"),
		c(countRoute, "no model", `{"messages":[`+msgs+`]}`, 400, "invalid_request"),
		c(countRoute, "null model", `{"model":null,"messages":[`+msgs+`]}`, 400, "invalid_request"),
		c(countRoute, "empty model", `{"model":"","messages":[`+msgs+`]}`, 400, "invalid_request"),
		c(countRoute, "empty object", `{}`, 400, "invalid_request"),
		c(countRoute, "messages as string", `{"model":"claude-haiku-4-5","messages":"hi"}`, 400, "invalid_request"),
		// count_tokens for a model of another format is the gateway's
		// estimate (TestAnthropicMessages), not an error
		dpCase{name: "anthropic/message batches", path: "/v1/messages/batches", body: `{}`, status: 404, code: "not_found"},
		dpCase{name: "anthropic/count_tokens sub-path", path: "/v1/messages/count_tokens/x", body: `{}`, status: 404, code: "not_found"},
		dpCase{name: "anthropic/GET a message", method: "GET", path: "/v1/messages/msg_123", status: 404, code: "not_found"},
	)
	return cases
}

// ---------------------------------------------------------------------------
// Running the data-plane tables.

// badInputChain is one handler chain the tables run through.
type badInputChain struct {
	name   string
	prefix string
}

var badInputChains = []badInputChain{{"plain", ""}, {"credits", "/metered"}}

// startBadInput starts one gateway for a data-plane table: both chains,
// a funded default account, and one served request per route so the
// refusals below are not just an unreachable provider.
func startBadInput(t *testing.T, routes ...dpRoute) (*env, watch) {
	e := start(t, cfgOpts{})
	e.load(badInputConfig(e))
	e.buy("default", "10")
	for _, ch := range badInputChains {
		for _, r := range routes {
			resp, b := e.send("POST", ch.prefix+r.path, []byte(r.valid()), false, defaultHeaders(r.path, e.token))
			if resp.StatusCode != 200 {
				t.Fatalf("control %s %s: %d %s", ch.name, r.path, resp.StatusCode, b)
			}
			e.usageFor(resp.Header.Get("AI-Gateway-Request-Id"), 1)
		}
	}
	return e, newWatch([]string{"default"}, []string{"/ai/accounts?limit=100", "/ai/access-keys?limit=100"}, false)
}

// send sends one raw request to the data plane.
func (e *env) send(method, path string, body []byte, chunked bool, hdr http.Header) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
		if chunked {
			rd = io.MultiReader(rd) // hides the length: Transfer-Encoding: chunked
		}
	}
	req, err := http.NewRequest(method, "http://"+e.httpAddr+path, rd)
	if err != nil {
		e.t.Fatalf("%s %q: %v", method, path, err)
	}
	req.Header = hdr
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	b := readAll(e.t, resp)
	return resp, b
}

// checkDataPlaneError checks an error answer's shape for its route.
func checkDataPlaneError(t *testing.T, path string, resp *http.Response, b []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %.400s", resp.StatusCode, status, b)
	}
	if resp.Header.Get("AI-Gateway-Request-Id") == "" {
		t.Errorf("no AI-Gateway-Request-Id header")
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if status == 405 && resp.Header.Get("Allow") == "" {
		t.Errorf("405 without an Allow header")
	}
	if strings.Contains(path, "/messages") {
		var v struct {
			Type  string `json:"type"`
			Error *struct {
				Type    string `json:"type"`
				Message string `json:"message"`
				Code    string `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &v); err != nil || v.Type != "error" || v.Error == nil || v.Error.Message == "" {
			t.Fatalf("not an Anthropic error: %.400s", b)
		}
		if want := anthropicErrorType(status); v.Error.Type != want {
			t.Errorf("error.type %q, want %q", v.Error.Type, want)
		}
		if v.Error.Code != code {
			t.Errorf("error.code %q, want %q: %.400s", v.Error.Code, code, b)
		}
		return
	}
	var v struct {
		Error *struct {
			Message *string `json:"message"`
			Type    *string `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Error == nil || v.Error.Message == nil || *v.Error.Message == "" || v.Error.Type == nil || v.Error.Code == nil {
		t.Fatalf("not an OpenAI error: %.400s", b)
	}
	if want := openAIErrorType(status); *v.Error.Type != want {
		t.Errorf("error.type %q, want %q", *v.Error.Type, want)
	}
	if *v.Error.Code != code {
		t.Errorf("error.code %q, want %q: %.400s", *v.Error.Code, code, b)
	}
}

func openAIErrorType(status int) string {
	switch status {
	case 401:
		return "authentication_error"
	case 402:
		return "insufficient_quota"
	case 403:
		return "permission_error"
	}
	return "invalid_request_error"
}

func anthropicErrorType(status int) string {
	switch status {
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	}
	return "invalid_request_error"
}

// runDataPlane runs a table through both chains and then checks, once the
// usage writer had time to commit, that no refused request left a usage
// event.
func runDataPlane(t *testing.T, e *env, w watch, cases []dpCase) {
	t.Helper()
	began := time.Now()
	base := e.sideEffects(w)
	refused := map[string]string{} // request id → case
	for _, ch := range badInputChains {
		for _, c := range cases {
			t.Run(ch.name+"/"+c.name, func(t *testing.T) {
				e.t = t
				method := c.method
				if method == "" {
					method = "POST"
				}
				h := defaultHeaders(c.path, e.token)
				if c.hdr != nil {
					h = c.hdr(e.token)
				}
				var body []byte
				if c.body != "" || method == "POST" {
					body = []byte(c.body)
				}
				resp, b := e.send(method, ch.prefix+c.path, body, c.chunked, h)
				id := resp.Header.Get("AI-Gateway-Request-Id")
				refused[id] = ch.name + "/" + c.name
				after := e.sideEffects(w)
				if d := base.diff(after); d != "" {
					if after.providerCalls != base.providerCalls {
						e.waitUsage(id) // let its events land before the next case reads
						after = e.sideEffects(w)
					}
					base = after
					t.Errorf("side effects: %s (status %d %.300s)", d, resp.StatusCode, b)
				}
				checkDataPlaneError(t, c.path, resp, b, c.status, c.code)
			})
			e.t = t
		}
	}
	time.Sleep(100 * time.Millisecond) // > the usage writer's flush interval
	for id, name := range refused {
		if id == "" {
			continue
		}
		if st, b := e.admin("GET", "/ai/usage/requests/"+url.PathEscape(id), ""); st != 404 {
			t.Errorf("%s: request %s has usage events: %d %.300s", name, id, st, b)
		}
	}
	t.Logf("%d cases × %d chains in %v", len(cases), len(badInputChains), time.Since(began).Round(time.Millisecond))
}

// waitUsage waits until a request's usage events are committed.
func (e *env) waitUsage(id string) {
	for i := 0; i < 100; i++ {
		if st, _ := e.admin("GET", "/ai/usage/requests/"+url.PathEscape(id), ""); st == 200 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBadInputOpenAI(t *testing.T) {
	e, w := startBadInput(t, chatRoute, responsesRoute, embedRoute)
	runDataPlane(t, e, w, openAICases())
}

func TestBadInputAnthropic(t *testing.T) {
	e, w := startBadInput(t, messagesRoute, countRoute)
	runDataPlane(t, e, w, anthropicCases())
}

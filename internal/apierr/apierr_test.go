package apierr

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestShapes(t *testing.T) {
	tests := []struct {
		name    string
		format  Format
		err     *Error
		want    string
		wantTyp string
	}{
		{"openai 401", OpenAI, New(401, InvalidAccessKey, "bad key"), `{"error":{"message":"bad key","type":"authentication_error","param":null,"code":"invalid_access_key"}}`, ""},
		{"anthropic 401", Anthropic, New(401, InvalidAccessKey, "bad key"), `{"type":"error","error":{"type":"authentication_error","message":"bad key","code":"invalid_access_key"}}`, ""},
		{"openai 402", OpenAI, New(402, InsufficientCredits, "x"), "", "insufficient_quota"},
		{"anthropic 402", Anthropic, New(402, InsufficientCredits, "x"), "", "billing_error"},
		{"openai 429", OpenAI, New(429, RateLimited, "x"), "", "rate_limit_error"},
		{"anthropic 413", Anthropic, New(413, InputTooLarge, "x"), "", "request_too_large"},
		{"anthropic 404", Anthropic, New(404, NotFound, "x"), "", "not_found_error"},
		{"openai 504", OpenAI, New(504, TotalTimeout, "x"), "", "timeout_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, tt.format, tt.err)
			if rec.Code != tt.err.Status {
				t.Fatalf("status %d", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
			body := rec.Body.String()
			if tt.want != "" && body != tt.want {
				t.Fatalf("body\n got %s\nwant %s", body, tt.want)
			}
			if tt.wantTyp != "" {
				var v struct {
					Type  string
					Error struct{ Type, Code string }
				}
				if err := json.Unmarshal([]byte(body), &v); err != nil {
					t.Fatal(err)
				}
				if v.Error.Type != tt.wantTyp || v.Error.Code != tt.err.Code {
					t.Fatalf("type %q code %q in %s", v.Error.Type, v.Error.Code, body)
				}
				if tt.format == Anthropic && v.Type != "error" {
					t.Fatalf("anthropic top-level type %q", v.Type)
				}
			}
		})
	}
}

func TestAttemptsListed(t *testing.T) {
	e := New(http.StatusBadGateway, AllProvidersFailed, "all failed")
	e.Attempts = []Attempt{{Provider: "openai", Model: "gpt-4o", Status: 500}}
	var v openAIBody
	if err := json.Unmarshal(e.Body(OpenAI), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Error.Attempts) != 1 || v.Error.Attempts[0].Status != 500 {
		t.Fatalf("%+v", v)
	}
}

func TestAllFailed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		attempts []Attempt
		want     string
	}{
		{"none", nil, "no provider could serve the request"},
		{"status and error", []Attempt{{Provider: "openai", Model: "gpt-4o", Status: 500, Error: "boom"}},
			"no provider could serve the request: openai:gpt-4o (500: boom)"},
		{"status only, error only", []Attempt{{Provider: "a", Model: "m", Status: 429}, {Provider: "b", Model: "n", Error: "no provider key available"}},
			"no provider could serve the request: a:m (429); b:n (no provider key available)"},
	} {
		e := AllFailed(tc.attempts)
		if e.Status != http.StatusBadGateway || e.Code != AllProvidersFailed || e.Message != tc.want || len(e.Attempts) != len(tc.attempts) {
			t.Errorf("%s: %d %s %q %v", tc.name, e.Status, e.Code, e.Message, e.Attempts)
		}
	}
}

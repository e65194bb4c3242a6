package caddyaigateway

import (
	"net/http"
	"strings"
	"testing"
)

func TestScrubSecret(t *testing.T) {
	key := "sk-proj-ABCDEFGH1234567890abcdefWXYZ"
	cases := []struct{ name, in string }{
		{"whole key", `{"error":{"message":"bad key ` + key + `"}}`},
		{"masked like OpenAI", `{"error":{"message":"Incorrect API key provided: sk-pr***********WXYZ."}}`},
		{"prefix", `{"error":{"message":"key sk-proj-ABCDEF… revoked"}}`},
		{"suffix", `{"error":{"message":"key ending cdefWXYZ revoked"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := string(scrubSecret([]byte(c.in), key))
			for _, frag := range []string{key, key[:8], key[len(key)-8:], "***"} {
				if strings.Contains(out, frag) {
					t.Fatalf("%q still contains %q", out, frag)
				}
			}
			if !strings.Contains(out, "[redacted]") {
				t.Fatalf("nothing redacted: %q", out)
			}
		})
	}
	if got := string(scrubSecret([]byte(`{"error":"plain"}`), key)); got != `{"error":"plain"}` {
		t.Fatalf("changed a clean body: %q", got)
	}
}

func TestResolve(t *testing.T) {
	reg, err := buildRegistry([]*ProviderConfig{
		{ID: "ollama", Format: "openai", BaseURL: "http://127.0.0.1:11434/v1", Models: []*ModelConfig{{ID: "llama3.2", InputPrice: "0", OutputPrice: "0"}}},
		{ID: "mirror", Format: "openai", BaseURL: "http://mirror/v1", Models: []*ModelConfig{{ID: "gpt-4o"}}},
	}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ref  string
		want []string
	}{
		{"gpt-4o", []string{"openai:gpt-4o", "mirror:gpt-4o"}},
		{"GPT-4O", []string{"openai:gpt-4o", "mirror:gpt-4o"}},
		{"openai:gpt-4o", []string{"openai:gpt-4o"}},
		{"OpenAI:GPT-4o", []string{"openai:gpt-4o"}},
		{"openai:ft:gpt-4o:acme", []string{"openai:ft:gpt-4o:acme"}}, // unknown model of a known provider passes through
		{"ollama:llama3.2", []string{"ollama:llama3.2"}},
		{"llama3.2", []string{"ollama:llama3.2"}},
		{"llama3.2:latest", nil}, // not a provider prefix: part of an unknown name
		{"claude-sonnet-4-6", []string{"anthropic:claude-sonnet-4-6"}},
		{"nope", nil},
		{"", nil},
	}
	for _, c := range cases {
		var got []string
		for _, tg := range reg.Resolve(c.ref) {
			got = append(got, tg.Ref())
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("Resolve(%q) = %v, want %v", c.ref, got, c.want)
		}
	}
	if m := reg.Resolve("ollama:llama3.2")[0].Model; m == nil || !m.Pricing.Priced() {
		t.Error("custom model lost its explicit zero price")
	}
	if reg.Resolve("openai:ft:gpt-4o:acme")[0].Model != nil {
		t.Error("pass-through model got a catalog entry")
	}
}

func TestBuildRegistryRejects(t *testing.T) {
	cases := map[string]*ProviderConfig{
		"custom without format":  {ID: "x", BaseURL: "http://x"},
		"custom without url":     {ID: "x", Format: "openai"},
		"bad format":             {ID: "x", Format: "grpc", BaseURL: "http://x"},
		"bad url":                {ID: "x", Format: "openai", BaseURL: "ftp://x"},
		"id with colon":          {ID: "a:b", Format: "openai", BaseURL: "http://x"},
		"built-in format change": {ID: "anthropic", Format: "openai"},
		"bad price":              {ID: "openai", Models: []*ModelConfig{{ID: "gpt-4o", InputPrice: "cheap"}}},
		"too precise price":      {ID: "openai", Models: []*ModelConfig{{ID: "gpt-4o", InputPrice: "0.0000000001"}}},
	}
	for name, pc := range cases {
		if _, err := buildRegistry([]*ProviderConfig{pc}, nil, nil, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestUpstreamHeaders(t *testing.T) {
	in := http.Header{
		"Authorization": {"Bearer cag_x"}, "X-Api-Key": {"cag_x"}, "Cookie": {"a=b"},
		"Anthropic-Beta": {"tools-2024"}, "User-Agent": {"OpenAI/JS 6"}, "Ai-Gateway-Debug": {"1"},
		"Openai-Organization": {"org-client"}, "X-Stainless-Lang": {"js"}, "Accept-Encoding": {"br"},
	}
	out := upstreamHeaders(in)
	for _, h := range []string{"Authorization", "X-Api-Key", "Cookie", "Ai-Gateway-Debug", "Openai-Organization", "Accept-Encoding"} {
		if out.Get(h) != "" {
			t.Errorf("%s forwarded", h)
		}
	}
	for _, h := range []string{"Anthropic-Beta", "User-Agent", "X-Stainless-Lang"} {
		if out.Get(h) == "" {
			t.Errorf("%s dropped", h)
		}
	}
}

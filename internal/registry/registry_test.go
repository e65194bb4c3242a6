package registry

import (
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/manage"
)

func TestResolve(t *testing.T) {
	reg, err := Build([]*Config{
		{ID: "ollama", Format: "openai", BaseURL: "http://127.0.0.1:11434/v1", Models: []*Model{{ID: "llama3.2", InputPrice: "0", OutputPrice: "0"}}},
		{ID: "mirror", Format: "openai", BaseURL: "http://mirror/v1", Models: []*Model{{ID: "gpt-4o"}}},
	}, nil)
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
		got := Refs(reg.Resolve(c.ref))
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

func TestBuildRejects(t *testing.T) {
	cases := map[string]*Config{
		"custom without format":  {ID: "x", BaseURL: "http://x"},
		"custom without url":     {ID: "x", Format: "openai"},
		"bad format":             {ID: "x", Format: "grpc", BaseURL: "http://x"},
		"bad url":                {ID: "x", Format: "openai", BaseURL: "ftp://x"},
		"id with colon":          {ID: "a:b", Format: "openai", BaseURL: "http://x"},
		"built-in format change": {ID: "anthropic", Format: "openai"},
		"bad price":              {ID: "openai", Models: []*Model{{ID: "gpt-4o", InputPrice: "cheap"}}},
		"too precise price":      {ID: "openai", Models: []*Model{{ID: "gpt-4o", InputPrice: "0.0000000001"}}},
	}
	for name, pc := range cases {
		if _, err := Build([]*Config{pc}, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// google speaks Gemini by default; `format openai` switches it to its
// OpenAI-compatible endpoint, and an own base_url wins over both.
func TestGoogleFormats(t *testing.T) {
	for _, tc := range []struct {
		cfg          *Config
		format, base string
		alt          bool
	}{
		{nil, "gemini", "https://generativelanguage.googleapis.com", true},
		{&Config{ID: "google", Format: "openai"}, "openai", "https://generativelanguage.googleapis.com/v1beta/openai", false},
		{&Config{ID: "google", Format: "gemini", BaseURL: "https://proxy.example"}, "gemini", "https://proxy.example", false},
	} {
		var cfgs []*Config
		if tc.cfg != nil {
			cfgs = append(cfgs, tc.cfg)
		}
		reg, err := Build(cfgs, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := reg.Resolve("google:gemini-2.5-flash")[0].Provider
		if string(p.Format) != tc.format || p.BaseURL != tc.base || (p.AltBaseURLs["openai"] != "") != tc.alt {
			t.Errorf("%+v: %s %s %v", tc.cfg, p.Format, p.BaseURL, p.AltBaseURLs)
		}
	}
}

// Which providers take Responses requests as they are: the built-ins that
// serve the API, the Caddyfile's OpenAI-compatible providers, and
// management-API providers that declare the surface (or none).
func TestResponsesProviders(t *testing.T) {
	r, err := Build([]*Config{{ID: "vllm", Format: "openai", BaseURL: "http://localhost:8000/v1"}, {ID: "local-claude", Format: "anthropic", BaseURL: "http://localhost:9000"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r = r.WithCustom([]*manage.CustomProvider{
		{ProviderID: "chatonly", Format: catalog.OpenAI, SupportedAPISurfaces: []manage.APISurface{{Format: catalog.OpenAI, Surface: "chat-completions"}}},
		{ProviderID: "both", Format: catalog.OpenAI, SupportedAPISurfaces: []manage.APISurface{{Format: catalog.OpenAI, Surface: "chat-completions"}, {Format: catalog.OpenAI, Surface: "responses"}}},
		{ProviderID: "undeclared", Format: catalog.OpenAI},
	})
	for id, want := range map[string]bool{
		"openai": true, "xai": true, "deepseek": false, "mistral": false, "anthropic": false, "google": false,
		"vllm": true, "local-claude": false, "chatonly": false, "both": true, "undeclared": true,
	} {
		if got := r.Provider(id).Responses; got != want {
			t.Errorf("%s: Responses = %v, want %v", id, got, want)
		}
	}
	if m := r.Provider("openai").Model("gpt-5-pro"); m == nil || !m.ResponsesOnly {
		t.Errorf("gpt-5-pro is not Responses-only: %+v", m)
	}
}

package manage

import (
	"strings"
	"testing"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
)

// TestCustomProviderNgrokShape: a custom provider's models and surfaces in
// ngrok.ai's shape, reconciled with ours.
func TestCustomProviderNgrokShape(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    string // a substring of the error; "" for none
		format     catalog.Format
		models     []string
	}{
		{name: "ngrok.ai's shape", body: `{"supportedApiSurfaces":[{"format":"openai","surface":"chat-completions"}],"models":[{"modelId":"llama3.2"}]}`,
			format: catalog.OpenAI, models: []string{"llama3.2"}},
		{name: "ours", body: `{"format":"anthropic","models":[{"id":"claude-x","pricing":{"input":"1","output":"2"}}]}`,
			format: catalog.Anthropic, models: []string{"claude-x"}},
		{name: "both names alike", body: `{"format":"openai","models":[{"id":"m","modelId":"m"}]}`, format: catalog.OpenAI, models: []string{"m"}},
		{name: "both names differing", body: `{"format":"openai","models":[{"id":"a","modelId":"b"}]}`, wantErr: "models[0]"},
		{name: "format from the first surface", body: `{"supportedApiSurfaces":[{"format":"anthropic","surface":"messages"},{"format":"openai","surface":"responses"}]}`,
			format: catalog.Anthropic},
		{name: "format among the surfaces", body: `{"format":"openai","supportedApiSurfaces":[{"format":"anthropic","surface":"messages"},{"format":"openai","surface":"chat-completions"}]}`,
			format: catalog.OpenAI},
		{name: "format outside the surfaces", body: `{"format":"openai","supportedApiSurfaces":[{"format":"anthropic","surface":"messages"}]}`, wantErr: "format"},
		{name: "unknown surface", body: `{"supportedApiSurfaces":[{"format":"anthropic","surface":"chat-completions"}]}`, wantErr: "supportedApiSurfaces[0].surface"},
		{name: "repeated surface", body: `{"supportedApiSurfaces":[{"format":"openai","surface":"responses"},{"format":"openai","surface":"responses"}]}`, wantErr: "supportedApiSurfaces[1]"},
		{name: "no format at all", body: `{}`, wantErr: "format"},
		{name: "modelId with an unknown field", body: `{"format":"openai","models":[{"modelId":"m","colour":"red"}]}`, wantErr: "colour"},
		{name: "metadata too long", body: `{"format":"openai","metadata":"` + strings.Repeat("x", 4097) + `"}`, wantErr: "metadata"},
	}
	s := &Service{env: noProviders{}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"providerId":"p","baseUrl":"https://p.example/v1",` + strings.TrimPrefix(tt.body, "{")
			if tt.body == "{}" {
				body = `{"providerId":"p","baseUrl":"https://p.example/v1"}`
			}
			p, err := ParsePatch([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			cp := &CustomProvider{}
			err = s.applyCustomProviderPatch(p, cp, true)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cp.Format != tt.format {
				t.Errorf("format %q, want %q", cp.Format, tt.format)
			}
			var got []string
			for _, m := range cp.Models {
				got = append(got, m.ID)
			}
			if strings.Join(got, ",") != strings.Join(tt.models, ",") {
				t.Errorf("models %v, want %v", got, tt.models)
			}
		})
	}
}

// noProviders is an Env with no built-in or configured provider.
type noProviders struct{ Env }

func (noProviders) ConfiguredProvider(string) bool { return false }

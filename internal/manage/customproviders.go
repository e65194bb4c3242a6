package manage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

func findCustomProvider(st *Snapshot, idOrProviderID string) *CustomProvider {
	for _, p := range st.Providers {
		if p.ID == idOrProviderID || strings.EqualFold(p.ProviderID, idOrProviderID) {
			return p
		}
	}
	return nil
}

func (s *Service) applyCustomProviderPatch(p Patch, cp *CustomProvider, creating bool) error {
	formatGiven := p.Has("format") && string(bytes.TrimSpace(p["format"])) != "null"
	errs := []error{Field(p, "name", &cp.Name), Field(p, "description", &cp.Description), Field(p, "baseUrl", &cp.BaseURL),
		Field(p, "format", &cp.Format), modelsField(p, &cp.Models), Field(p, "supportedApiSurfaces", &cp.SupportedAPISurfaces),
		Field(p, "metadata", &cp.Metadata)}
	if creating {
		errs = append(errs, Field(p, "providerId", &cp.ProviderID))
	} else if p.Has("providerId") {
		errs = append(errs, &InvalidError{"providerId", "is immutable"})
	}
	errs = append(errs, p.Done())
	if err := errors.Join(errs...); err != nil {
		return err
	}
	cp.ProviderID = strings.ToLower(strings.TrimSpace(cp.ProviderID))
	if err := validateText(cp.Name, cp.Description, ""); err != nil {
		return err
	}
	if cp.ProviderID == "" || strings.ContainsAny(cp.ProviderID, ": \t/") {
		return &InvalidError{"providerId", "required, without ':', '/' or spaces"}
	}
	if creating && s.env.ConfiguredProvider(cp.ProviderID) {
		what := "a built-in provider"
		if !catalog.IsBuiltIn(cp.ProviderID) {
			what = "a provider of the Caddyfile"
		}
		return &InvalidError{"providerId", fmt.Sprintf("%q is %s", cp.ProviderID, what)}
	}
	if err := checkSurfaces(cp, formatGiven); err != nil {
		return err
	}
	if !cp.Format.Valid() {
		return &InvalidError{"format", "must be openai, anthropic or gemini (or given by supportedApiSurfaces[].format)"}
	}
	if len(cp.Metadata) > maxProviderMetadata {
		return &InvalidError{"metadata", fmt.Sprintf("at most %d bytes", maxProviderMetadata)}
	}
	u, err := url.Parse(cp.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &InvalidError{"baseUrl", "must be an http(s) URL"}
	}
	cp.BaseURL = strings.TrimRight(cp.BaseURL, "/")
	seen := map[string]bool{}
	for i, m := range cp.Models {
		if m == nil || strings.TrimSpace(m.ID) == "" {
			return &InvalidError{fmt.Sprintf("models[%d].id", i), "required"}
		}
		if seen[strings.ToLower(m.ID)] {
			return &InvalidError{fmt.Sprintf("models[%d].id", i), "duplicate model " + m.ID}
		}
		seen[strings.ToLower(m.ID)] = true
		if m.Type != "" && m.Type != "chat" && m.Type != "embedding" {
			return &InvalidError{fmt.Sprintf("models[%d].type", i), "must be chat or embedding"}
		}
		if m.ContextWindow < 0 || m.MaxOutputTokens < 0 {
			return &InvalidError{fmt.Sprintf("models[%d]", i), "token limits cannot be negative"}
		}
	}
	return nil
}

// CreateCustomProvider registers a provider at runtime.
func (s *Service) CreateCustomProvider(p Patch) (*CustomProvider, error) {
	cp := &CustomProvider{}
	if err := s.applyCustomProviderPatch(p, cp, true); err != nil {
		return nil, err
	}
	if cp.Name == "" {
		cp.Name = cp.ProviderID
	}
	now := time.Now().UTC()
	cp.ID, cp.CreatedAt, cp.UpdatedAt = ids.New("prov"), now, now
	return cp, s.mutate(func(tx ResourceTx, st *Snapshot) error {
		if findCustomProvider(st, cp.ProviderID) != nil {
			return &ConflictError{fmt.Sprintf("provider %q exists", cp.ProviderID)}
		}
		return tx.Put(store.CustomProviders, cp.ID, cp)
	})
}

// UpdateCustomProvider applies a PATCH body; models[] is replaced whole.
func (s *Service) UpdateCustomProvider(idOrProviderID string, p Patch) (*CustomProvider, error) {
	var out CustomProvider
	return &out, s.mutate(func(tx ResourceTx, st *Snapshot) error {
		cur := findCustomProvider(st, idOrProviderID)
		if cur == nil {
			if s.env.ConfiguredProvider(idOrProviderID) {
				return &InvalidError{"providerId", "built-in and Caddyfile providers are read-only here"}
			}
			return ErrNotFound
		}
		if err := tx.Get(store.CustomProviders, cur.ID, &out); err != nil {
			return err
		}
		if err := s.applyCustomProviderPatch(p, &out, false); err != nil {
			return err
		}
		out.UpdatedAt = time.Now().UTC()
		return tx.Put(store.CustomProviders, out.ID, &out)
	})
}

// DeleteCustomProvider removes a provider nothing refers to.
func (s *Service) DeleteCustomProvider(idOrProviderID string) error {
	return s.mutate(func(tx ResourceTx, st *Snapshot) error {
		cp := findCustomProvider(st, idOrProviderID)
		if cp == nil {
			if s.env.ConfiguredProvider(idOrProviderID) {
				return &ConflictError{"built-in and Caddyfile providers cannot be deleted"}
			}
			return ErrNotFound
		}
		for _, pk := range sortedByID(st.ProviderKeys, func(x *ProviderKey) string { return x.ID }) {
			if pk.ProviderID == cp.ProviderID {
				return &ConflictError{fmt.Sprintf("provider %s is used by provider key %s", cp.ProviderID, pk.ID)}
			}
		}
		for _, c := range sortedByID(st.Configs, func(x *AccessKeyConfiguration) string { return x.ID }) {
			if configReferencesProvider(c, cp.ProviderID) {
				return &ConflictError{fmt.Sprintf("provider %s is used by access key configuration %s", cp.ProviderID, c.ID)}
			}
		}
		return tx.Delete(store.CustomProviders, cp.ID)
	})
}

func configReferencesProvider(c *AccessKeyConfiguration, providerID string) bool {
	if c.Access.Providers != nil && c.Access.Providers.Allow != nil {
		for _, p := range *c.Access.Providers.Allow {
			if strings.EqualFold(p, providerID) {
				return true
			}
		}
	}
	for _, r := range c.Router.Rules {
		if strings.EqualFold(r.Provider, providerID) || strings.HasPrefix(strings.ToLower(r.Model), providerID+":") {
			return true
		}
	}
	return false
}

// CustomProviders lists providers added through the API.
func (s *Service) CustomProviders() []*CustomProvider { return s.Snapshot().Providers }

// CustomProvider finds one by id or providerId.
func (s *Service) CustomProvider(idOrProviderID string) *CustomProvider {
	return findCustomProvider(s.Snapshot(), idOrProviderID)
}

// maxProviderMetadata bounds a custom provider's metadata, as ngrok.ai does.
const maxProviderMetadata = 4096

// apiSurfaces are the surfaces a custom provider may declare, per format.
var apiSurfaces = map[catalog.Format][]string{
	catalog.OpenAI:    {"chat-completions", "responses", "completions", "embeddings"},
	catalog.Anthropic: {"messages"},
	catalog.Gemini:    {"generate-content", "count-tokens"},
}

// checkSurfaces validates supportedApiSurfaces and reconciles it with
// format: the gateway speaks format to the provider, which must be one of
// the surfaces' formats; given only surfaces (ngrok.ai's shape), format is
// the first surface's, and kept when it is still among them.
func checkSurfaces(cp *CustomProvider, formatGiven bool) error {
	if len(cp.SupportedAPISurfaces) == 0 {
		return nil
	}
	formats := map[catalog.Format]bool{}
	seen := map[string]bool{}
	for i, sf := range cp.SupportedAPISurfaces {
		field := fmt.Sprintf("supportedApiSurfaces[%d]", i)
		sf.Format = catalog.Format(strings.ToLower(strings.TrimSpace(string(sf.Format))))
		sf.Surface = strings.ToLower(strings.TrimSpace(sf.Surface))
		allowed, ok := apiSurfaces[sf.Format]
		if !ok || !sf.Format.Valid() {
			return &InvalidError{field + ".format", "must be openai, anthropic or gemini"}
		}
		if !slices.Contains(allowed, sf.Surface) {
			return &InvalidError{field + ".surface", fmt.Sprintf("for format %s must be one of %s", sf.Format, strings.Join(allowed, ", "))}
		}
		if seen[string(sf.Format)+" "+sf.Surface] {
			return &InvalidError{field, "repeats " + string(sf.Format) + " " + sf.Surface}
		}
		seen[string(sf.Format)+" "+sf.Surface] = true
		for j, prm := range sf.SupportedParams {
			if strings.TrimSpace(prm.Name) == "" {
				return &InvalidError{fmt.Sprintf("%s.supportedParams[%d].name", field, j), "required"}
			}
		}
		formats[sf.Format] = true
		cp.SupportedAPISurfaces[i] = sf
	}
	switch {
	case formatGiven && !formats[cp.Format]:
		return &InvalidError{"format", fmt.Sprintf("%s is not the format of any of supportedApiSurfaces", cp.Format)}
	case !formats[cp.Format]:
		cp.Format = cp.SupportedAPISurfaces[0].Format
	}
	return nil
}

// modelsField applies the models member of a patch: each model in our
// shape ({"id", pricing…}) or ngrok.ai's ({"modelId"}); modelId is the
// same as id, and a model giving both must give one value.
func modelsField(p Patch, dst *[]*catalog.Model) error {
	raw, ok := p["models"]
	if !ok {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || items == nil {
		return Field(p, "models", dst) // null clears; anything else reports as before
	}
	for i, item := range items {
		var m map[string]json.RawMessage
		if json.Unmarshal(item, &m) != nil || m == nil {
			continue // not an object: decoding reports it
		}
		mid, hasMID := m["modelId"]
		if !hasMID {
			continue
		}
		if id, hasID := m["id"]; hasID && !bytes.Equal(bytes.TrimSpace(id), bytes.TrimSpace(mid)) {
			var a, b string
			if json.Unmarshal(id, &a) != nil || json.Unmarshal(mid, &b) != nil || a != b {
				return &InvalidError{fmt.Sprintf("models[%d]", i), "id and modelId name the same thing (ours and ngrok.ai's spelling): give one, or both alike"}
			}
		}
		m["id"] = mid
		delete(m, "modelId")
		items[i], _ = json.Marshal(m)
	}
	p["models"], _ = json.Marshal(items)
	return Field(p, "models", dst)
}

package manage

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// Account holds credits; access keys and BYOK provider keys belong to one.
type Account struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Metadata    string    `json:"metadata"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// AccessKeyConfiguration scopes what access keys may use and routes their
// requests to managed or customer (BYOK) provider keys.
type AccessKeyConfiguration struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Metadata    string `json:"metadata"`
	Access      Access `json:"access"`
	Router      Router `json:"router"`
	// ModelSelection are CEL strategies (or named ones: cheapest, fastest,
	// most_reliable) that replace the site's model_selection for these keys.
	ModelSelection []string `json:"modelSelection"`
	// Limits are per access key (credits issue).
	Limits *Limits `json:"limits,omitempty"`
	// FirewallPolicyID attaches a firewall policy of the management API
	// (fwp_…) to the keys of this configuration; it wins over the site's.
	FirewallPolicyID string    `json:"firewallPolicyId"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// Access is a configuration's scope: omitted lists allow everything, an
// empty list allows nothing.
type Access struct {
	Providers *AllowList `json:"providers,omitempty"`
	Models    *AllowList `json:"models,omitempty"`
}

// AllowList is an allow list; Allow nil means unrestricted.
type AllowList struct {
	Allow *[]string `json:"allow"`
}

// Router holds routing rules; a model rule beats a provider rule, and a
// provider with no rule uses the managed keys.
type Router struct {
	Rules []RouterRule `json:"rules"`
}

// RouterRule routes one provider and/or model.
type RouterRule struct {
	Provider string       `json:"provider,omitempty"`
	Model    string       `json:"model,omitempty"`
	Steps    []RouterStep `json:"steps"`
}

// RouterStep is one source of keys: `managed` (the operator's keys from
// the ai app) or `user` (the listed provider keys), tried in order.
type RouterStep struct {
	Type                 string    `json:"type"`
	Keys                 []StepKey `json:"keys,omitempty"`
	KeySelectionStrategy string    `json:"keySelectionStrategy,omitempty"` // "ordered" (the only one)
}

// StepKey references a provider key by id; a bare string is accepted too.
type StepKey struct {
	ID string `json:"id"`
}

// UnmarshalJSON accepts "pk_…" or {"id":"pk_…"}.
func (k *StepKey) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &k.ID)
	}
	type plain StepKey
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*k = StepKey(p)
	return nil
}

// Limits are per-access-key limits (enforced by ai_credits).
type Limits struct {
	RequestsPerMinute *int64      `json:"requestsPerMinute,omitempty"`
	TokensPerMinute   *int64      `json:"tokensPerMinute,omitempty"`
	SpendPerDay       *money.Nano `json:"spendPerDay,omitempty"`
}

// ProviderKey is a customer's (BYOK) or operator's stored provider key.
// The secret is sealed with the app's secret key; only keyRedacted is
// ever shown.
type ProviderKey struct {
	ID          string     `json:"id"`
	ProviderID  string     `json:"providerId"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	AccountID   string     `json:"accountId"`
	Sealed      []byte     `json:"sealed"`
	KeyRedacted string     `json:"keyRedacted"`
	LastUsed    *time.Time `json:"lastUsed,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`

	value string // decrypted, in memory only
}

// Value returns the decrypted secret (in memory only, never shown).
func (k *ProviderKey) Value() string { return k.value }

// APIKey is a management API key (cagm_…), stored as a hash.
type APIKey struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Metadata    string     `json:"metadata"`
	TokenHash   string     `json:"tokenHash"`
	KeyRedacted string     `json:"keyRedacted"`
	LastUsed    *time.Time `json:"lastUsed,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
}

// CustomProvider is a provider added through the management API.
type CustomProvider struct {
	ID          string           `json:"id"`
	ProviderID  string           `json:"providerId"`
	Name        string           `json:"name"`
	Description string           `json:"description"`
	BaseURL     string           `json:"baseUrl"`
	Format      catalog.Format   `json:"format"`
	Models      []*catalog.Model `json:"models"`
	// SupportedAPISurfaces are the APIs the provider serves, in ngrok.ai's
	// shape; Format is the one the gateway speaks to it.
	SupportedAPISurfaces []APISurface `json:"supportedApiSurfaces,omitempty"`
	Metadata             string       `json:"metadata,omitempty"` // free text (ngrok.ai's provider metadata)
	CreatedAt            time.Time    `json:"createdAt"`
	UpdatedAt            time.Time    `json:"updatedAt"`
}

// APISurface is one API a custom provider serves: a wire format and the
// surface of it (chat-completions, responses, messages, embeddings…), as
// ngrok.ai describes providers. SupportedParams, when set, lists the
// request parameters it takes.
type APISurface struct {
	Format          catalog.Format `json:"format"`
	Surface         string         `json:"surface"`
	SupportedParams []APIParam     `json:"supportedParams,omitempty"`
}

// APIParam names one supported request parameter.
type APIParam struct {
	Name string `json:"name"`
}

// VirtualModel names an ordered list of up to 10 models.
type VirtualModel struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Models      []string  `json:"models"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// GatewayConfig are the runtime gateway settings (GET/PATCH
// /ai/gateway-config). Unset values fall back to the Caddyfile.
type GatewayConfig struct {
	PerRequestTimeout *Duration `json:"perRequestTimeout"`
	TotalTimeout      *Duration `json:"totalTimeout"`
	// MaxInputTokens refuses requests whose estimated input exceeds it
	// (413 input_too_large).
	MaxInputTokens *int64 `json:"maxInputTokens"`
	// MaxOutputTokens caps the output tokens a request may ask for.
	MaxOutputTokens *int64 `json:"maxOutputTokens"`
	Metadata        string `json:"metadata"`
	// Credit settings (null: the Caddyfile's). Fees are USD per 1M tokens.
	ProcessingFee *money.PerMillion `json:"processingFee"`
	BYOKFee       *money.PerMillion `json:"byokFee"`
	MinPurchase   *money.Nano       `json:"minPurchase"`
	// MaxPurchase is the largest purchase, and the largest manual
	// adjustment either way (null: the Caddyfile's max_purchase, default
	// 100000.00).
	MaxPurchase          *money.Nano   `json:"maxPurchase"`
	CreditLifetime       *Duration     `json:"creditLifetime"`
	LowBalanceThresholds *[]money.Nano `json:"lowBalanceThresholds"`
	LowBalanceWebhook    *string       `json:"lowBalanceWebhook"`
	UpdatedAt            time.Time     `json:"updatedAt"`
}

// Duration is a time.Duration written as a Go duration string ("90s"),
// read from that or a number of seconds: the firewall's JSON duration, one
// type for both APIs.
type Duration = firewall.Duration

// FirewallPolicy is a firewall policy added through the management API
// (/ai/firewall-policies): the policy's JSON (firewall.PolicyConfig:
// name, mode, onError, rules) plus a description. An access key
// configuration attaches it by id (firewallPolicyId).
type FirewallPolicy struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	firewall.PolicyConfig
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`

	// compiled is the policy compiled once per stored version (the
	// snapshot carries it over while UpdatedAt is unchanged); nil when it
	// did not compile.
	compiled *firewall.Policy
}

// Compiled returns the compiled policy, nil when the stored policy does not
// compile (written by another version).
func (p *FirewallPolicy) Compiled() *firewall.Policy {
	if p == nil {
		return nil
	}
	return p.compiled
}

// Package hold bounds what a request can use and cost before any provider
// is called. A hold's output part comes from one canonical output limit,
// read from the member the endpoint defines, clamped to the model's and the
// gateway's limits, and written into every upstream body (translated ones
// included), so the provider can never produce more than was reserved. Its
// input part is the body's byte count (a token is at least one byte) plus
// the framing a provider adds, or the model's context window when the body
// carries input the gateway cannot measure. PlanFor takes the worst case
// over every candidate and key, by who pays the provider, and KeyLimits
// the per-key limits the reservation is admitted under.
package hold

import (
	"math"
	"strconv"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/clientreq"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/jsonobj"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/registry"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/usage"
)

// DefaultOutputReserve is the output limit of a metered request whose
// model's output limit the catalog does not know, when the request sets
// none. It is written upstream like any other limit.
const DefaultOutputReserve = 4096

// framingTokens bounds what a provider adds to the input it bills beyond
// the body's bytes (which already outnumber the role markers of the
// messages they frame); toolFramingTokens what it adds when the request
// declares tools (Anthropic's tool-use system prompt is a few hundred).
const (
	framingTokens     = 16
	toolFramingTokens = 1024
)

// unknownContextWindow stands in for the context window of a model the
// catalog does not describe, when the input cannot be measured.
const unknownContextWindow = 2_000_000

// OutputLimit is the canonical output limit of req on target t. For a
// metered request: the client's, else the model's output limit (else
// DefaultOutputReserve), clamped to the model's output limit and the
// gateway config's MaxOutputTokens. For a request that reserves nothing:
// the client's, capped by MaxOutputTokens. 0 means no limit is written (an
// endpoint without output, or an unmetered request that set none).
func OutputLimit(req *clientreq.Request, t registry.Target) int64 {
	if req.Endpoint.OutputFields() == nil {
		return 0
	}
	gatewayMax := req.MaxOutputTokens
	if !req.Metered {
		// Nothing is reserved: the body passes as the client wrote it, but
		// for the gateway config's cap.
		if gatewayMax != nil && *gatewayMax > 0 && (req.MaxTokens <= 0 || req.MaxTokens > *gatewayMax) {
			return *gatewayMax
		}
		return req.MaxTokens
	}
	var modelMax int64
	if t.Model != nil {
		modelMax = t.Model.MaxOutputTokens
	}
	limit := req.MaxTokens
	if limit <= 0 {
		limit = modelMax
	}
	if limit <= 0 {
		limit = DefaultOutputReserve
	}
	if modelMax > 0 && limit > modelMax {
		limit = modelMax
	}
	if gatewayMax != nil && *gatewayMax > 0 && limit > *gatewayMax {
		limit = *gatewayMax
	}
	return limit
}

// TranslatedMaxTokens is the max_tokens an Anthropic target gets for a
// chat request: the canonical limit, else (a request that reserves
// nothing and set none) the model's output limit; 0 leaves the
// translator's default.
func TranslatedMaxTokens(req *clientreq.Request, t registry.Target) int64 {
	if l := OutputLimit(req, t); l > 0 {
		return l
	}
	if t.Model != nil {
		return t.Model.MaxOutputTokens
	}
	return 0
}

// outputReserve is the output a hold covers on t: the output limit for
// each of the choices the request asks for (chat completions' n).
func outputReserve(req *clientreq.Request, t registry.Target) int64 {
	if req.Endpoint.OutputFields() == nil {
		return 0
	}
	l := OutputLimit(req, t)
	if l <= 0 {
		l = DefaultOutputReserve
	}
	if req.Choices > 1 {
		if l > math.MaxInt64/req.Choices {
			return math.MaxInt64
		}
		l *= req.Choices
	}
	return l
}

// WithOutputLimit returns body (in the client's format) carrying exactly
// the canonical output limit for t in one member.
func WithOutputLimit(body []byte, req *clientreq.Request, t registry.Target) ([]byte, error) {
	limit := OutputLimit(req, t)
	if limit <= 0 || (limit == req.MaxTokens && req.OutputMembers == 1) {
		return body, nil // already exact
	}
	if req.Endpoint.Kind == usage.GenerateContent {
		return withGeminiOutputLimit(body, limit)
	}
	fields := req.Endpoint.OutputFields()
	field := req.MaxTokensField
	if field == "" {
		field = fields[0]
		if req.Endpoint.Kind == usage.ChatCompletions && t.Provider.ID != "openai" {
			field = "max_tokens" // OpenAI-compatible servers seldom know max_completion_tokens
		}
	}
	var err error
	for _, f := range fields {
		if f != field && req.OutputMembers > 1 {
			if body, err = jsonobj.Delete(body, f); err != nil {
				return nil, err
			}
		}
	}
	return jsonobj.Set(body, field, []byte(strconv.FormatInt(limit, 10)))
}

// inputBound is the most input tokens req can be billed for on t, for an
// upstream body of bodyLen bytes.
func inputBound(req *clientreq.Request, t registry.Target, bodyLen int) int64 {
	n := money.SatAddTokens(int64(max(bodyLen, len(req.Body))), framingTokens)
	if req.Tools {
		n = money.SatAddTokens(n, toolFramingTokens)
	}
	if req.Unmeasured {
		window := int64(unknownContextWindow)
		if t.Model != nil && t.Model.ContextWindow > 0 {
			window = t.Model.ContextWindow
		}
		n = max(n, window)
	}
	return n
}

// WorstCase is the most req can cost on target t for an upstream body of
// bodyLen bytes (a continuation carries the text already delivered): its
// input bound and its canonical output limit at the target's highest input
// and output prices (when priced is set: managed keys pay the provider's
// price), plus fee on those tokens. Every step saturates: a hold never
// wraps.
func WorstCase(req *clientreq.Request, t registry.Target, fee money.PerMillion, priced bool, bodyLen int) money.Nano {
	in, out := inputBound(req, t, bodyLen), outputReserve(req, t)
	cost := fee.Cost(money.SatAddTokens(in, out))
	if priced && t.Model != nil && t.Model.Pricing.Priced() {
		p := t.Model.Pricing
		inPrice, outPrice := *p.Input, *p.Output
		if p.CacheWrite != nil && *p.CacheWrite > inPrice {
			inPrice = *p.CacheWrite
		}
		if p.Reasoning != nil && *p.Reasoning > outPrice {
			outPrice = *p.Reasoning
		}
		cost = money.SatAdd(cost, money.SatAdd(inPrice.Cost(in), outPrice.Cost(out)))
	}
	return cost
}

// WorstTokens is the most tokens req can use on target t (for the
// tokens-per-minute limit).
func WorstTokens(req *clientreq.Request, t registry.Target) int64 {
	return money.SatAddTokens(inputBound(req, t, len(req.Body)), outputReserve(req, t))
}

// withGeminiOutputLimit sets generationConfig.maxOutputTokens, where
// Gemini keeps the output limit.
func withGeminiOutputLimit(body []byte, limit int64) ([]byte, error) {
	gc, ok, err := jsonobj.Get(body, "generationConfig")
	if err != nil {
		return nil, err
	}
	if !ok || len(gc) == 0 || gc[0] != '{' {
		gc = []byte("{}")
	}
	if gc, err = jsonobj.Set(gc, "maxOutputTokens", []byte(strconv.FormatInt(limit, 10))); err != nil {
		return nil, err
	}
	return jsonobj.Set(body, "generationConfig", gc)
}

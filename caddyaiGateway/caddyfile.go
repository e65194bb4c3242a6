package caddyaigateway

import (
	"math"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/node"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("ai", parseGlobalAI)
	httpcaddyfile.RegisterHandlerDirective("ai_auth", parseAuth)
	httpcaddyfile.RegisterHandlerDirective("ai_credits", parseCredits)
	httpcaddyfile.RegisterHandlerDirective("ai_gateway", parseGateway)
	httpcaddyfile.RegisterHandlerDirective("ai_health", parseHealth)
	// ai_health → ai_auth → ai_credits → ai_gateway, all before
	// `handle`/`route` blocks run, so the directives work in a plain site
	// block (each Before request_header lands after the ones before it).
	httpcaddyfile.RegisterDirectiveOrder("ai_health", httpcaddyfile.Before, "request_header")
	httpcaddyfile.RegisterDirectiveOrder("ai_auth", httpcaddyfile.Before, "request_header")
	httpcaddyfile.RegisterDirectiveOrder("ai_credits", httpcaddyfile.Before, "request_header")
	httpcaddyfile.RegisterDirectiveOrder("ai_gateway", httpcaddyfile.Before, "reverse_proxy")
}

// parseGlobalAI parses the `ai` global option:
//
//	ai {
//		storage             [bbolt] <path> | postgres <url>
//		secret_key          <key>
//		admin_key           <key>
//		per_request_timeout <duration>
//		total_timeout       <duration>
//		usage_retention     <duration>
//		demo_upstream
//		processing_fee         <USD per 1M tokens>
//		byok_fee               <USD per 1M tokens>
//		min_purchase           <USD>
//		max_purchase           <USD>
//		credit_lifetime        <duration>
//		low_balance_thresholds <USD>...
//		low_balance_webhook    <url>
//		provider <id> {
//			format   openai|anthropic|gemini
//			name     <display name>
//			base_url <url>
//			api_key  <key>            # repeat for several
//			model <id> {
//				type              chat|embedding
//				input_price       <USD per 1M>
//				output_price      <USD per 1M>
//				cache_read_price  <USD per 1M>
//				cache_write_price <USD per 1M>
//				reasoning_price   <USD per 1M>
//				context_window    <tokens>
//				max_output_tokens <tokens>
//			}
//		}
//	}
func parseGlobalAI(d *caddyfile.Dispenser, existing any) (any, error) {
	app := new(App)
	if existing != nil {
		return nil, d.Err("the ai global option may appear only once")
	}
	d.Next() // option name
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	// the options that take one value
	values := map[string]*string{"secret_key": &app.SecretKey, "admin_key": &app.AdminKey,
		"processing_fee": &app.ProcessingFee, "byok_fee": &app.BYOKFee, "min_purchase": &app.MinPurchase,
		"max_purchase": &app.MaxPurchase, "low_balance_webhook": &app.LowBalanceWebhook}
	durations := map[string]*caddy.Duration{"per_request_timeout": &app.PerRequestTimeout,
		"total_timeout": &app.TotalTimeout, "credit_lifetime": &app.CreditLifetime, "usage_retention": &app.UsageRetention}
	for d.NextBlock(0) {
		opt := d.Val()
		if dst := values[opt]; dst != nil {
			if !d.AllArgs(dst) {
				return nil, d.ArgErr()
			}
			continue
		}
		if dst := durations[opt]; dst != nil {
			var s string
			if !d.AllArgs(&s) {
				return nil, d.ArgErr()
			}
			dur, err := caddy.ParseDuration(s)
			if err != nil {
				return nil, d.Errf("%s: %v", opt, err)
			}
			if dur <= 0 {
				return nil, d.Errf("%s: must be positive, got %s", opt, s)
			}
			*dst = caddy.Duration(dur)
			continue
		}
		switch opt {
		case "storage":
			switch args := d.RemainingArgs(); {
			case len(args) == 1:
				app.Storage = args[0]
			case len(args) == 2 && (args[0] == node.BBolt || args[0] == node.Postgres):
				app.StorageEngine, app.Storage = args[0], args[1]
			default:
				return nil, d.Err("storage: want <path>, bbolt <path> or postgres <url>")
			}
		case "low_balance_thresholds":
			app.LowBalanceThresholds = d.RemainingArgs()
			if len(app.LowBalanceThresholds) == 0 {
				return nil, d.ArgErr()
			}
		case "demo_upstream":
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			app.DemoUpstream = true
		case "provider":
			p, err := parseProvider(d)
			if err != nil {
				return nil, err
			}
			app.Providers = append(app.Providers, p)
		case "firewall_policy":
			p, err := parseFirewallPolicy(d)
			if err != nil {
				return nil, err
			}
			app.FirewallPolicies = append(app.FirewallPolicies, p)
		default:
			return nil, d.Errf("unrecognized ai option '%s'", opt)
		}
	}
	return httpcaddyfile.App{Name: "ai", Value: caddyconfig.JSON(app, nil)}, nil
}

func parseProvider(d *caddyfile.Dispenser) (*ProviderConfig, error) {
	p := new(ProviderConfig)
	if !d.NextArg() {
		return nil, d.ArgErr()
	}
	p.ID = d.Val()
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "format":
			if !d.AllArgs(&p.Format) {
				return nil, d.ArgErr()
			}
		case "name":
			if !d.AllArgs(&p.Name) {
				return nil, d.ArgErr()
			}
		case "base_url":
			if !d.AllArgs(&p.BaseURL) {
				return nil, d.ArgErr()
			}
		case "api_key":
			var k string
			if !d.AllArgs(&k) {
				return nil, d.ArgErr()
			}
			p.APIKeys = append(p.APIKeys, k)
		case "model":
			m, err := parseModel(d)
			if err != nil {
				return nil, err
			}
			p.Models = append(p.Models, m)
		default:
			return nil, d.Errf("unrecognized provider option '%s'", d.Val())
		}
	}
	return p, nil
}

func parseModel(d *caddyfile.Dispenser) (*ModelConfig, error) {
	m := new(ModelConfig)
	if !d.NextArg() {
		return nil, d.ArgErr()
	}
	m.ID = d.Val()
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	values := map[string]*string{"type": &m.Type, "input_price": &m.InputPrice, "output_price": &m.OutputPrice,
		"cache_read_price": &m.CacheReadPrice, "cache_write_price": &m.CacheWritePrice, "reasoning_price": &m.ReasoningPrice}
	tokens := map[string]*int64{"context_window": &m.ContextWindow, "max_output_tokens": &m.MaxOutputTokens}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		var v string
		if !d.AllArgs(&v) {
			return nil, d.ArgErr()
		}
		if dst := values[opt]; dst != nil {
			*dst = v
		} else if dst := tokens[opt]; dst != nil {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return nil, d.Errf("%s: expected a positive number of tokens, got %q", opt, v)
			}
			*dst = n
		} else {
			return nil, d.Errf("unrecognized model option '%s'", opt)
		}
	}
	return m, nil
}

// parseCredits parses `ai_credits` (no options).
func parseCredits(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	c := new(Credits)
	h.Next()
	if h.NextArg() || h.NextBlock(0) {
		return nil, h.Err("ai_credits takes no arguments or options")
	}
	return c, nil
}

// parseAuth parses `ai_auth` (no options).
func parseHealth(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	hl := new(Health)
	return hl, hl.UnmarshalCaddyfile(h.Dispenser)
}

func parseAuth(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	a := new(Auth)
	return a, a.UnmarshalCaddyfile(h.Dispenser)
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens: `ai_auth`.
func (a *Auth) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() || d.NextBlock(0) {
		return d.Err("ai_auth takes no arguments or options")
	}
	return nil
}

// parseGateway parses:
//
//	ai_gateway {
//		max_request_body    <size>
//		model_selection     <strategy>...   # CEL expressions (backquoted) or cheapest|fastest|most_reliable
//		max_auto_candidates <n>
//		failover {
//			first_token_timeout      <duration>
//			stream_idle_timeout      <duration>
//			continue_stalled_streams on|off
//		}
//	}
func parseGateway(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	g := new(Gateway)
	return g, g.UnmarshalCaddyfile(h.Dispenser)
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens.
func (g *Gateway) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "max_request_body":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			n, err := humanize.ParseBytes(s)
			if err != nil || n == 0 || n > math.MaxInt64 {
				return d.Errf("max_request_body: invalid size %q", s)
			}
			g.MaxRequestBody = int64(n)
		case "model_selection":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			g.ModelSelection = append(g.ModelSelection, args...)
		case "max_auto_candidates":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return d.Errf("max_auto_candidates: expected a positive number, got %q", s)
			}
			g.MaxAutoCandidates = n
		case "failover":
			if d.NextArg() {
				return d.ArgErr()
			}
			if g.Failover == nil {
				g.Failover = new(FailoverConfig)
			}
			for nesting := d.Nesting(); d.NextBlock(nesting); {
				opt := d.Val()
				var v string
				if !d.AllArgs(&v) {
					return d.ArgErr()
				}
				switch opt {
				case "first_token_timeout", "stream_idle_timeout":
					dur, err := caddy.ParseDuration(v)
					if err != nil || dur <= 0 {
						return d.Errf("%s: invalid duration %q", opt, v)
					}
					if opt == "first_token_timeout" {
						g.Failover.FirstTokenTimeout = caddy.Duration(dur)
					} else {
						g.Failover.StreamIdleTimeout = caddy.Duration(dur)
					}
				case "continue_stalled_streams":
					on := v == "on" || v == "true"
					if !on && v != "off" && v != "false" {
						return d.Errf("continue_stalled_streams: expected on or off, got %q", v)
					}
					g.Failover.ContinueStalledStreams = &on
				default:
					return d.Errf("unrecognized failover option '%s'", opt)
				}
			}
		case "firewall_policy":
			if !d.AllArgs(&g.FirewallPolicy) {
				return d.ArgErr()
			}
		default:
			return d.Errf("unrecognized ai_gateway option '%s'", d.Val())
		}
	}
	return nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Auth)(nil)
	_ caddyfile.Unmarshaler = (*Gateway)(nil)
)

// firewallconfig.go: the firewall policies of the ai app's config
// (firewall_policy NAME { … } in the Caddyfile), compiled at provision.

package caddyaigateway

import (
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/firewall"
)

// compileFirewall compiles FirewallPolicies; names must be unique.
func (a *App) compileFirewall() (err error) {
	a.firewall, err = firewall.CompilePolicies(a.FirewallPolicies)
	return err
}

// parseFirewallPolicy parses, inside `ai { }`:
//
//	firewall_policy <name> {
//		mode     enforce|dryRun
//		on_error block|continue
//		rule [<rule name>] {
//			phase    request|response
//			action   block|allow
//			message  <text>
//			# exactly one matcher:
//			tool_name <glob>
//			regex     name|arguments|text <RE2>
//			cel       <expression>
//			decision  <model> <instruction> [<timeout>]
//		}
//	}
func parseFirewallPolicy(d *caddyfile.Dispenser) (*firewall.PolicyConfig, error) {
	p := &firewall.PolicyConfig{Rules: []firewall.RuleConfig{}}
	if !d.Args(&p.Name) {
		return nil, d.Err("firewall_policy: want a name")
	}
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "mode":
			var v string
			if !d.AllArgs(&v) {
				return nil, d.ArgErr()
			}
			p.Mode = firewall.Mode(v)
		case "on_error":
			var v string
			if !d.AllArgs(&v) {
				return nil, d.ArgErr()
			}
			p.OnError = firewall.OnError(v)
		case "rule":
			r, err := parseFirewallRule(d)
			if err != nil {
				return nil, err
			}
			p.Rules = append(p.Rules, r)
		default:
			return nil, d.Errf("unrecognized firewall_policy option '%s'", opt)
		}
	}
	if err := p.Validate(); err != nil {
		return nil, d.Errf("firewall_policy %s: %v", p.Name, err)
	}
	return p, nil
}

func parseFirewallRule(d *caddyfile.Dispenser) (firewall.RuleConfig, error) {
	var r firewall.RuleConfig
	if d.NextArg() {
		r.Name = d.Val()
	}
	if d.NextArg() {
		return r, d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		args := d.RemainingArgs()
		one := func() (string, error) {
			if len(args) != 1 {
				return "", d.Errf("rule: %s takes one value", opt)
			}
			return args[0], nil
		}
		var err error
		var v string
		switch opt {
		case "phase":
			v, err = one()
			r.Phase = firewall.Phase(v)
		case "action":
			v, err = one()
			r.Action = firewall.Action(v)
		case "message":
			r.Message = strings.Join(args, " ")
		case "tool_name":
			r.ToolName, err = one()
		case "regex":
			if len(args) != 2 {
				return r, d.Err("rule: regex takes what it reads (name, arguments or text) and a pattern")
			}
			r.Regex = &firewall.RegexMatcher{On: firewall.RegexTarget(args[0]), Pattern: args[1]}
		case "cel":
			r.CEL, err = one()
		case "decision":
			if len(args) < 2 || len(args) > 3 {
				return r, d.Err("rule: decision takes a model, an instruction and optionally a timeout")
			}
			r.Decision = &firewall.DecisionMatcher{Model: args[0], Instruction: args[1]}
			if len(args) == 3 {
				dur, perr := time.ParseDuration(args[2])
				if perr != nil {
					return r, d.Errf("rule: decision timeout: %v", perr)
				}
				r.Decision.Timeout = firewall.Duration(dur)
			}
		default:
			return r, d.Errf("unrecognized firewall rule option '%s'", opt)
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

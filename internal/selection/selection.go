// Package selection picks and orders the models a request may be served by.
// An ordered list of strategies (CEL expressions or named strategies such as
// "cheapest") is tried in turn; the first that returns a non-empty list of
// candidates gives the order the gateway tries them in.
//
// A CEL strategy sees these variables (field names as in DESIGN §3):
//
//	ai.models  list(selection.Model): the candidates, in the caller's order
//	    id, provider_id, author_id                          string
//	    pricing.input, pricing.output                       double, USD per 1M tokens
//	                                                        (+Inf and has(m.pricing) == false when unpriced)
//	    max_context_window, max_output_tokens               int
//	    supported_features                                  list(string)
//	    metadata                                            map(string, string)
//	    metrics.latency_ms_avg, .latency_ms_p95, .ttft_ms_avg  double, ms
//	    metrics.error_rate                                  double, 0..1
//	    metrics.request_count                               int; 0 = no data, every metric reads 0
//	                                                        and has(m.metrics) == false
//	ai.keys    list(selection.ProviderKey): the provider keys that may serve
//	    the request, never their values:
//	    id                  string: the stored provider key's id ("" for the
//	                        operator's managed keys)
//	    provider_id         string
//	    source              string: "managed" or "user"
//	req        selection.Request: model, stream, max_tokens, input_tokens, and
//	    headers             map(string, string): the client's request headers,
//	                        lower-case names, repeated values joined with ", ";
//	                        credentials (Authorization, Proxy-Authorization,
//	                        Cookie, X-Api-Key, X-Goog-Api-Key, Api-Key) left out
//	key        selection.Key: id, name, and
//	    metadata            map(string, string): the access key's metadata, a
//	                        JSON object's members (see MetadataMap)
//
// req.headers, ai.keys and key.metadata are built the first time a strategy
// reads them, so a request whose strategies do not pays nothing for them.
//
// and, besides standard CEL, these member functions on a list of models:
// onlyProviders(list(string) or string), ignoreProviders(list(string) or
// string), underCost(number), sortBy("price" | "latency" | "ttft") and
// randomize(). Ints and doubles compare with each other, so
// `m.metrics.latency_ms_avg < 500` is fine.
//
// A strategy evaluates to a list of models, or to a list of model names
// ("gpt-4o" or "openai:gpt-4o"), which are mapped back to the candidates.
// Either way the result only ever contains candidates: a strategy filters
// and reorders, it can never add a model.
package selection

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/checker"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/catalog"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/money"
)

// Candidate is one model the request may be served by.
type Candidate struct {
	ID         string // model id, e.g. "gpt-4o"
	ProviderID string // e.g. "openai"
	AuthorID   string // who made the model ("openai", "anthropic", "meta"); may equal ProviderID

	// InputPrice and OutputPrice are the prices per 1M tokens; meaningful
	// only when Priced.
	InputPrice, OutputPrice money.PerMillion
	Priced                  bool

	MaxContextWindow, MaxOutputTokens int64
	Features                          []string
	Metadata                          map[string]string
	Metrics                           Metrics
}

// Metrics are a candidate's live numbers from the gateway's rolling window.
type Metrics struct {
	LatencyMsAvg, LatencyMsP95, TTFTMsAvg float64
	ErrorRate                             float64 // 0..1
	RequestCount                          int64   // 0 = no data: the other fields mean nothing
}

// FromCatalog makes a candidate from a catalog model. AuthorID is the
// model's "author" metadata when set, else the provider. Metrics are left
// for the caller.
func FromCatalog(providerID string, m *catalog.Model) Candidate {
	c := Candidate{
		ID:               m.ID,
		ProviderID:       providerID,
		AuthorID:         providerID,
		MaxContextWindow: m.ContextWindow,
		MaxOutputTokens:  m.MaxOutputTokens,
		Features:         m.Features,
		Metadata:         m.Metadata,
	}
	if a := m.Metadata["author"]; a != "" {
		c.AuthorID = a
	}
	if m.Pricing.Priced() {
		c.InputPrice, c.OutputPrice, c.Priced = *m.Pricing.Input, *m.Pricing.Output, true
	}
	return c
}

// Request is what a strategy may know about the request.
type Request struct {
	Model       string // the model the client asked for, e.g. "auto"
	Stream      bool
	MaxTokens   int64
	InputTokens int64 // estimate

	// Headers are req.headers, keyed by lower-case name. When nil, they
	// are built from HTTPHeader (see HeaderMap, which leaves credentials
	// out) the first time a strategy reads req.headers.
	Headers    map[string]string
	HTTPHeader http.Header

	// ProviderKeys are the provider keys that may serve the request
	// (ai.keys); may be empty. When nil, ProviderKeysFunc (if set) supplies
	// them the first time a strategy reads ai.keys.
	ProviderKeys     []ProviderKey
	ProviderKeysFunc func() []ProviderKey

	// CEL views built on first use, for one Select call.
	headersVal ref.Val
	keysVal    ref.Val
}

// ProviderKey is one provider key as a strategy sees it: no secret.
type ProviderKey struct {
	ID         string // the stored provider key's id; "" for a managed key
	ProviderID string
	Source     string // "managed" (the operator's) or "user" (the customer's)
}

// Key is the access key the request came with.
type Key struct {
	ID, Name string
	// Metadata is key.metadata. When nil, it is parsed from RawMetadata
	// (see MetadataMap) the first time a strategy reads key.metadata.
	Metadata    map[string]string
	RawMetadata string

	metadataVal ref.Val
}

// Strategy is one compiled model selection strategy. It is immutable and
// safe for concurrent use.
type Strategy struct {
	// Name is the strategy as written: a named strategy or CEL source.
	Name string

	named namedStrategy
	prg   cel.Program
	// fast is the compiled form of prg (see compiled.go); nil when the
	// expression is outside the compiled subset.
	fast *fastProgram
}

func (s *Strategy) String() string { return s.Name }

// Compile compiles and type-checks one strategy: a named strategy
// ("cheapest", "fastest", "most_reliable") or a CEL expression that
// evaluates to a list of models or of model names. Errors carry the position
// of the problem, e.g. "ERROR: <input>:1:15: undeclared reference to 'foo'".
func Compile(src string) (*Strategy, error) {
	src = strings.TrimSpace(src)
	if src == "" {
		return nil, errors.New("empty model selection strategy")
	}
	if n, ok := namedStrategies[src]; ok {
		return &Strategy{Name: src, named: n}, nil
	}
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("building the model selection environment: %w", err)
	}
	checked, iss := env.Compile(src)
	if err := iss.Err(); err != nil {
		return nil, fmt.Errorf("invalid model selection strategy: %w", err)
	}
	// A strategy whose estimated worst case fits the limit runs without
	// the runtime cost tracker (which costs more than the evaluation: an
	// allocation per operation); one that may not is tracked and stopped.
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	tracked := false
	if est, err := env.EstimateCost(checked, sizeBounds{}); err != nil || est.Max > CostLimit {
		opts = append(opts, cel.CostLimit(CostLimit))
		tracked = true
	}
	prg, err := env.Program(checked, opts...)
	if err != nil {
		return nil, fmt.Errorf("preparing model selection strategy: %w", err)
	}
	s := &Strategy{Name: src, prg: prg}
	s.fast, _ = compileFast(checked)
	if s.fast != nil && tracked {
		// The program runs with a cost tracker. The compiled form has
		// none, so it may run only where the tracker could not stop the
		// program: where the estimate fits the limit with every size the
		// expression reads at most guardSize (checked per evaluation).
		s.fast.guard = guardSize(env, checked)
		if s.fast.guard == 0 {
			s.fast = nil
		}
	}
	return s, nil
}

// guardSize returns the largest of a few size bounds under which the
// estimated cost of checked fits CostLimit, or 0.
func guardSize(env *cel.Env, checked *cel.Ast) int {
	for _, n := range []int{4096, 1024, 256, 64} {
		if est, err := env.EstimateCost(checked, sizeBounds{max: uint64(n)}); err == nil && est.Max <= CostLimit {
			return n
		}
	}
	return 0
}

// Validate reports whether src compiles, for checking a strategy when it is
// written (management API, caddy validate).
func Validate(src string) error {
	_, err := Compile(src)
	return err
}

// EvalError is a strategy that failed to evaluate: a runtime error such as a
// missing map key, a result of the wrong type, or the cost limit.
type EvalError struct {
	Index    int    // position in the strategy list
	Strategy string // its Name
	Err      error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("evaluating model selection strategy %d (%s): %v", e.Index, e.Strategy, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

// Select runs the strategies in order; the first that returns a non-empty
// list wins and gives the order. It returns that ordered list (a new slice)
// and the winner's index.
//
// A strategy only filters and reorders cands: whatever it returns, the result
// is a subset of cands, each at most once, in the order the strategy gave.
// This holds whether the client named its models or asked for auto, so
// Select needs no flag for it.
//
// When no strategy returns anything, Select returns cands itself and -1:
// whether to serve the candidates in their given order or refuse the
// request is the caller's decision. An evaluation error stops Select with
// an *EvalError naming the strategy; it never falls through silently.
func Select(strategies []*Strategy, cands []Candidate, req Request, key Key) (ordered []Candidate, winner int, err error) {
	var x *evalCtx
	order, winner, err := selectOrder(strategies, cands, &req, &key, &x)
	if x != nil {
		defer x.release() // order may live in x's arena
	}
	if err != nil || winner < 0 {
		if err == nil {
			return cands, -1, nil
		}
		return nil, -1, err
	}
	ordered = make([]Candidate, len(order))
	for j, pos := range order {
		ordered[j] = cands[pos]
	}
	return ordered, winner, nil
}

// SelectOrder is Select giving the winner's order as positions in cands (a
// new slice) instead of a copy of the candidates, for a caller that maps
// them back to its own values; order is nil when winner is -1.
func SelectOrder(strategies []*Strategy, cands []Candidate, req Request, key Key) (order []int, winner int, err error) {
	var x *evalCtx
	order, winner, err = selectOrder(strategies, cands, &req, &key, &x)
	if x != nil {
		order = slices.Clone(order)
		x.release()
	}
	if err != nil || winner < 0 {
		return nil, winner, err
	}
	return order, winner, nil
}

// selectOrder runs the strategies. The CEL strategies share a pooled
// context, *x (created on first use), which holds the request and key that
// both the compiled strategies and the cel-go programs read; the order may
// live in it, so the caller releases it after reading the order.
func selectOrder(strategies []*Strategy, cands []Candidate, req *Request, key *Key, x **evalCtx) (order []int, winner int, err error) {
	var act *activation
	for i, s := range strategies {
		if s.named != notNamed {
			order = s.named.order(cands, req)
		} else {
			if *x == nil {
				*x = getCtx(cands, req, key)
			}
			done := false
			if s.fast != nil {
				order, done, err = s.fast.run(*x)
			}
			if !done {
				if act == nil {
					act = newActivation(cands, (*x).req, (*x).key)
				}
				order, err = s.evalCEL(act, cands)
			}
			if err != nil {
				return nil, -1, &EvalError{Index: i, Strategy: s.Name, Err: err}
			}
		}
		if len(order) > 0 {
			return order, i, nil
		}
	}
	return nil, -1, nil
}

// evalCEL runs the strategy's cel-go program.
func (s *Strategy) evalCEL(act *activation, cands []Candidate) ([]int, error) {
	out, _, err := s.prg.Eval(act)
	if err != nil {
		return nil, err
	}
	return resultOrder(out, cands)
}

func newActivation(cands []Candidate, req *Request, key *Key) *activation {
	vals := make([]modelVal, len(cands))
	refs := make([]ref.Val, len(cands))
	for i := range cands {
		vals[i] = modelVal{c: &cands[i], idx: i}
		refs[i] = &vals[i]
	}
	return &activation{
		ai:  &aiVal{models: types.NewRefValList(adapter, refs), req: req},
		req: requestVal{req},
		key: keyVal{key},
	}
}

// resultOrder maps a strategy's result to candidate positions, dropping
// duplicates and anything that is not a candidate.
func resultOrder(out ref.Val, cands []Candidate) ([]int, error) {
	l, ok := out.(traits.Lister)
	if !ok {
		return nil, fmt.Errorf("result is a %s, not a list of models", out.Type().TypeName())
	}
	n := int(l.Size().(types.Int))
	if n == 0 {
		return nil, nil
	}
	seen := make([]bool, len(cands))
	order := make([]int, 0, n)
	add := func(pos int) {
		if !seen[pos] {
			seen[pos] = true
			order = append(order, pos)
		}
	}
	for i := range n {
		switch e := l.Get(types.Int(i)).(type) {
		case *modelVal:
			// The views are made from cands, so this holds; checking it
			// keeps the subset guarantee independent of that.
			if e.idx < len(cands) && e.c == &cands[e.idx] {
				add(e.idx)
			}
		case types.String:
			for pos := range cands {
				if namesCandidate(string(e), &cands[pos]) {
					add(pos)
				}
			}
		case *types.Err:
			return nil, e
		default:
			return nil, fmt.Errorf("result list holds a %s; want models or model names", e.Type().TypeName())
		}
	}
	return order, nil
}

// namesCandidate reports whether name ("gpt-4o" or "openai:gpt-4o",
// case-insensitive) is c. A bare id names the model at every provider.
// Model ids may contain ':' themselves (Ollama's "llama3:8b"), so the bare
// form is tried first.
func namesCandidate(name string, c *Candidate) bool {
	if strings.EqualFold(name, c.ID) {
		return true
	}
	p := len(c.ProviderID)
	return len(name) == p+1+len(c.ID) && name[p] == ':' &&
		strings.EqualFold(name[:p], c.ProviderID) && strings.EqualFold(name[p+1:], c.ID)
}

// maxEstimatedSize bounds, for the static cost estimate, every list, map
// and string a strategy reads: far above the candidates and keys a request
// has (a catalog of a few hundred models).
const maxEstimatedSize = 10_000

// sizeBounds gives the cost estimator the sizes of what strategies read:
// at most max, or maxEstimatedSize when max is 0.
type sizeBounds struct{ max uint64 }

func (b sizeBounds) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	if b.max > 0 {
		return &checker.SizeEstimate{Min: 0, Max: b.max}
	}
	return &checker.SizeEstimate{Min: 0, Max: maxEstimatedSize}
}

func (sizeBounds) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

package selection

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/celview"
)

// The compiled fast path. cel-go's interpreter boxes every value it reads
// and builds a new list per filter step, which puts a strategy over 50
// candidates at tens of microseconds. Most strategies are a few filters and
// a sortBy over ai.models, so at compile time the checked AST is inspected:
// when every node is in the subset below, the expression is turned into Go
// closures over the Candidate structs (no ref.Val, lists as candidate
// positions); otherwise the strategy runs on the cel-go program, unchanged.
//
// The subset (anything else falls back):
//
//	lists of models  ai.models, [], l1 + l2, c ? l1 : l2,
//	                 l.filter(m, pred) (not inside another filter),
//	                 l.sortBy(s), l.onlyProviders(s | list(string)),
//	                 l.ignoreProviders(...), l.underCost(number), l.randomize()
//	bool             literals, &&, ||, !, c ? a : b, ==, != (bool, int,
//	                 double, string), <, <=, >, >= (int, double, string,
//	                 int with double), s in list(string), s in map,
//	                 startsWith, endsWith, contains, has(...)
//	int, double      literals, fields, + - * / % and unary - (int with
//	                 overflow and division errors), double(int),
//	                 size(string | list(string) | map | models)
//	string           literals, fields, +, map[s], map.key, list(string)[i]
//	variables        the filter's model (every field), ai.models, req.model,
//	                 req.stream, req.max_tokens, req.input_tokens,
//	                 req.headers, key.id, key.name, key.metadata
//
// Semantics follow cel-go's exactly, errors included: && and || absorb an
// error when another term decides the result, a filter whose predicate
// fails on several models reports the last failure (the accumulator takes
// each error in turn), NaN never orders and never equals, ints and doubles
// compare across types as cel-go does. TestCompiledMatchesCEL and
// FuzzCompiledMatchesCEL hold the two paths to the same results.
//
// Cost: a strategy whose estimated worst case fits CostLimit runs in cel-go
// without a cost tracker, so it can never fail on cost and neither does the
// compiled form. One that does not fit is compiled only if its estimate fits
// when every list, map and string it reads is at most guardSize long; each
// evaluation then checks those sizes first and, if one is larger, runs the
// cel-go program (with its tracker) instead.

// fastProgram is a compiled strategy.
type fastProgram struct {
	list  listFn
	dups  bool  // the result may hold a candidate twice (list concatenation)
	guard int   // 0: no size guard; else the bound every read size must keep
	reads reads // what the guard checks
}

// evalCtx is one evaluation: the inputs and scratch space reused through a
// pool, so a typical evaluation allocates nothing.
type evalCtx struct {
	cands []Candidate
	req   *Request // &reqv
	key   *Key     // &keyv
	// The request and key, copied here so that they do not escape to the
	// heap per call; the cel-go fallback reads them from here too.
	reqv  Request
	keyv  Key
	arena []int       // backing store for position lists
	ranks []sortEntry // sortBy's scratch
}

var ctxPool = sync.Pool{New: func() any { return new(evalCtx) }}

// ints returns a zeroed list of n positions with no spare capacity, so an
// append copies instead of writing over a neighbour.
func (x *evalCtx) ints(n int) []int {
	if cap(x.arena)-len(x.arena) < n {
		x.arena = make([]int, 0, max(2*cap(x.arena), 4*n, 64))
	}
	l := len(x.arena)
	x.arena = x.arena[:l+n]
	return x.arena[l : l+n : l+n]
}

func (x *evalCtx) headers() map[string]string {
	r := x.req
	if r.Headers == nil && r.HTTPHeader != nil {
		r.Headers = HeaderMap(r.HTTPHeader)
	}
	return r.Headers
}

func (x *evalCtx) keyMetadata() map[string]string {
	k := x.key
	if k.Metadata == nil && k.RawMetadata != "" {
		k.Metadata = MetadataMap(k.RawMetadata)
	}
	return k.Metadata
}

func getCtx(cands []Candidate, req *Request, key *Key) *evalCtx {
	x := ctxPool.Get().(*evalCtx)
	x.cands, x.reqv, x.keyv = cands, *req, *key
	x.req, x.key = &x.reqv, &x.keyv
	return x
}

// release returns x to the pool; the lists it handed out are invalid after.
func (x *evalCtx) release() {
	x.cands, x.reqv, x.keyv = nil, Request{}, Key{}
	x.arena = x.arena[:0]
	ctxPool.Put(x)
}

// run evaluates the compiled strategy to candidate positions, valid until
// x is released. ok false means a size guard did not hold: the caller must
// run the cel-go program instead.
func (p *fastProgram) run(x *evalCtx) (order []int, ok bool, err error) {
	if p.guard > 0 && !p.fits(x) {
		return nil, false, nil
	}
	l, err := p.list(x)
	if err != nil {
		return nil, true, err
	}
	if p.dups && len(l) > 1 {
		seen := make([]bool, len(x.cands))
		out := l[:0]
		for _, pos := range l {
			if !seen[pos] {
				seen[pos] = true
				out = append(out, pos)
			}
		}
		l = out
	}
	return l, true, nil
}

// Closures over one evaluation; c is the filter's model (nil outside a
// filter, where the compiler lets no model field through).
type (
	boolFn  func(x *evalCtx, c *Candidate) (bool, error)
	intFn   func(x *evalCtx, c *Candidate) (int64, error)
	dblFn   func(x *evalCtx, c *Candidate) (float64, error)
	strFn   func(x *evalCtx, c *Candidate) (string, error)
	strsFn  func(x *evalCtx, c *Candidate) ([]string, error)
	smapFn  func(x *evalCtx, c *Candidate) (map[string]string, error)
	listFn  func(x *evalCtx) ([]int, error) // candidate positions, a list the caller owns
	kind    uint8
	reads   uint16
	compErr struct{ why string }
)

const (
	kBool kind = iota + 1
	kInt
	kDouble
	kString
	kStrings // list(string)
	kSMap    // map(string, string)
	kModels  // list(selection.Model)
	kModel   // the filter's model
	kPricing // its pricing
	kMetrics // its metrics
	kAI
	kReq
	kKey
)

// The inputs of variable size an expression reads, for the size guard.
const (
	readModelStrings reads = 1 << iota // id, provider_id, author_id
	readFeatures
	readMetadata
	readReqModel
	readHeaders
	readKeyStrings // key.id, key.name
	readKeyMetadata
)

// node is one compiled expression; the field for its kind is set.
type node struct {
	k kind
	b boolFn
	i intFn
	d dblFn
	s strFn
	l strsFn
	m smapFn
	v listFn

	// A model field read that cannot fail, for the specialized
	// comparisons (see fieldCompare).
	fs func(*Candidate) string
	fi func(*Candidate) int64
	fd func(*Candidate) float64

	constStrs []string // a list literal of constant strings
	isConst   bool     // a literal: its value is below
	constStr  string
	constInt  int64
	constDbl  float64
}

type compiler struct {
	a     *ast.AST
	iter  string // the filter variable in scope, "" outside a filter
	dups  bool
	reads reads
}

func unsupported(format string, args ...any) {
	panic(compErr{fmt.Sprintf(format, args...)})
}

// compileFast compiles a checked strategy, or returns nil and the reason
// when it is outside the subset.
func compileFast(checked *cel.Ast) (p *fastProgram, why string) {
	defer func() {
		if r := recover(); r != nil {
			ce, ok := r.(compErr)
			if !ok {
				panic(r)
			}
			p, why = nil, ce.why
		}
	}()
	c := &compiler{a: checked.NativeRep()}
	n := c.expr(c.a.Expr())
	if n.k != kModels {
		unsupported("the result is not a list of models")
	}
	return &fastProgram{list: n.v, dups: c.dups, reads: c.reads}, ""
}

func (c *compiler) expr(e ast.Expr) node {
	switch e.Kind() {
	case ast.LiteralKind:
		switch v := e.AsLiteral().(type) {
		case types.Bool:
			b := bool(v)
			return node{k: kBool, b: func(*evalCtx, *Candidate) (bool, error) { return b, nil }}
		case types.Int:
			i := int64(v)
			return node{k: kInt, i: func(*evalCtx, *Candidate) (int64, error) { return i, nil }, isConst: true, constInt: i}
		case types.Double:
			d := float64(v)
			return node{k: kDouble, d: func(*evalCtx, *Candidate) (float64, error) { return d, nil }, isConst: true, constDbl: d}
		case types.String:
			s := string(v)
			return node{k: kString, s: func(*evalCtx, *Candidate) (string, error) { return s, nil }, isConst: true, constStr: s}
		}
		unsupported("literal %T", e.AsLiteral())
	case ast.IdentKind:
		switch name := e.AsIdent(); {
		case c.iter != "" && name == c.iter:
			return node{k: kModel}
		case name == "ai":
			return node{k: kAI}
		case name == "req":
			return node{k: kReq}
		case name == "key":
			return node{k: kKey}
		default:
			unsupported("identifier %s", name)
		}
	case ast.SelectKind:
		if _, qualified := c.a.ReferenceMap()[e.ID()]; qualified {
			unsupported("qualified name")
		}
		s := e.AsSelect()
		op := c.expr(s.Operand())
		if s.IsTestOnly() {
			return c.has(op, s.FieldName())
		}
		return c.field(op, s.FieldName())
	case ast.CallKind:
		return c.call(e)
	case ast.ListKind:
		return c.list(e)
	case ast.ComprehensionKind:
		return c.filter(e)
	}
	unsupported("expression kind %v", e.Kind())
	return node{}
}

func (c *compiler) list(e ast.Expr) node {
	l := e.AsList()
	if len(l.OptionalIndices()) > 0 {
		unsupported("optional list elements")
	}
	elems := l.Elements()
	if len(elems) == 0 {
		if c.iter != "" {
			unsupported("a list of models inside a filter")
		}
		// [] is an empty list of models wherever this subset takes one.
		return node{k: kModels, v: func(*evalCtx) ([]int, error) { return nil, nil }}
	}
	fns := make([]strFn, len(elems))
	consts := make([]string, len(elems))
	allConst := true
	for i, el := range elems {
		n := c.expr(el)
		if n.k != kString {
			unsupported("list literal of non-strings")
		}
		fns[i] = n.s
		consts[i] = n.constStr
		allConst = allConst && n.isConst
	}
	if allConst {
		return node{k: kStrings, constStrs: consts, l: func(*evalCtx, *Candidate) ([]string, error) { return consts, nil }}
	}
	return node{k: kStrings, l: func(x *evalCtx, m *Candidate) ([]string, error) {
		out := make([]string, len(fns))
		for i, f := range fns {
			s, err := f(x, m)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}}
}

// filter compiles the filter macro: a comprehension with an empty list
// accumulator, condition true, step `pred ? accu + [v] : accu` and result
// accu. Any other comprehension (exists, all, map, ...) falls back.
func (c *compiler) filter(e ast.Expr) node {
	f := e.AsComprehension()
	if f.HasIterVar2() || c.iter != "" {
		unsupported("comprehension shape")
	}
	accu, v := f.AccuVar(), f.IterVar()
	isAccu := func(x ast.Expr) bool { return x.Kind() == ast.IdentKind && x.AsIdent() == accu }
	init, cond, step, res := f.AccuInit(), f.LoopCondition(), f.LoopStep(), f.Result()
	if init.Kind() != ast.ListKind || len(init.AsList().Elements()) != 0 ||
		cond.Kind() != ast.LiteralKind || cond.AsLiteral() != types.True ||
		!isAccu(res) || step.Kind() != ast.CallKind {
		unsupported("comprehension shape")
	}
	sc := step.AsCall()
	if sc.FunctionName() != operators.Conditional || sc.IsMemberFunction() || len(sc.Args()) != 3 || !isAccu(sc.Args()[2]) {
		unsupported("comprehension shape")
	}
	add := sc.Args()[1]
	if add.Kind() != ast.CallKind {
		unsupported("comprehension shape")
	}
	ac := add.AsCall()
	if ac.FunctionName() != operators.Add || len(ac.Args()) != 2 || !isAccu(ac.Args()[0]) || ac.Args()[1].Kind() != ast.ListKind {
		unsupported("comprehension shape")
	}
	one := ac.Args()[1].AsList()
	if len(one.Elements()) != 1 || len(one.OptionalIndices()) > 0 ||
		one.Elements()[0].Kind() != ast.IdentKind || one.Elements()[0].AsIdent() != v {
		unsupported("comprehension shape")
	}
	rng := c.expr(f.IterRange())
	if rng.k != kModels {
		unsupported("filter over something other than models")
	}
	if v == accu {
		unsupported("comprehension shape")
	}
	c.iter = v
	pred := c.expr(sc.Args()[0])
	c.iter = ""
	if pred.k != kBool {
		unsupported("filter predicate is not a bool")
	}
	src, p := rng.v, pred.b
	return node{k: kModels, v: func(x *evalCtx) ([]int, error) {
		l, err := src(x)
		if err != nil {
			return nil, err
		}
		// In place: l is ours, and writes trail reads.
		out := l[:0]
		var last error
		for _, pos := range l {
			keep, err := p(x, &x.cands[pos])
			if err != nil {
				last = err
				continue
			}
			if keep {
				out = append(out, pos)
			}
		}
		if last != nil {
			return nil, last
		}
		return out, nil
	}}
}

func (c *compiler) has(op node, name string) node {
	var f boolFn
	switch op.k {
	case kModel:
		switch name {
		case "pricing":
			f = func(_ *evalCtx, m *Candidate) (bool, error) { return m.Priced, nil }
		case "metrics":
			f = func(_ *evalCtx, m *Candidate) (bool, error) { return m.Metrics.RequestCount > 0, nil }
		case "supported_features":
			f = func(_ *evalCtx, m *Candidate) (bool, error) { return len(m.Features) > 0, nil }
		case "metadata":
			f = func(_ *evalCtx, m *Candidate) (bool, error) { return len(m.Metadata) > 0, nil }
		}
		if f != nil {
			return node{k: kBool, b: f}
		}
	case kSMap:
		get := op.m
		return node{k: kBool, b: func(x *evalCtx, m *Candidate) (bool, error) {
			mp, err := get(x, m)
			if err != nil {
				return false, err
			}
			_, ok := mp[name]
			return ok, nil
		}}
	case kPricing, kMetrics, kReq, kKey, kAI:
	default:
		unsupported("has() on this operand")
	}
	// Every other field of a view is always set; the checker has vetted
	// the name.
	if o := viewObject(op.k); o == nil || !o.HasField(name) {
		unsupported("has() of field %s", name)
	}
	return node{k: kBool, b: func(*evalCtx, *Candidate) (bool, error) { return true, nil }}
}

func viewObject(k kind) *celview.Object {
	switch k {
	case kModel:
		return modelObject
	case kPricing:
		return pricingObject
	case kMetrics:
		return metricsObject
	case kAI:
		return aiObject
	case kReq:
		return requestObject
	case kKey:
		return keyObject
	}
	return nil
}

func (c *compiler) field(op node, name string) node {
	str := func(f func(*Candidate) string) node {
		c.reads |= readModelStrings
		return node{k: kString, s: func(_ *evalCtx, m *Candidate) (string, error) { return f(m), nil }, fs: f}
	}
	i64 := func(f func(*Candidate) int64) node {
		return node{k: kInt, i: func(_ *evalCtx, m *Candidate) (int64, error) { return f(m), nil }, fi: f}
	}
	dbl := func(f func(*Candidate) float64) node {
		return node{k: kDouble, d: func(_ *evalCtx, m *Candidate) (float64, error) { return f(m), nil }, fd: f}
	}
	switch op.k {
	case kAI:
		if name == "models" {
			if c.iter != "" {
				unsupported("a list of models inside a filter")
			}
			return node{k: kModels, v: func(x *evalCtx) ([]int, error) {
				l := x.ints(len(x.cands))
				for i := range l {
					l[i] = i
				}
				return l, nil
			}}
		}
	case kModel:
		switch name {
		case "id":
			return str(func(m *Candidate) string { return m.ID })
		case "provider_id":
			return str(func(m *Candidate) string { return m.ProviderID })
		case "author_id":
			return str(func(m *Candidate) string { return m.AuthorID })
		case "max_context_window":
			return i64(func(m *Candidate) int64 { return m.MaxContextWindow })
		case "max_output_tokens":
			return i64(func(m *Candidate) int64 { return m.MaxOutputTokens })
		case "supported_features":
			c.reads |= readFeatures
			return node{k: kStrings, l: func(_ *evalCtx, m *Candidate) ([]string, error) { return m.Features, nil }}
		case "metadata":
			c.reads |= readMetadata
			return node{k: kSMap, m: func(_ *evalCtx, m *Candidate) (map[string]string, error) { return m.Metadata, nil }}
		case "pricing":
			return node{k: kPricing}
		case "metrics":
			return node{k: kMetrics}
		}
	case kPricing:
		switch name {
		case "input":
			return dbl(func(m *Candidate) float64 {
				if !m.Priced {
					return math.Inf(1)
				}
				return usd(int64(m.InputPrice))
			})
		case "output":
			return dbl(func(m *Candidate) float64 {
				if !m.Priced {
					return math.Inf(1)
				}
				return usd(int64(m.OutputPrice))
			})
		}
	case kMetrics:
		switch name {
		case "latency_ms_avg":
			return dbl(func(m *Candidate) float64 { return m.Metrics.LatencyMsAvg })
		case "latency_ms_p95":
			return dbl(func(m *Candidate) float64 { return m.Metrics.LatencyMsP95 })
		case "ttft_ms_avg":
			return dbl(func(m *Candidate) float64 { return m.Metrics.TTFTMsAvg })
		case "error_rate":
			return dbl(func(m *Candidate) float64 { return m.Metrics.ErrorRate })
		case "request_count":
			return i64(func(m *Candidate) int64 { return m.Metrics.RequestCount })
		}
	case kReq:
		switch name {
		case "model":
			c.reads |= readReqModel
			return node{k: kString, s: func(x *evalCtx, _ *Candidate) (string, error) { return x.req.Model, nil }}
		case "stream":
			return node{k: kBool, b: func(x *evalCtx, _ *Candidate) (bool, error) { return x.req.Stream, nil }}
		case "max_tokens":
			return node{k: kInt, i: func(x *evalCtx, _ *Candidate) (int64, error) { return x.req.MaxTokens, nil }}
		case "input_tokens":
			return node{k: kInt, i: func(x *evalCtx, _ *Candidate) (int64, error) { return x.req.InputTokens, nil }}
		case "headers":
			c.reads |= readHeaders
			return node{k: kSMap, m: func(x *evalCtx, _ *Candidate) (map[string]string, error) { return x.headers(), nil }}
		}
	case kKey:
		switch name {
		case "id":
			c.reads |= readKeyStrings
			return node{k: kString, s: func(x *evalCtx, _ *Candidate) (string, error) { return x.key.ID, nil }}
		case "name":
			c.reads |= readKeyStrings
			return node{k: kString, s: func(x *evalCtx, _ *Candidate) (string, error) { return x.key.Name, nil }}
		case "metadata":
			c.reads |= readKeyMetadata
			return node{k: kSMap, m: func(x *evalCtx, _ *Candidate) (map[string]string, error) { return x.keyMetadata(), nil }}
		}
	case kSMap:
		return mapGet(op.m, func(*evalCtx, *Candidate) (string, error) { return name, nil })
	}
	unsupported("field %s", name)
	return node{}
}

func mapGet(get smapFn, key strFn) node {
	return node{k: kString, s: func(x *evalCtx, m *Candidate) (string, error) {
		mp, err := get(x, m)
		if err != nil {
			return "", err
		}
		k, err := key(x, m)
		if err != nil {
			return "", err
		}
		v, ok := mp[k]
		if !ok {
			return "", noSuchKey(k)
		}
		return v, nil
	}}
}

func noSuchKey(k string) error { return fmt.Errorf("no such key: %s", k) }

var (
	errIntOverflow   = errors.New("integer overflow")
	errDivideByZero  = errors.New("division by zero")
	errModulusByZero = errors.New("modulus by zero")
)

func (c *compiler) call(e ast.Expr) node {
	call := e.AsCall()
	fn := call.FunctionName()
	var target node
	if call.IsMemberFunction() {
		target = c.expr(call.Target())
	}
	args := make([]node, len(call.Args()))
	for i, a := range call.Args() {
		args[i] = c.expr(a)
	}
	if call.IsMemberFunction() {
		return c.member(fn, target, args)
	}
	switch {
	case fn == operators.LogicalAnd || fn == operators.LogicalOr:
		if len(args) != 2 || args[0].k != kBool || args[1].k != kBool {
			break
		}
		return logical(fn == operators.LogicalAnd, args[0].b, args[1].b)
	case fn == operators.LogicalNot && len(args) == 1 && args[0].k == kBool:
		a := args[0].b
		return node{k: kBool, b: func(x *evalCtx, m *Candidate) (bool, error) {
			v, err := a(x, m)
			return !v, err
		}}
	case fn == operators.Conditional && len(args) == 3 && args[0].k == kBool:
		return conditional(args[0].b, args[1], args[2])
	case fn == operators.Equals || fn == operators.NotEquals:
		if len(args) == 2 {
			return equality(fn == operators.NotEquals, args[0], args[1])
		}
	case fn == operators.Less || fn == operators.LessEquals || fn == operators.Greater || fn == operators.GreaterEquals:
		if len(args) == 2 {
			return ordering(fn, args[0], args[1])
		}
	case fn == operators.Add || fn == operators.Subtract || fn == operators.Multiply ||
		fn == operators.Divide || fn == operators.Modulo:
		if len(args) == 2 {
			return c.arith(fn, args[0], args[1])
		}
	case fn == operators.Negate && len(args) == 1:
		return negate(args[0])
	case fn == operators.In && len(args) == 2:
		return in(args[0], args[1])
	case fn == operators.Index && len(args) == 2:
		return index(args[0], args[1])
	case fn == "size" && len(args) == 1:
		return size(args[0])
	case fn == "double" && len(args) == 1 && args[0].k == kInt:
		a := args[0].i
		return node{k: kDouble, d: func(x *evalCtx, m *Candidate) (float64, error) {
			v, err := a(x, m)
			return float64(v), err
		}}
	}
	unsupported("function %s", fn)
	return node{}
}

// logical mirrors cel-go's && and ||: terms are evaluated left to right;
// the deciding value (false for &&, true for ||) wins even over an error
// from an earlier term; otherwise the first error, if any, is the result.
func logical(and bool, a, b boolFn) node {
	decide := !and
	return node{k: kBool, b: func(x *evalCtx, m *Candidate) (bool, error) {
		va, ea := a(x, m)
		if ea == nil && va == decide {
			return decide, nil
		}
		vb, eb := b(x, m)
		if eb == nil && vb == decide {
			return decide, nil
		}
		if ea != nil {
			return false, ea
		}
		if eb != nil {
			return false, eb
		}
		return !decide, nil
	}}
}

// choose is cond ? fa : fb over one candidate; an error of cond is the
// result's.
func choose[T any](cond boolFn, fa, fb func(*evalCtx, *Candidate) (T, error)) func(*evalCtx, *Candidate) (T, error) {
	return func(x *evalCtx, m *Candidate) (T, error) {
		ok, err := cond(x, m)
		if err != nil {
			var zero T
			return zero, err
		}
		if ok {
			return fa(x, m)
		}
		return fb(x, m)
	}
}

func conditional(cond boolFn, a, b node) node {
	if a.k != b.k {
		unsupported("conditional over mixed kinds")
	}
	switch a.k {
	case kModels:
		fa, fb := a.v, b.v
		return node{k: kModels, v: func(x *evalCtx) ([]int, error) {
			ok, err := cond(x, nil)
			if err != nil {
				return nil, err
			}
			if ok {
				return fa(x)
			}
			return fb(x)
		}}
	case kBool:
		return node{k: kBool, b: choose(cond, a.b, b.b)}
	case kInt:
		return node{k: kInt, i: choose(cond, a.i, b.i)}
	case kDouble:
		return node{k: kDouble, d: choose(cond, a.d, b.d)}
	case kString:
		return node{k: kString, s: choose(cond, a.s, b.s)}
	}
	unsupported("conditional over this kind")
	return node{}
}

// Numeric comparison as cel-go's types package does it.

func cmpDouble(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpDoubleInt(d float64, i int64) int {
	if d < math.MinInt64 {
		return -1
	}
	if d > math.MaxInt64 {
		return 1
	}
	return cmpDouble(d, float64(i))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// binary evaluates two operands strictly, left first, as cel-go does.
func binary[A, B, R any](fa func(*evalCtx, *Candidate) (A, error), fb func(*evalCtx, *Candidate) (B, error),
	op func(A, B) (R, error)) func(*evalCtx, *Candidate) (R, error) {
	return func(x *evalCtx, m *Candidate) (R, error) {
		a, err := fa(x, m)
		if err != nil {
			var zero R
			return zero, err
		}
		b, err := fb(x, m)
		if err != nil {
			var zero R
			return zero, err
		}
		return op(a, b)
	}
}

func equality(ne bool, a, b node) node {
	fn := operators.Equals
	if ne {
		fn = operators.NotEquals
	}
	if f := fieldCompare(fn, a, b); f != nil {
		return node{k: kBool, b: f}
	}
	var f boolFn
	switch {
	case a.k == kBool && b.k == kBool:
		f = binary(a.b, b.b, func(p, q bool) (bool, error) { return (p == q) != ne, nil })
	case a.k == kInt && b.k == kInt:
		f = binary(a.i, b.i, func(p, q int64) (bool, error) { return (p == q) != ne, nil })
	case a.k == kString && b.k == kString:
		f = binary(a.s, b.s, func(p, q string) (bool, error) { return (p == q) != ne, nil })
	case a.k == kDouble && b.k == kDouble:
		f = binary(a.d, b.d, func(p, q float64) (bool, error) {
			return (!math.IsNaN(p) && !math.IsNaN(q) && p == q) != ne, nil
		})
	case a.k == kInt && b.k == kDouble:
		f = binary(a.i, b.d, func(p int64, q float64) (bool, error) {
			return (!math.IsNaN(q) && cmpDoubleInt(q, p) == 0) != ne, nil
		})
	case a.k == kDouble && b.k == kInt:
		f = binary(a.d, b.i, func(p float64, q int64) (bool, error) {
			return (!math.IsNaN(p) && cmpDoubleInt(p, q) == 0) != ne, nil
		})
	default:
		unsupported("equality of these kinds")
	}
	return node{k: kBool, b: f}
}

func ordering(fn string, a, b node) node {
	if f := fieldCompare(fn, a, b); f != nil {
		return node{k: kBool, b: f}
	}
	var test func(int) bool
	switch fn {
	case operators.Less:
		test = func(c int) bool { return c < 0 }
	case operators.LessEquals:
		test = func(c int) bool { return c <= 0 }
	case operators.Greater:
		test = func(c int) bool { return c > 0 }
	default:
		test = func(c int) bool { return c >= 0 }
	}
	var f boolFn
	switch {
	case a.k == kInt && b.k == kInt:
		f = binary(a.i, b.i, func(p, q int64) (bool, error) { return test(cmpInt(p, q)), nil })
	case a.k == kString && b.k == kString:
		f = binary(a.s, b.s, func(p, q string) (bool, error) { return test(strings.Compare(p, q)), nil })
	case a.k == kDouble && b.k == kDouble:
		f = binary(a.d, b.d, func(p, q float64) (bool, error) {
			return !math.IsNaN(p) && !math.IsNaN(q) && test(cmpDouble(p, q)), nil
		})
	case a.k == kInt && b.k == kDouble:
		f = binary(a.i, b.d, func(p int64, q float64) (bool, error) {
			return !math.IsNaN(q) && test(-cmpDoubleInt(q, p)), nil
		})
	case a.k == kDouble && b.k == kInt:
		f = binary(a.d, b.i, func(p float64, q int64) (bool, error) {
			return !math.IsNaN(p) && test(cmpDoubleInt(p, q)), nil
		})
	default:
		unsupported("ordering of these kinds")
	}
	return node{k: kBool, b: f}
}

// fieldCompare specializes the commonest predicate, a model field compared
// with a literal, into one closure, or returns nil. For these operands Go's
// comparison operators agree with cel-go's: doubles compare as cmpDouble
// does and NaN neither orders nor equals (so only != holds); an int and a
// double compare as float64(int) with the double (cmpDoubleInt's range
// checks give the same answer); strings order bytewise.
func fieldCompare(fn string, a, b node) boolFn {
	if a.isConst && (b.fs != nil || b.fi != nil || b.fd != nil) {
		// Flip: literal op field is field op' literal.
		a, b = b, a
		switch fn {
		case operators.Less:
			fn = operators.Greater
		case operators.LessEquals:
			fn = operators.GreaterEquals
		case operators.Greater:
			fn = operators.Less
		case operators.GreaterEquals:
			fn = operators.LessEquals
		}
	}
	if !b.isConst {
		return nil
	}
	switch {
	case a.fs != nil && b.k == kString:
		return cmpField(fn, a.fs, b.constStr)
	case a.fi != nil && b.k == kInt:
		return cmpField(fn, a.fi, b.constInt)
	case a.fi != nil && b.k == kDouble:
		get := a.fi
		return cmpField(fn, func(m *Candidate) float64 { return float64(get(m)) }, b.constDbl)
	case a.fd != nil && b.k == kDouble:
		return cmpField(fn, a.fd, b.constDbl)
	case a.fd != nil && b.k == kInt:
		return cmpField(fn, a.fd, float64(b.constInt))
	}
	return nil
}

func cmpField[T int64 | float64 | string](fn string, get func(*Candidate) T, c T) boolFn {
	switch fn {
	case operators.Equals:
		return func(_ *evalCtx, m *Candidate) (bool, error) { return get(m) == c, nil }
	case operators.NotEquals:
		return func(_ *evalCtx, m *Candidate) (bool, error) { return get(m) != c, nil }
	case operators.Less:
		return func(_ *evalCtx, m *Candidate) (bool, error) { return get(m) < c, nil }
	case operators.LessEquals:
		return func(_ *evalCtx, m *Candidate) (bool, error) { return get(m) <= c, nil }
	case operators.Greater:
		return func(_ *evalCtx, m *Candidate) (bool, error) { return get(m) > c, nil }
	case operators.GreaterEquals:
		return func(_ *evalCtx, m *Candidate) (bool, error) { return get(m) >= c, nil }
	}
	return nil
}

func (c *compiler) arith(fn string, a, b node) node {
	switch {
	case a.k == kInt && b.k == kInt:
		var op func(p, q int64) (int64, error)
		switch fn {
		case operators.Add:
			op = func(p, q int64) (int64, error) {
				if (q > 0 && p > math.MaxInt64-q) || (q < 0 && p < math.MinInt64-q) {
					return 0, errIntOverflow
				}
				return p + q, nil
			}
		case operators.Subtract:
			op = func(p, q int64) (int64, error) {
				if (q < 0 && p > math.MaxInt64+q) || (q > 0 && p < math.MinInt64+q) {
					return 0, errIntOverflow
				}
				return p - q, nil
			}
		case operators.Multiply:
			op = func(p, q int64) (int64, error) {
				if (p == -1 && q == math.MinInt64) || (q == -1 && p == math.MinInt64) ||
					(p != 0 && q != 0 && (p*q)/q != p) {
					return 0, errIntOverflow
				}
				return p * q, nil
			}
		case operators.Divide:
			op = func(p, q int64) (int64, error) {
				if q == 0 {
					return 0, errDivideByZero
				}
				if p == math.MinInt64 && q == -1 {
					return 0, errIntOverflow
				}
				return p / q, nil
			}
		case operators.Modulo:
			op = func(p, q int64) (int64, error) {
				if q == 0 {
					return 0, errModulusByZero
				}
				if p == math.MinInt64 && q == -1 {
					return 0, errIntOverflow
				}
				return p % q, nil
			}
		}
		return node{k: kInt, i: binary(a.i, b.i, op)}
	case a.k == kDouble && b.k == kDouble:
		var op func(p, q float64) (float64, error)
		switch fn {
		case operators.Add:
			op = func(p, q float64) (float64, error) { return p + q, nil }
		case operators.Subtract:
			op = func(p, q float64) (float64, error) { return p - q, nil }
		case operators.Multiply:
			op = func(p, q float64) (float64, error) { return p * q, nil }
		case operators.Divide:
			op = func(p, q float64) (float64, error) { return p / q, nil }
		default:
			unsupported("%s on doubles", fn)
		}
		return node{k: kDouble, d: binary(a.d, b.d, op)}
	case a.k == kString && b.k == kString && fn == operators.Add:
		return node{k: kString, s: binary(a.s, b.s, func(p, q string) (string, error) { return p + q, nil })}
	case a.k == kModels && b.k == kModels && fn == operators.Add:
		c.dups = true
		fa, fb := a.v, b.v
		return node{k: kModels, v: func(x *evalCtx) ([]int, error) {
			p, err := fa(x)
			if err != nil {
				return nil, err
			}
			q, err := fb(x)
			if err != nil {
				return nil, err
			}
			out := x.ints(len(p) + len(q))
			copy(out, p)
			copy(out[len(p):], q)
			return out, nil
		}}
	}
	unsupported("%s on these kinds", fn)
	return node{}
}

func negate(a node) node {
	switch a.k {
	case kInt:
		f := a.i
		return node{k: kInt, i: func(x *evalCtx, m *Candidate) (int64, error) {
			v, err := f(x, m)
			if err != nil {
				return 0, err
			}
			if v == math.MinInt64 {
				return 0, errIntOverflow
			}
			return -v, nil
		}}
	case kDouble:
		f := a.d
		return node{k: kDouble, d: func(x *evalCtx, m *Candidate) (float64, error) {
			v, err := f(x, m)
			return -v, err
		}}
	}
	unsupported("negation of this kind")
	return node{}
}

func in(a, b node) node {
	switch {
	case a.fs != nil && b.constStrs != nil:
		get, l := a.fs, b.constStrs
		return node{k: kBool, b: func(_ *evalCtx, m *Candidate) (bool, error) {
			s := get(m)
			for _, e := range l {
				if e == s {
					return true, nil
				}
			}
			return false, nil
		}}
	case a.k == kString && b.k == kStrings:
		return node{k: kBool, b: binary(a.s, b.l, func(s string, l []string) (bool, error) {
			for _, e := range l {
				if e == s {
					return true, nil
				}
			}
			return false, nil
		})}
	case a.k == kString && b.k == kSMap:
		return node{k: kBool, b: binary(a.s, b.m, func(s string, mp map[string]string) (bool, error) {
			_, ok := mp[s]
			return ok, nil
		})}
	}
	unsupported("in on these kinds")
	return node{}
}

func index(a, b node) node {
	switch {
	case a.k == kSMap && b.k == kString:
		return mapGet(a.m, b.s)
	case a.k == kStrings && b.k == kInt:
		return node{k: kString, s: binary(a.l, b.i, func(l []string, i int64) (string, error) {
			if i < 0 || i >= int64(len(l)) {
				return "", fmt.Errorf("index out of bounds: %d", i)
			}
			return l[i], nil
		})}
	}
	unsupported("index on these kinds")
	return node{}
}

func size(a node) node {
	var f intFn
	switch a.k {
	case kString:
		f = binary(a.s, okNil, func(s string, _ struct{}) (int64, error) { return int64(utf8.RuneCountInString(s)), nil })
	case kStrings:
		f = binary(a.l, okNil, func(l []string, _ struct{}) (int64, error) { return int64(len(l)), nil })
	case kSMap:
		f = binary(a.m, okNil, func(mp map[string]string, _ struct{}) (int64, error) { return int64(len(mp)), nil })
	case kModels:
		l := a.v
		// Only outside a filter: the compiler keeps model lists out of
		// predicates.
		f = func(x *evalCtx, _ *Candidate) (int64, error) {
			v, err := l(x)
			return int64(len(v)), err
		}
	default:
		unsupported("size of this kind")
	}
	return node{k: kInt, i: f}
}

func okNil(*evalCtx, *Candidate) (struct{}, error) { return struct{}{}, nil }

func (c *compiler) member(fn string, target node, args []node) node {
	switch {
	case target.k == kString && len(args) == 1 && args[0].k == kString:
		var op func(s, t string) (bool, error)
		switch fn {
		case "startsWith":
			op = func(s, t string) (bool, error) { return strings.HasPrefix(s, t), nil }
		case "endsWith":
			op = func(s, t string) (bool, error) { return strings.HasSuffix(s, t), nil }
		case "contains":
			op = func(s, t string) (bool, error) { return strings.Contains(s, t), nil }
		}
		if op != nil {
			return node{k: kBool, b: binary(target.s, args[0].s, op)}
		}
	case fn == "size" && len(args) == 0:
		return size(target)
	case target.k == kModels:
		return c.modelsMember(fn, target.v, args)
	}
	unsupported("member function %s", fn)
	return node{}
}

func (c *compiler) modelsMember(fn string, list listFn, args []node) node {
	if c.iter != "" {
		unsupported("a list of models inside a filter")
	}
	// with evaluates the list, then the argument, as cel-go does.
	with := func(arg func(x *evalCtx) error, op func(x *evalCtx, l []int) ([]int, error)) node {
		return node{k: kModels, v: func(x *evalCtx) ([]int, error) {
			l, err := list(x)
			if err != nil {
				return nil, err
			}
			if arg != nil {
				if err := arg(x); err != nil {
					return nil, err
				}
			}
			return op(x, l)
		}}
	}
	switch {
	case fn == "randomize" && len(args) == 0:
		return with(nil, func(_ *evalCtx, l []int) ([]int, error) {
			rand.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
			return l, nil
		})
	case fn == "sortBy" && len(args) == 1 && args[0].k == kString:
		key := args[0].s
		return node{k: kModels, v: func(x *evalCtx) ([]int, error) {
			l, err := list(x)
			if err != nil {
				return nil, err
			}
			k, err := key(x, nil)
			if err != nil {
				return nil, err
			}
			keyOf, ok := sortKeys[k]
			if !ok {
				return nil, fmt.Errorf("sortBy: unknown key %q (want %s)", k, sortKeyNames)
			}
			return x.sortBy(l, keyOf), nil
		}}
	case (fn == "onlyProviders" || fn == "ignoreProviders") && len(args) == 1 &&
		(args[0].k == kString || args[0].k == kStrings):
		keep := fn == "onlyProviders"
		var one strFn
		var many strsFn
		if args[0].k == kString {
			one = args[0].s
		} else {
			many = args[0].l
		}
		return node{k: kModels, v: func(x *evalCtx) ([]int, error) {
			l, err := list(x)
			if err != nil {
				return nil, err
			}
			var ids []string
			var id string
			if one != nil {
				id, err = one(x, nil)
			} else {
				ids, err = many(x, nil)
			}
			if err != nil {
				return nil, err
			}
			out := l[:0]
			for _, pos := range l {
				p := x.cands[pos].ProviderID
				listed := false
				if one != nil {
					listed = strings.EqualFold(p, id)
				} else {
					for _, id := range ids {
						if strings.EqualFold(p, id) {
							listed = true
							break
						}
					}
				}
				if listed == keep {
					out = append(out, pos)
				}
			}
			return out, nil
		}}
	case fn == "underCost" && len(args) == 1 && (args[0].k == kDouble || args[0].k == kInt):
		limit := args[0].d
		if args[0].k == kInt {
			i := args[0].i
			limit = func(x *evalCtx, m *Candidate) (float64, error) {
				v, err := i(x, m)
				return float64(v), err
			}
		}
		return node{k: kModels, v: func(x *evalCtx) ([]int, error) {
			l, err := list(x)
			if err != nil {
				return nil, err
			}
			lim, err := limit(x, nil)
			if err != nil {
				return nil, err
			}
			out := l[:0]
			for _, pos := range l {
				m := &x.cands[pos]
				if m.Priced && usd(int64(m.InputPrice+m.OutputPrice))/2 <= lim {
					out = append(out, pos)
				}
			}
			return out, nil
		}}
	}
	unsupported("function %s on models", fn)
	return node{}
}

// sortBy orders l as the sortBy function does (sortRanks over ranks with
// pos the place in l), without its comparison closure: each model gets one
// integer key that orders as sortRanks does (known keys first, ascending
// as cmp.Compare orders floats, unknown ones last) and a stable sort on it
// breaks ties by place in l.
func (x *evalCtx) sortBy(l []int, keyOf func(*Candidate) (float64, bool)) []int {
	if cap(x.ranks) < 2*len(l) {
		x.ranks = make([]sortEntry, 2*len(l))
	}
	e, tmp := x.ranks[:len(l)], x.ranks[len(l):2*len(l)]
	for i, pos := range l {
		k, known := keyOf(&x.cands[pos])
		e[i] = sortEntry{key: math.MaxUint64, pos: pos}
		if known {
			e[i].key = floatOrder(k)
		}
	}
	sortEntries(e, tmp)
	out := x.ints(len(l))
	for i := range e {
		out[i] = e[i].pos
	}
	return out
}

type sortEntry struct {
	key uint64
	pos int
}

// floatOrder maps f to an integer that orders as cmp.Compare orders
// floats: NaN first, -0 equal to 0. It is below math.MaxUint64, the key
// of an unknown value.
func floatOrder(f float64) uint64 {
	if f != f {
		return 0
	}
	if f == 0 {
		f = 0 // -0 as +0
	}
	b := math.Float64bits(f)
	if b>>63 != 0 {
		return ^b // negatives: larger magnitude first; ≥ 0x000fffffffffffff > 0 (NaN)
	}
	return b | 1<<63 // ≤ 0xfff0000000000000 (+Inf) < MaxUint64
}

// sortEntries sorts e stably by key: insertion-sorted runs merged
// bottom-up through tmp (len(tmp) == len(e)).
func sortEntries(e, tmp []sortEntry) {
	const run = 8
	n := len(e)
	if n < 2 {
		return
	}
	for lo := 0; lo < n; lo += run {
		hi := min(lo+run, n)
		for i := lo + 1; i < hi; i++ {
			v := e[i]
			j := i
			for ; j > lo && e[j-1].key > v.key; j-- {
				e[j] = e[j-1]
			}
			e[j] = v
		}
	}
	src, dst := e, tmp
	for width := run; width < n; width *= 2 {
		for lo := 0; lo < n; lo += 2 * width {
			mid, hi := min(lo+width, n), min(lo+2*width, n)
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				if src[j].key < src[i].key {
					dst[k] = src[j]
					j++
				} else {
					dst[k] = src[i]
					i++
				}
				k++
			}
			k += copy(dst[k:], src[i:mid])
			copy(dst[k:], src[j:hi])
		}
		src, dst = dst, src
	}
	if &src[0] != &e[0] {
		copy(e, src)
	}
}

// fits reports whether every size the strategy reads is at most p.guard,
// the bound its cost estimate was made with.
func (p *fastProgram) fits(x *evalCtx) bool {
	n := p.guard
	if len(x.cands) > n {
		return false
	}
	short := func(s string) bool { return len(s) <= n }
	shortMap := func(mp map[string]string) bool {
		if len(mp) > n {
			return false
		}
		for k, v := range mp {
			if !short(k) || !short(v) {
				return false
			}
		}
		return true
	}
	r := p.reads
	for i := range x.cands {
		m := &x.cands[i]
		if r&readModelStrings != 0 && !(short(m.ID) && short(m.ProviderID) && short(m.AuthorID)) {
			return false
		}
		if r&readFeatures != 0 {
			if len(m.Features) > n {
				return false
			}
			for _, f := range m.Features {
				if !short(f) {
					return false
				}
			}
		}
		if r&readMetadata != 0 && !shortMap(m.Metadata) {
			return false
		}
	}
	if r&readReqModel != 0 && !short(x.req.Model) {
		return false
	}
	if r&readHeaders != 0 && !shortMap(x.headers()) {
		return false
	}
	if r&readKeyStrings != 0 && !(short(x.key.ID) && short(x.key.Name)) {
		return false
	}
	if r&readKeyMetadata != 0 && !shortMap(x.keyMetadata()) {
		return false
	}
	return true
}

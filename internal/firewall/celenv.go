package firewall

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/checker"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/celview"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/selection"
)

// A cel rule is a boolean expression over three variables, declared as
// object types so the checker rejects `call.nmae` when the policy is
// compiled:
//
//	call  firewall.Call
//	    id          string: the call's id ("" for a declared tool)
//	    name        string: the tool name
//	    kind        string: "declared" (a tool the request declares),
//	                "result" (a call whose result the request sends back),
//	                "call" (a call the model returns)
//	    arguments   map(string, dyn): the arguments, parsed from JSON on
//	                first use; not a JSON object → an evaluation error
//	                (onError); no arguments → {}
//	req   firewall.Request
//	    model, endpoint  string
//	    text        list(string): the prompt text (see Request.Text)
//	    tools       list(string): the declared tool names
//	key   firewall.Key
//	    id, name    string
//	    metadata    map(string, string): the access key's metadata
//
// Standard CEL, the strings extension (lowerAscii, split, ...) and
// optional syntax (`key.metadata.?tier.orValue("")`) are available; ints
// and doubles compare with each other (`call.arguments.amount > 100`).
// A rule that reads `call` is checked per call; one that does not is
// checked once per request (see the package doc).

// CostLimit bounds one evaluation, in CEL cost units, so an expression
// over a huge arguments map or prompt cannot stall a request; past it the
// evaluation fails (onError). Expressions whose estimated worst case fits
// run without the tracker.
const CostLimit = 100_000

// maxEstimatedSize bounds, for the static estimate, every list, map and
// string an expression reads.
const maxEstimatedSize = 10_000

const (
	callTypeName    = "firewall.Call"
	requestTypeName = "firewall.Request"
	keyTypeName     = "firewall.Key"
)

var (
	callType    = types.NewObjectType(callTypeName)
	requestType = types.NewObjectType(requestTypeName)
	keyType     = types.NewObjectType(keyTypeName)

	stringListType = types.NewListType(types.StringType)
	stringMapType  = types.NewMapType(types.StringType, types.StringType)
	argsMapType    = types.NewMapType(types.StringType, types.DynType)
)

var adapter = types.DefaultTypeAdapter

var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		// The libraries register their types first; the views wrap the
		// resulting provider.
		cel.OptionalTypes(),
		ext.Strings(),
		func(e *cel.Env) (*cel.Env, error) {
			return cel.CustomTypeProvider(celview.Provider{Provider: e.CELTypeProvider(), Objects: objects})(e)
		},
		cel.CrossTypeNumericComparisons(true),
		cel.Variable("call", callType),
		cel.Variable("req", requestType),
		cel.Variable("key", keyType),
	)
})

// celRule is a compiled cel matcher.
type celRule struct {
	prg cel.Program
	// readsCall: the expression names `call`, so it is checked per call.
	readsCall bool
}

func compileCEL(src string) (*celRule, error) {
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("building the firewall CEL environment: %w", err)
	}
	checked, iss := env.Compile(src)
	if err := iss.Err(); err != nil {
		return nil, err
	}
	switch t := checked.OutputType(); t.Kind() {
	case types.BoolKind, types.DynKind, types.AnyKind:
	default:
		return nil, fmt.Errorf("must evaluate to a bool, not %s", t)
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if est, err := env.EstimateCost(checked, sizeBounds{}); err != nil || est.Max > CostLimit {
		opts = append(opts, cel.CostLimit(CostLimit))
	}
	prg, err := env.Program(checked, opts...)
	if err != nil {
		return nil, err
	}
	reads := len(ast.MatchDescendants(ast.NavigateAST(checked.NativeRep()), func(e ast.NavigableExpr) bool {
		return e.Kind() == ast.IdentKind && e.AsIdent() == "call"
	})) > 0
	return &celRule{prg: prg, readsCall: reads}, nil
}

// eval runs the expression.
func (c *celRule) eval(act *activation) (bool, error) {
	out, _, err := c.prg.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("evaluated to %s, not a bool", out.Type().TypeName())
	}
	return bool(b), nil
}

type sizeBounds struct{}

func (sizeBounds) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: maxEstimatedSize}
}

func (sizeBounds) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// Subject kinds, as call.kind reads them.
const (
	kindDeclared = "declared"
	kindResult   = "result"
	kindCall     = "call"
)

// callVal is the `call` variable. One lives in each Env and is pointed at
// the subject being checked; arguments are parsed on first read.
type callVal struct {
	c    *Call
	kind string
	args ref.Val // parsed arguments, or an error value; nil until read
}

func (v *callVal) arguments() ref.Val {
	if v.args == nil {
		v.args = parseArguments(v.c.Arguments)
	}
	return v.args
}

var callObject = celview.NewObject(callType,
	celview.Field{Name: "id", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(*callVal).c.ID) }},
	celview.Field{Name: "name", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(*callVal).c.Name) }},
	celview.Field{Name: "kind", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(*callVal).kind) }},
	celview.Field{Name: "arguments", Type: argsMapType, Get: func(v any) ref.Val { return v.(*callVal).arguments() }},
)

func (v *callVal) ConvertToNative(t reflect.Type) (any, error) {
	return callObject.ConvertToNative(v, t)
}
func (v *callVal) ConvertToType(t ref.Type) ref.Val { return callObject.ConvertToType(v, t) }
func (v *callVal) Type() ref.Type                   { return callType }
func (v *callVal) Value() any                       { return v }
func (v *callVal) Get(name ref.Val) ref.Val         { return callObject.Get(v, name) }
func (v *callVal) IsSet(name ref.Val) ref.Val       { return callObject.IsSet(v, name) }
func (v *callVal) Equal(other ref.Val) ref.Val {
	o, ok := other.(*callVal)
	return types.Bool(ok && o.c == v.c)
}

// requestVal is the `req` variable; text and tools are built on first
// read, once per Env.
type requestVal struct {
	r            *Request
	text, tools  ref.Val
	emptyRequest Request
}

func (v *requestVal) req() *Request {
	if v.r == nil {
		return &v.emptyRequest
	}
	return v.r
}

var requestObject = celview.NewObject(requestType,
	celview.Field{Name: "model", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(*requestVal).req().Model) }},
	celview.Field{Name: "endpoint", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(*requestVal).req().Endpoint) }},
	celview.Field{Name: "text", Type: stringListType, Get: func(v any) ref.Val {
		r := v.(*requestVal)
		if r.text == nil {
			r.text = types.NewStringList(adapter, r.req().Text)
		}
		return r.text
	}},
	celview.Field{Name: "tools", Type: stringListType, Get: func(v any) ref.Val {
		r := v.(*requestVal)
		if r.tools == nil {
			r.tools = types.NewStringList(adapter, r.req().Tools)
		}
		return r.tools
	}},
)

func (v *requestVal) ConvertToNative(t reflect.Type) (any, error) {
	return requestObject.ConvertToNative(v, t)
}
func (v *requestVal) ConvertToType(t ref.Type) ref.Val { return requestObject.ConvertToType(v, t) }
func (v *requestVal) Type() ref.Type                   { return requestType }
func (v *requestVal) Value() any                       { return v }
func (v *requestVal) Get(name ref.Val) ref.Val         { return requestObject.Get(v, name) }
func (v *requestVal) IsSet(name ref.Val) ref.Val       { return requestObject.IsSet(v, name) }
func (v *requestVal) Equal(other ref.Val) ref.Val      { return types.Bool(other == ref.Val(v)) }

// keyVal is the `key` variable.
type keyVal struct {
	k        *Key
	metadata ref.Val
}

var keyObject = celview.NewObject(keyType,
	celview.Field{Name: "id", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(*keyVal).key().ID) }},
	celview.Field{Name: "name", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(*keyVal).key().Name) }},
	celview.Field{Name: "metadata", Type: stringMapType, Get: func(v any) ref.Val {
		kv := v.(*keyVal)
		if kv.metadata == nil {
			k := kv.key()
			md := k.Metadata
			if md == nil && k.RawMetadata != "" {
				md = metadataMap(k.RawMetadata)
			}
			kv.metadata = types.NewStringStringMap(adapter, md)
		}
		return kv.metadata
	}},
)

var noKey Key

// metadataCache keeps the parsed metadata of the access keys seen lately
// (a key's metadata string → its read-only map), so a request does not
// parse JSON for key.metadata. It is emptied when full.
var (
	metadataCache     sync.Map
	metadataCacheSize atomic.Int64
)

const maxCachedMetadata = 4096

func metadataMap(raw string) map[string]string {
	if m, ok := metadataCache.Load(raw); ok {
		return m.(map[string]string)
	}
	m := selection.MetadataMap(raw)
	if metadataCacheSize.Load() >= maxCachedMetadata {
		metadataCache.Clear()
		metadataCacheSize.Store(0)
	}
	if _, loaded := metadataCache.LoadOrStore(raw, m); !loaded {
		metadataCacheSize.Add(1)
	}
	return m
}

func (v *keyVal) key() *Key {
	if v.k == nil {
		return &noKey
	}
	return v.k
}

func (v *keyVal) ConvertToNative(t reflect.Type) (any, error) {
	return keyObject.ConvertToNative(v, t)
}
func (v *keyVal) ConvertToType(t ref.Type) ref.Val { return keyObject.ConvertToType(v, t) }
func (v *keyVal) Type() ref.Type                   { return keyType }
func (v *keyVal) Value() any                       { return v }
func (v *keyVal) Get(name ref.Val) ref.Val         { return keyObject.Get(v, name) }
func (v *keyVal) IsSet(name ref.Val) ref.Val       { return keyObject.IsSet(v, name) }
func (v *keyVal) Equal(other ref.Val) ref.Val      { return types.Bool(other == ref.Val(v)) }

var objects = map[string]*celview.Object{
	callTypeName:    callObject,
	requestTypeName: requestObject,
	keyTypeName:     keyObject,
}

// activation resolves the three variables without a map.
type activation struct {
	call *callVal
	req  *requestVal
	key  *keyVal
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "call":
		return a.call, true
	case "req":
		return a.req, true
	case "key":
		return a.key, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

type viewVal interface {
	ref.Val
	traits.Indexer
	traits.FieldTester
}

var (
	_ viewVal                = (*callVal)(nil)
	_ viewVal                = (*requestVal)(nil)
	_ viewVal                = (*keyVal)(nil)
	_ interpreter.Activation = (*activation)(nil)
)

package selection

import (
	"math"
	"reflect"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/celview"
)

// The CEL environment sees the gateway's data through thin views over the Go
// values (a *Candidate, a *Request, a *Key) instead of maps built per
// request: building the activation costs a few pointer writes per candidate,
// and a field costs something only when an expression reads it. The views
// are declared as object types, so the checker knows every field and its
// type and rejects `m.latency` or `req.strem` when the strategy is compiled.

// CEL type names of the views.
const (
	aiTypeName          = "selection.AI"
	modelTypeName       = "selection.Model"
	pricingTypeName     = "selection.Pricing"
	metricsTypeName     = "selection.Metrics"
	providerKeyTypeName = "selection.ProviderKey"
	requestTypeName     = "selection.Request"
	keyTypeName         = "selection.Key"
)

var (
	aiType          = types.NewObjectType(aiTypeName)
	modelType       = types.NewObjectType(modelTypeName)
	pricingType     = types.NewObjectType(pricingTypeName)
	metricsType     = types.NewObjectType(metricsTypeName)
	providerKeyType = types.NewObjectType(providerKeyTypeName)
	requestType     = types.NewObjectType(requestTypeName)
	keyType         = types.NewObjectType(keyTypeName)

	modelListType    = types.NewListType(modelType)
	stringListType   = types.NewListType(types.StringType)
	stringMapType    = types.NewMapType(types.StringType, types.StringType)
	providerKeysType = types.NewListType(providerKeyType)
)

// adapter turns plain Go values (the []string and map[string]string fields)
// into CEL values. The views return CEL values themselves, so it is rarely
// consulted.
var adapter = types.DefaultTypeAdapter

// usd converts a per-1M price to USD per 1M tokens for comparisons in
// expressions. Division is correctly rounded, so a catalog price of "0.15"
// compares equal to the literal 0.15.
func usd(p int64) float64 { return float64(p) / 1e9 }

// modelVal is a Candidate as CEL sees it (selection.Model). idx is its
// position in the candidate slice, so results map back without lookups.
type modelVal struct {
	c   *Candidate
	idx int
}

var modelObject = celview.NewObject(modelType,
	celview.Field{Name: "id", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(*modelVal).c.ID) }},
	celview.Field{Name: "provider_id", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(*modelVal).c.ProviderID) }},
	celview.Field{Name: "author_id", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(*modelVal).c.AuthorID) }},
	celview.Field{Name: "pricing", Type: pricingType,
		Get:   func(v any) ref.Val { return pricingVal{v.(*modelVal).c} },
		IsSet: func(v any) bool { return v.(*modelVal).c.Priced }},
	celview.Field{Name: "max_context_window", Type: types.IntType, Get: func(v any) ref.Val { return types.Int(v.(*modelVal).c.MaxContextWindow) }},
	celview.Field{Name: "max_output_tokens", Type: types.IntType, Get: func(v any) ref.Val { return types.Int(v.(*modelVal).c.MaxOutputTokens) }},
	celview.Field{Name: "supported_features", Type: stringListType,
		Get:   func(v any) ref.Val { return types.NewStringList(adapter, v.(*modelVal).c.Features) },
		IsSet: func(v any) bool { return len(v.(*modelVal).c.Features) > 0 }},
	celview.Field{Name: "metadata", Type: stringMapType,
		Get:   func(v any) ref.Val { return types.NewStringStringMap(adapter, v.(*modelVal).c.Metadata) },
		IsSet: func(v any) bool { return len(v.(*modelVal).c.Metadata) > 0 }},
	celview.Field{Name: "metrics", Type: metricsType,
		Get:   func(v any) ref.Val { return metricsVal{v.(*modelVal).c} },
		IsSet: func(v any) bool { return v.(*modelVal).c.Metrics.RequestCount > 0 }},
)

func (v *modelVal) ConvertToNative(t reflect.Type) (any, error) {
	return modelObject.ConvertToNative(v, t)
}
func (v *modelVal) ConvertToType(t ref.Type) ref.Val { return modelObject.ConvertToType(v, t) }
func (v *modelVal) Type() ref.Type                   { return modelType }
func (v *modelVal) Value() any                       { return v }
func (v *modelVal) Get(name ref.Val) ref.Val         { return modelObject.Get(v, name) }
func (v *modelVal) IsSet(name ref.Val) ref.Val       { return modelObject.IsSet(v, name) }
func (v *modelVal) Equal(other ref.Val) ref.Val {
	o, ok := other.(*modelVal)
	return types.Bool(ok && o.c == v.c)
}

// pricingVal is a candidate's prices (selection.Pricing) in USD per 1M
// tokens. An unpriced model reads +Inf, so a hand-written price filter such
// as `m.pricing.input < 1.0` never lets a model of unknown price through;
// `has(m.pricing)` tells them apart.
type pricingVal struct{ c *Candidate }

var pricingObject = celview.NewObject(pricingType,
	celview.Field{Name: "input", Type: types.DoubleType, Get: func(v any) ref.Val {
		c := v.(pricingVal).c
		if !c.Priced {
			return types.Double(math.Inf(1))
		}
		return types.Double(usd(int64(c.InputPrice)))
	}},
	celview.Field{Name: "output", Type: types.DoubleType, Get: func(v any) ref.Val {
		c := v.(pricingVal).c
		if !c.Priced {
			return types.Double(math.Inf(1))
		}
		return types.Double(usd(int64(c.OutputPrice)))
	}},
)

func (v pricingVal) ConvertToNative(t reflect.Type) (any, error) {
	return pricingObject.ConvertToNative(v, t)
}
func (v pricingVal) ConvertToType(t ref.Type) ref.Val { return pricingObject.ConvertToType(v, t) }
func (v pricingVal) Type() ref.Type                   { return pricingType }
func (v pricingVal) Value() any                       { return v }
func (v pricingVal) Get(name ref.Val) ref.Val         { return pricingObject.Get(v, name) }
func (v pricingVal) IsSet(name ref.Val) ref.Val       { return pricingObject.IsSet(v, name) }
func (v pricingVal) Equal(other ref.Val) ref.Val {
	o, ok := other.(pricingVal)
	return types.Bool(ok && o.c == v.c)
}

// metricsVal is a candidate's live metrics (selection.Metrics). Without data
// (request_count == 0) every value reads 0 and `has(m.metrics)` is false.
type metricsVal struct{ c *Candidate }

var metricsObject = celview.NewObject(metricsType,
	celview.Field{Name: "latency_ms_avg", Type: types.DoubleType, Get: func(v any) ref.Val { return types.Double(v.(metricsVal).c.Metrics.LatencyMsAvg) }},
	celview.Field{Name: "latency_ms_p95", Type: types.DoubleType, Get: func(v any) ref.Val { return types.Double(v.(metricsVal).c.Metrics.LatencyMsP95) }},
	celview.Field{Name: "ttft_ms_avg", Type: types.DoubleType, Get: func(v any) ref.Val { return types.Double(v.(metricsVal).c.Metrics.TTFTMsAvg) }},
	celview.Field{Name: "error_rate", Type: types.DoubleType, Get: func(v any) ref.Val { return types.Double(v.(metricsVal).c.Metrics.ErrorRate) }},
	celview.Field{Name: "request_count", Type: types.IntType, Get: func(v any) ref.Val { return types.Int(v.(metricsVal).c.Metrics.RequestCount) }},
)

func (v metricsVal) ConvertToNative(t reflect.Type) (any, error) {
	return metricsObject.ConvertToNative(v, t)
}
func (v metricsVal) ConvertToType(t ref.Type) ref.Val { return metricsObject.ConvertToType(v, t) }
func (v metricsVal) Type() ref.Type                   { return metricsType }
func (v metricsVal) Value() any                       { return v }
func (v metricsVal) Get(name ref.Val) ref.Val         { return metricsObject.Get(v, name) }
func (v metricsVal) IsSet(name ref.Val) ref.Val       { return metricsObject.IsSet(v, name) }
func (v metricsVal) Equal(other ref.Val) ref.Val {
	o, ok := other.(metricsVal)
	return types.Bool(ok && o.c == v.c)
}

// aiVal is the `ai` variable (selection.AI): the candidates and the
// provider keys.
type aiVal struct {
	models ref.Val
	req    *Request // ai.keys come from it
}

var aiObject = celview.NewObject(aiType,
	celview.Field{Name: "models", Type: modelListType, Get: func(v any) ref.Val { return v.(*aiVal).models }},
	celview.Field{Name: "keys", Type: providerKeysType, Get: func(v any) ref.Val { return v.(*aiVal).req.keysView() }},
)

// keysView is ai.keys, built once per Select call: a strategy such as
// `ai.models.filter(m, ai.keys.exists(...))` reads it once per model.
func (r *Request) keysView() ref.Val {
	if r.keysVal == nil {
		if r.ProviderKeys == nil && r.ProviderKeysFunc != nil {
			r.ProviderKeys = r.ProviderKeysFunc()
		}
		keys := r.ProviderKeys
		vals := make([]ref.Val, len(keys))
		for i := range keys {
			vals[i] = providerKeyVal{&keys[i]}
		}
		r.keysVal = types.NewRefValList(adapter, vals)
	}
	return r.keysVal
}

func (v *aiVal) ConvertToNative(t reflect.Type) (any, error) { return aiObject.ConvertToNative(v, t) }
func (v *aiVal) ConvertToType(t ref.Type) ref.Val            { return aiObject.ConvertToType(v, t) }
func (v *aiVal) Type() ref.Type                              { return aiType }
func (v *aiVal) Value() any                                  { return v }
func (v *aiVal) Get(name ref.Val) ref.Val                    { return aiObject.Get(v, name) }
func (v *aiVal) IsSet(name ref.Val) ref.Val                  { return aiObject.IsSet(v, name) }
func (v *aiVal) Equal(other ref.Val) ref.Val                 { return types.Bool(other == ref.Val(v)) }

// providerKeyVal is one element of `ai.keys` (selection.ProviderKey).
type providerKeyVal struct{ k *ProviderKey }

var providerKeyObject = celview.NewObject(providerKeyType,
	celview.Field{Name: "id", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(providerKeyVal).k.ID) }},
	celview.Field{Name: "provider_id", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(providerKeyVal).k.ProviderID) }},
	celview.Field{Name: "source", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(providerKeyVal).k.Source) }},
)

func (v providerKeyVal) ConvertToNative(t reflect.Type) (any, error) {
	return providerKeyObject.ConvertToNative(v, t)
}
func (v providerKeyVal) ConvertToType(t ref.Type) ref.Val {
	return providerKeyObject.ConvertToType(v, t)
}
func (v providerKeyVal) Type() ref.Type             { return providerKeyType }
func (v providerKeyVal) Value() any                 { return v }
func (v providerKeyVal) Get(name ref.Val) ref.Val   { return providerKeyObject.Get(v, name) }
func (v providerKeyVal) IsSet(name ref.Val) ref.Val { return providerKeyObject.IsSet(v, name) }
func (v providerKeyVal) Equal(other ref.Val) ref.Val {
	o, ok := other.(providerKeyVal)
	return types.Bool(ok && *o.k == *v.k)
}

// requestVal is the `req` variable (selection.Request).
type requestVal struct{ r *Request }

var requestObject = celview.NewObject(requestType,
	celview.Field{Name: "model", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(requestVal).r.Model) }},
	celview.Field{Name: "stream", Type: types.BoolType, Get: func(v any) ref.Val { return types.Bool(v.(requestVal).r.Stream) }},
	celview.Field{Name: "max_tokens", Type: types.IntType, Get: func(v any) ref.Val { return types.Int(v.(requestVal).r.MaxTokens) }},
	celview.Field{Name: "input_tokens", Type: types.IntType, Get: func(v any) ref.Val { return types.Int(v.(requestVal).r.InputTokens) }},
	celview.Field{Name: "headers", Type: stringMapType, Get: func(v any) ref.Val { return v.(requestVal).r.headersView() }},
)

// headersView is req.headers, built from HTTPHeader on first use.
func (r *Request) headersView() ref.Val {
	if r.headersVal == nil {
		if r.Headers == nil && r.HTTPHeader != nil {
			r.Headers = HeaderMap(r.HTTPHeader)
		}
		r.headersVal = types.NewStringStringMap(adapter, r.Headers)
	}
	return r.headersVal
}

func (v requestVal) ConvertToNative(t reflect.Type) (any, error) {
	return requestObject.ConvertToNative(v, t)
}
func (v requestVal) ConvertToType(t ref.Type) ref.Val { return requestObject.ConvertToType(v, t) }
func (v requestVal) Type() ref.Type                   { return requestType }
func (v requestVal) Value() any                       { return v }
func (v requestVal) Get(name ref.Val) ref.Val         { return requestObject.Get(v, name) }
func (v requestVal) IsSet(name ref.Val) ref.Val       { return requestObject.IsSet(v, name) }
func (v requestVal) Equal(other ref.Val) ref.Val {
	o, ok := other.(requestVal)
	return types.Bool(ok && o.r == v.r)
}

// keyVal is the `key` variable (selection.Key): the access key.
type keyVal struct{ k *Key }

var keyObject = celview.NewObject(keyType,
	celview.Field{Name: "id", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(keyVal).k.ID) }},
	celview.Field{Name: "name", Type: types.StringType, Get: func(v any) ref.Val { return types.String(v.(keyVal).k.Name) }},
	celview.Field{Name: "metadata", Type: stringMapType, Get: func(v any) ref.Val { return v.(keyVal).k.metadataView() }},
)

// metadataView is key.metadata, parsed from RawMetadata on first use.
func (k *Key) metadataView() ref.Val {
	if k.metadataVal == nil {
		if k.Metadata == nil && k.RawMetadata != "" {
			k.Metadata = MetadataMap(k.RawMetadata)
		}
		k.metadataVal = types.NewStringStringMap(adapter, k.Metadata)
	}
	return k.metadataVal
}

func (v keyVal) ConvertToNative(t reflect.Type) (any, error) { return keyObject.ConvertToNative(v, t) }
func (v keyVal) ConvertToType(t ref.Type) ref.Val            { return keyObject.ConvertToType(v, t) }
func (v keyVal) Type() ref.Type                              { return keyType }
func (v keyVal) Value() any                                  { return v }
func (v keyVal) Get(name ref.Val) ref.Val                    { return keyObject.Get(v, name) }
func (v keyVal) IsSet(name ref.Val) ref.Val                  { return keyObject.IsSet(v, name) }
func (v keyVal) Equal(other ref.Val) ref.Val {
	o, ok := other.(keyVal)
	return types.Bool(ok && o.k == v.k)
}

// objects indexes the views by CEL type name, for the type provider.
var objects = map[string]*celview.Object{
	aiTypeName:          aiObject,
	modelTypeName:       modelObject,
	pricingTypeName:     pricingObject,
	metricsTypeName:     metricsObject,
	providerKeyTypeName: providerKeyObject,
	requestTypeName:     requestObject,
	keyTypeName:         keyObject,
}

// activation resolves the three variables without a map.
type activation struct {
	ai  *aiVal
	req requestVal
	key keyVal
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "ai":
		return a.ai, true
	case "req":
		return a.req, true
	case "key":
		return a.key, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// Interface guards: every view reads its fields both when the checker knew
// its type (field getters) and through a dyn (Indexer, FieldTester).
var (
	_ viewVal = (*modelVal)(nil)
	_ viewVal = pricingVal{}
	_ viewVal = metricsVal{}
	_ viewVal = (*aiVal)(nil)
	_ viewVal = providerKeyVal{}
	_ viewVal = requestVal{}
	_ viewVal = keyVal{}

	_ interpreter.Activation = (*activation)(nil)
)

type viewVal interface {
	ref.Val
	traits.Indexer
	traits.FieldTester
}

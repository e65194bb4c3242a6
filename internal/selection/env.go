package selection

import (
	"fmt"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/celview"
)

// CostLimit bounds the work one evaluation of a strategy may do, in CEL cost
// units (roughly one per comprehension step, comparison or field read).
// Strategies come from operators and from access key configurations, so a
// nested comprehension over the catalog must not be able to stall a
// request: exceeding the limit is an evaluation error. Filtering and sorting
// 50 models costs about 1,000; a comprehension nested three deep over 50
// models reaches the limit after roughly 30 ms.
const CostLimit = 1_000_000

// celEnv is the one CEL environment every strategy compiles in. Env is safe
// for concurrent use, so it is built once.
var celEnv = sync.OnceValues(newEnv)

func newEnv() (*cel.Env, error) {
	models := []*cel.Type{modelListType}
	return cel.NewEnv(
		withViews,
		// `m.metrics.latency_ms_avg < 500` reads naturally; without this
		// the int literal would not compare with a double.
		cel.CrossTypeNumericComparisons(true),
		cel.Variable("ai", aiType),
		cel.Variable("req", requestType),
		cel.Variable("key", keyType),
		cel.Function("onlyProviders",
			cel.MemberOverload("models_onlyProviders_list", append(models, stringListType), modelListType,
				cel.BinaryBinding(onlyProviders)),
			cel.MemberOverload("models_onlyProviders_string", append(models, cel.StringType), modelListType,
				cel.BinaryBinding(onlyProviders)),
		),
		cel.Function("ignoreProviders",
			cel.MemberOverload("models_ignoreProviders_list", append(models, stringListType), modelListType,
				cel.BinaryBinding(ignoreProviders)),
			cel.MemberOverload("models_ignoreProviders_string", append(models, cel.StringType), modelListType,
				cel.BinaryBinding(ignoreProviders)),
		),
		cel.Function("underCost",
			cel.MemberOverload("models_underCost_double", append(models, cel.DoubleType), modelListType,
				cel.BinaryBinding(underCost)),
			cel.MemberOverload("models_underCost_int", append(models, cel.IntType), modelListType,
				cel.BinaryBinding(underCost)),
		),
		cel.Function("sortBy",
			cel.MemberOverload("models_sortBy_string", append(models, cel.StringType), modelListType,
				cel.BinaryBinding(sortBy)),
		),
		cel.Function("randomize",
			cel.MemberOverload("models_randomize", models, modelListType,
				cel.UnaryBinding(randomize)),
		),
		cel.ASTValidators(sortKeyValidator{}, resultTypeValidator{}),
	)
}

// withViews installs the type provider that declares the view types
// (selection.Model and friends) on top of the environment's own.
func withViews(e *cel.Env) (*cel.Env, error) {
	return cel.CustomTypeProvider(celview.Provider{Provider: e.CELTypeProvider(), Objects: objects})(e)
}

// sortKeyValidator rejects `sortBy("prce")` at compile time when the key is
// a literal; a computed key is checked when it is evaluated.
type sortKeyValidator struct{}

func (sortKeyValidator) Name() string { return "selection.sortBy_key" }

func (sortKeyValidator) Validate(_ *cel.Env, _ cel.ValidatorConfig, a *ast.AST, iss *cel.Issues) {
	for _, call := range ast.MatchDescendants(ast.NavigateAST(a), ast.FunctionMatcher("sortBy")) {
		args := call.AsCall().Args()
		if len(args) != 1 || args[0].Kind() != ast.LiteralKind {
			continue
		}
		s, ok := args[0].AsLiteral().(types.String)
		if !ok {
			continue
		}
		if _, ok := sortKeys[string(s)]; !ok {
			iss.ReportErrorAtID(args[0].ID(), "sortBy: unknown key %q (want %s)", string(s), sortKeyNames)
		}
	}
}

// resultTypeValidator demands a list of models or of model names, so
// `1 + 1` or `"gpt-4o"` fails at compile time. A dyn (or list(dyn)) result
// is left to evaluation.
type resultTypeValidator struct{}

func (resultTypeValidator) Name() string { return "selection.result_type" }

func (resultTypeValidator) Validate(_ *cel.Env, _ cel.ValidatorConfig, a *ast.AST, iss *cel.Issues) {
	root := a.Expr().ID()
	t := a.GetType(root)
	if resultTypeOK(t) {
		return
	}
	iss.ReportErrorAtID(root, "a model selection strategy must evaluate to a list of models (or of model names), not %s", typeString(t))
}

func resultTypeOK(t *types.Type) bool {
	switch t.Kind() {
	case types.DynKind, types.AnyKind, types.TypeParamKind:
		return true
	case types.ListKind:
		switch elem := t.Parameters()[0]; elem.Kind() {
		case types.DynKind, types.AnyKind, types.TypeParamKind, types.StringKind:
			return true
		case types.StructKind:
			return elem.TypeName() == modelTypeName
		}
	}
	return false
}

func typeString(t *types.Type) string {
	if t == nil {
		return "unknown"
	}
	return fmt.Sprint(t)
}

var (
	_ cel.ASTValidator = sortKeyValidator{}
	_ cel.ASTValidator = resultTypeValidator{}
)

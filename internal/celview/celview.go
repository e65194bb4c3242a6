// Package celview declares Go structs to CEL as read-only object types
// ("views"): each field has a CEL type, a getter and optionally when
// has() reports it set. The selection strategies (selection.Model, …) and
// the firewall's rules (call, req, key) declare their variables with it.
package celview

import (
	"fmt"
	"reflect"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// Field is one field of a view.
type Field struct {
	Name  string
	Type  *types.Type
	Get   func(v any) ref.Val
	IsSet func(v any) bool // nil: always set
}

// Object is one view type.
type Object struct {
	Type   *types.Type
	names  []string
	fields map[string]*types.FieldType
}

// NewObject declares a view type with its fields.
func NewObject(typ *types.Type, fields ...Field) *Object {
	o := &Object{Type: typ, fields: make(map[string]*types.FieldType, len(fields))}
	for _, f := range fields {
		get, isSet := f.Get, f.IsSet
		if isSet == nil {
			isSet = func(any) bool { return true }
		}
		o.names = append(o.names, f.Name)
		o.fields[f.Name] = &types.FieldType{
			Type:    f.Type,
			IsSet:   isSet,
			GetFrom: func(v any) (any, error) { return get(v), nil },
		}
	}
	return o
}

// Get serves field access on a value whose type the checker did not know
// (a dyn), where CEL indexes the object instead of using the field getter.
func (o *Object) Get(v any, name ref.Val) ref.Val {
	ft, err := o.field(name)
	if err != nil {
		return err
	}
	out, _ := ft.GetFrom(v)
	return out.(ref.Val)
}

// IsSet serves has() on such a value.
func (o *Object) IsSet(v any, name ref.Val) ref.Val {
	ft, err := o.field(name)
	if err != nil {
		return err
	}
	return types.Bool(ft.IsSet(v))
}

func (o *Object) field(name ref.Val) (*types.FieldType, ref.Val) {
	s, ok := name.(types.String)
	if !ok {
		return nil, types.NewErr("no such key: %v", name)
	}
	ft, ok := o.fields[string(s)]
	if !ok {
		return nil, types.NewErr("no such field '%s' on %s", s, o.Type.TypeName())
	}
	return ft, nil
}

// ConvertToType converts a value of the view to type t: its own type, or
// type() itself.
func (o *Object) ConvertToType(v ref.Val, t ref.Type) ref.Val {
	if t == types.TypeType {
		return o.Type
	}
	if t.TypeName() == o.Type.TypeName() {
		return v
	}
	return types.NewErr("type conversion error from '%s' to '%s'", o.Type.TypeName(), t.TypeName())
}

// ConvertToNative hands the value out as the Go type it is.
func (o *Object) ConvertToNative(v any, t reflect.Type) (any, error) {
	if reflect.TypeOf(v).AssignableTo(t) {
		return v, nil
	}
	return nil, fmt.Errorf("type conversion error from '%s' to '%v'", o.Type.TypeName(), t)
}

// Provider declares the views in Objects (by type name) to the checker and
// the interpreter, on top of an environment's own provider.
type Provider struct {
	types.Provider
	Objects map[string]*Object
}

func (p Provider) FindStructType(name string) (*types.Type, bool) {
	if o, ok := p.Objects[name]; ok {
		return types.NewTypeTypeWithParam(o.Type), true
	}
	return p.Provider.FindStructType(name)
}

// FindIdent resolves the type names, for `type(x) == pkg.View`.
func (p Provider) FindIdent(name string) (ref.Val, bool) {
	if o, ok := p.Objects[name]; ok {
		return o.Type, true
	}
	return p.Provider.FindIdent(name)
}

func (p Provider) FindStructFieldNames(name string) ([]string, bool) {
	if o, ok := p.Objects[name]; ok {
		return o.names, true
	}
	return p.Provider.FindStructFieldNames(name)
}

func (p Provider) FindStructFieldType(name, fieldName string) (*types.FieldType, bool) {
	if o, ok := p.Objects[name]; ok {
		ft, ok := o.fields[fieldName]
		return ft, ok
	}
	return p.Provider.FindStructFieldType(name, fieldName)
}

// NewValue refuses to build views: an expression reads the values it was
// given, it cannot invent one.
func (p Provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := p.Objects[name]; ok {
		return types.NewErr("%s cannot be constructed in an expression", name)
	}
	return p.Provider.NewValue(name, fields)
}

var _ types.Provider = Provider{}

// HasField reports whether the view has a field of that name.
func (o *Object) HasField(name string) bool { return o.fields[name] != nil }

package rules

import (
	"fmt"
	"reflect"
	"slices"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// CEL names of the summary types.
const (
	summaryTypeName = "rules.Summary"
	episodeTypeName = "rules.Episode"
)

var (
	summaryType = types.NewObjectType(summaryTypeName)
	episodeType = types.NewObjectType(episodeTypeName)
)

// part is which part of an episode an expression reads; it decides which
// evidence a decision rests on.
type part uint8

const (
	partEvent     part = 1 << iota // the evidence that set the episode
	partNegatives                  // the negative tests counted since it
	partAll       = partEvent | partNegatives
)

// celField is one field of a summary type as CEL sees it. Values are built
// once by Summarize, so reading a field allocates nothing.
type celField struct {
	typ   *types.Type
	get   func(obj any) (any, error) // a ref.Val, or *Episode for nested structs
	isSet func(obj any) bool
	part  part
}

var episodeFields = map[string]*celField{
	"at": {types.TimestampType, func(o any) (any, error) { return o.(*Episode).atVal, nil },
		func(o any) bool { return o.(*Episode).ev != 0 }, partEvent},
	"day": {types.IntType, func(o any) (any, error) { return o.(*Episode).dayVal, nil },
		func(o any) bool { return o.(*Episode).Day != 0 }, partEvent},
	"area": {types.StringType, func(o any) (any, error) { return o.(*Episode).areaVal, nil },
		func(o any) bool { return o.(*Episode).Area != "" }, partEvent},
	"negative_days": {types.NewListType(types.IntType), func(o any) (any, error) { return o.(*Episode).negDaysVal, nil },
		func(o any) bool { return len(o.(*Episode).NegativeDays) != 0 }, partAll},
	"last_negative_day": {types.IntType, func(o any) (any, error) { return o.(*Episode).lastNegDayVal, nil },
		func(o any) bool { return o.(*Episode).LastNegativeDay != 0 }, partAll},
	"negative_count": {types.IntType, func(o any) (any, error) { return o.(*Episode).negCountVal, nil },
		func(o any) bool { return o.(*Episode).NegativeCount != 0 }, partAll},
	"negative_span": {types.DurationType, func(o any) (any, error) { return o.(*Episode).spanVal, nil },
		func(o any) bool { return o.(*Episode).NegativeSpan != 0 }, partAll},
	"until": {types.TimestampType, func(o any) (any, error) { return o.(*Episode).untilVal, nil },
		func(o any) bool { return !o.(*Episode).Until.IsZero() }, partEvent},
	"every": {types.DurationType, func(o any) (any, error) { return o.(*Episode).everyVal, nil },
		func(o any) bool { return o.(*Episode).Every != 0 }, partEvent},
	"due_at": {types.TimestampType, func(o any) (any, error) { return o.(*Episode).dueVal, nil },
		func(o any) bool { return !o.(*Episode).DueAt.IsZero() }, partAll},
	"clear_span": {types.DurationType, func(o any) (any, error) { return o.(*Episode).clearVal, nil },
		func(o any) bool { return o.(*Episode).ClearSpan != 0 }, partAll},
}

// summaryFields maps the fields of Summary; summarySlots gives, for each
// field, the episode slot it rests on.
var summaryFields, summarySlots = func() (map[string]*celField, map[string]int) {
	fields := map[string]*celField{
		"vaccination_doses": {types.IntType, func(o any) (any, error) { return o.(*Summary).dosesVal, nil },
			func(o any) bool { return o.(*Summary).VaccinationDoses != 0 }, partEvent},
	}
	slots := map[string]int{"vaccination_doses": vaccinationSlot}
	for i, f := range summaryEpisodes {
		get := f.get
		fields[f.name] = &celField{
			typ:   episodeType,
			get:   func(o any) (any, error) { return get(o.(*Summary)), nil },
			isSet: func(o any) bool { return get(o.(*Summary)).ev != 0 },
			part:  partAll,
		}
		slots[f.name] = i
	}
	return fields, slots
}()

func fieldsOf(typeName string) map[string]*celField {
	switch typeName {
	case summaryTypeName:
		return summaryFields
	case episodeTypeName:
		return episodeFields
	}
	return nil
}

// provider adds the summary types to CEL's standard registry. Field access
// goes through precomputed getters (no reflection), which is what keeps rule
// evaluation close to hand-written Go.
type provider struct {
	*types.Registry
}

func newProvider() (*provider, error) {
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, err
	}
	return &provider{reg}, nil
}

// FindStructType implements types.Provider.
func (p *provider) FindStructType(name string) (*types.Type, bool) {
	switch name {
	case summaryTypeName:
		return types.NewTypeTypeWithParam(summaryType), true
	case episodeTypeName:
		return types.NewTypeTypeWithParam(episodeType), true
	}
	return p.Registry.FindStructType(name)
}

// FindStructFieldNames implements types.Provider.
func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if fs := fieldsOf(name); fs != nil {
		names := make([]string, 0, len(fs))
		for n := range fs {
			names = append(names, n)
		}
		slices.Sort(names)
		return names, true
	}
	return p.Registry.FindStructFieldNames(name)
}

// FindStructFieldType implements types.Provider.
func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if fs := fieldsOf(name); fs != nil {
		f, ok := fs[field]
		if !ok {
			return nil, false
		}
		return &types.FieldType{
			Type:    f.typ,
			IsSet:   f.isSet,
			GetFrom: f.get,
		}, true
	}
	return p.Registry.FindStructFieldType(name, field)
}

// NewValue implements types.Provider: rules read summaries, never build them.
func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if fieldsOf(name) != nil {
		return types.NewErr("rules: %s cannot be constructed in a rule", name)
	}
	return p.Registry.NewValue(name, fields)
}

// NativeToValue implements types.Adapter for the summary types.
func (p *provider) NativeToValue(v any) ref.Val {
	switch v := v.(type) {
	case ref.Val:
		return v
	case *Summary:
		return &object{typ: summaryType, fields: summaryFields, v: v, adapter: p}
	case *Episode:
		return &object{typ: episodeType, fields: episodeFields, v: v, adapter: p}
	}
	return p.Registry.NativeToValue(v)
}

// object is a summary or an episode as a CEL value, used only when a rule
// handles one whole (e.g. dyn(s).close_contact); field selection on a typed
// expression bypasses it.
type object struct {
	typ     *types.Type
	fields  map[string]*celField
	v       any
	adapter types.Adapter
}

func (o *object) ConvertToNative(t reflect.Type) (any, error) {
	if reflect.TypeOf(o.v) == t {
		return o.v, nil
	}
	return nil, fmt.Errorf("type conversion error from %s to %v", o.typ.TypeName(), t)
}

func (o *object) ConvertToType(t ref.Type) ref.Val {
	switch {
	case t == types.TypeType:
		return o.typ
	case t.TypeName() == o.typ.TypeName():
		return o
	}
	return types.NewErr("type conversion error from %s to %s", o.typ.TypeName(), t.TypeName())
}

func (o *object) Equal(other ref.Val) ref.Val {
	x, ok := other.(*object)
	if !ok || x.typ.TypeName() != o.typ.TypeName() {
		return types.False
	}
	for _, f := range o.fields {
		va, _ := f.get(o.v)
		vb, _ := f.get(x.v)
		a, b := o.adapter.NativeToValue(va), o.adapter.NativeToValue(vb)
		if a.Equal(b) != types.True {
			return types.False
		}
	}
	return types.True
}

func (o *object) Type() ref.Type { return o.typ }
func (o *object) Value() any     { return o.v }

// Get implements traits.Indexer for dynamic field access.
func (o *object) Get(index ref.Val) ref.Val {
	name, ok := index.(types.String)
	if !ok {
		return types.ValOrErr(index, "no such overload")
	}
	f, ok := o.fields[string(name)]
	if !ok {
		return types.NewErr("no such field: %s", name)
	}
	v, _ := f.get(o.v)
	return o.adapter.NativeToValue(v)
}

// IsSet implements traits.FieldTester for has() on dynamic values.
func (o *object) IsSet(field ref.Val) ref.Val {
	name, ok := field.(types.String)
	if !ok {
		return types.ValOrErr(field, "no such overload")
	}
	f, ok := o.fields[string(name)]
	if !ok {
		return types.NewErr("no such field: %s", name)
	}
	return types.Bool(f.isSet(o.v))
}

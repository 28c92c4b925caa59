package redact

import "reflect"

// maxDepth bounds the walk over nested values (and cycles through
// pointers); deeper parts are left as they are.
const maxDepth = 32

// Value returns v with every string it holds redacted: exported string
// fields of structs, elements of slices and arrays, map keys and values,
// through pointers and interfaces. Other kinds (numbers, []byte, times)
// are kept. v itself is never modified: the parts that change are copied,
// the rest is shared. A v with nothing to redact is returned as is.
func (r *Registry) Value(v any) any {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	out, changed := r.walk(rv, 0)
	if !changed {
		return v
	}
	return out.Interface()
}

// Value redacts v with the process-wide registry.
func Value(v any) any { return Default().Value(v) }

// walk returns a redacted copy of v and whether anything changed; when
// nothing changed it returns v itself.
func (r *Registry) walk(v reflect.Value, depth int) (reflect.Value, bool) {
	if depth > maxDepth || !v.IsValid() {
		return v, false
	}
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		red := r.String(s)
		if red == s {
			return v, false
		}
		out := reflect.New(v.Type()).Elem()
		out.SetString(red)
		return out, true
	case reflect.Pointer:
		if v.IsNil() {
			return v, false
		}
		elem, changed := r.walk(v.Elem(), depth+1)
		if !changed {
			return v, false
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(elem)
		return p, true
	case reflect.Interface:
		if v.IsNil() {
			return v, false
		}
		elem, changed := r.walk(v.Elem(), depth+1)
		if !changed {
			return v, false
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(elem)
		return out, true
	case reflect.Struct:
		var out reflect.Value
		t := v.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			f, changed := r.walk(v.Field(i), depth+1)
			if !changed {
				continue
			}
			if !out.IsValid() {
				out = reflect.New(t).Elem()
				out.Set(v) // copies unexported fields too
			}
			out.Field(i).Set(f)
		}
		if !out.IsValid() {
			return v, false
		}
		return out, true
	case reflect.Slice:
		if v.IsNil() || v.Type().Elem().Kind() == reflect.Uint8 {
			return v, false
		}
		return r.walkList(v, depth, func() reflect.Value {
			out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(out, v)
			return out
		})
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v, false
		}
		return r.walkList(v, depth, func() reflect.Value {
			out := reflect.New(v.Type()).Elem()
			out.Set(v)
			return out
		})
	case reflect.Map:
		if v.IsNil() {
			return v, false
		}
		type kv struct{ k, v reflect.Value }
		var entries []kv
		changed := false
		it := v.MapRange()
		for it.Next() {
			k, kc := r.walk(it.Key(), depth+1)
			e, ec := r.walk(it.Value(), depth+1)
			changed = changed || kc || ec
			entries = append(entries, kv{k, e})
		}
		if !changed {
			return v, false
		}
		out := reflect.MakeMapWithSize(v.Type(), len(entries))
		for _, e := range entries {
			out.SetMapIndex(e.k, e.v)
		}
		return out, true
	}
	return v, false
}

func (r *Registry) walkList(v reflect.Value, depth int, clone func() reflect.Value) (reflect.Value, bool) {
	var out reflect.Value
	for i := range v.Len() {
		e, changed := r.walk(v.Index(i), depth+1)
		if !changed {
			continue
		}
		if !out.IsValid() {
			out = clone()
		}
		out.Index(i).Set(e)
	}
	if !out.IsValid() {
		return v, false
	}
	return out, true
}

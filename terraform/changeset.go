package terraform

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Change is one managed resource change of a plan in canonical form: every
// action and every attribute before and after, and which attributes are
// unknown until apply. The plan hash covers the full list, so what is
// approved is what is applied.
type Change struct {
	Address      string   `json:"address"`
	Actions      []string `json:"actions"`
	Before       any      `json:"before"`
	After        any      `json:"after"`
	AfterUnknown any      `json:"afterUnknown"`
	// Importing is the import ID when the change adopts an existing object.
	Importing string `json:"importing,omitempty"`
	// Redacted marks a change whose sensitive values were replaced by
	// digests (see redacted); such a record no longer hashes to the plan.
	Redacted bool `json:"redacted,omitempty"`
	// Which leaves of Before and After are sensitive (terraform's
	// before_sensitive and after_sensitive).
	beforeSensitive, afterSensitive any
}

// ChangeSet is a plan's changes, sorted by address.
type ChangeSet []Change

// changesOf returns the plan's managed resource changes other than no-ops
// and reads (imports included), sorted by address.
func changesOf(p *tfjson.Plan) ChangeSet {
	var out ChangeSet
	for _, rc := range p.ResourceChanges {
		if rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode {
			continue
		}
		a := rc.Change.Actions
		if !(a.Create() || a.Update() || a.Delete() || a.Replace()) && rc.Change.Importing == nil {
			continue // nothing to do; an import is kept even as a no-op
		}
		c := Change{Address: rc.Address, Before: rc.Change.Before, After: rc.Change.After, AfterUnknown: rc.Change.AfterUnknown}
		for _, x := range a {
			c.Actions = append(c.Actions, string(x))
		}
		if rc.Change.Importing != nil {
			c.Importing = rc.Change.Importing.ID
		}
		c.beforeSensitive, c.afterSensitive = rc.Change.BeforeSensitive, rc.Change.AfterSensitive
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// Hash is the hex SHA-256 (first 32 digits) of the change set's canonical
// JSON: changes sorted by address, object keys sorted (encoding/json sorts
// map keys), numbers as terraform printed them.
func (cs ChangeSet) Hash() (string, error) {
	canon := make([]Change, len(cs))
	for i, c := range cs {
		c.Redacted = false // not part of what is applied
		canon[i] = c
	}
	b, err := json.Marshal(canon)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:32], nil
}

// redacted returns the change set with every sensitive value that is set
// replaced by a digest of it: the form that is stored, and compared, so
// a changed secret still shows as a changed attribute without being
// written anywhere.
func (cs ChangeSet) redacted() ChangeSet {
	out := make(ChangeSet, len(cs))
	for i, c := range cs {
		var changed bool
		c.Before = redactValue(c.Before, c.beforeSensitive, &changed)
		c.After = redactValue(c.After, c.afterSensitive, &changed)
		c.Redacted = c.Redacted || changed
		c.beforeSensitive, c.afterSensitive = nil, nil
		out[i] = c
	}
	return out
}

func redactValue(v, sens any, changed *bool) any {
	switch s := sens.(type) {
	case bool:
		if !s || v == nil {
			return v
		}
		*changed = true
		b, _ := json.Marshal(v)
		sum := sha256.Sum256(b)
		return "(sensitive " + hex.EncodeToString(sum[:8]) + ")"
	case map[string]any:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[k] = redactValue(e, s[k], changed)
		}
		return out
	case []any:
		l, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, len(l))
		for i, e := range l {
			var se any
			if i < len(s) {
				se = s[i]
			}
			out[i] = redactValue(e, se, changed)
		}
		return out
	}
	return v
}

func (cs ChangeSet) byAddress() map[string]Change {
	m := make(map[string]Change, len(cs))
	for _, c := range cs {
		m[c.Address] = c
	}
	return m
}

// ResourceDiff is one resource whose planned change differs from the
// approved one. It names attributes, never their values.
type ResourceDiff struct {
	Address    string   `json:"address"`
	Approved   []string `json:"approved,omitempty"` // actions approved; empty: not in the approved plan
	Now        []string `json:"now,omitempty"`      // actions planned now; empty: no longer planned
	Attributes []string `json:"attributes,omitempty"`
	Importing  string   `json:"importing,omitempty"`
}

func (d ResourceDiff) String() string {
	act := func(a []string) string {
		if len(a) == 0 {
			return "nothing"
		}
		return joinActions(a)
	}
	s := fmt.Sprintf("%s: approved %s, now %s", d.Address, act(d.Approved), act(d.Now))
	if len(d.Attributes) > 0 {
		s += " (attributes " + joinList(d.Attributes, 8) + ")"
	}
	if d.Importing != "" {
		s += " (adopting " + d.Importing + ")"
	}
	return s
}

func joinActions(a []string) string {
	if len(a) == 2 && (a[0] == "delete" && a[1] == "create" || a[0] == "create" && a[1] == "delete") {
		return "replace"
	}
	return joinList(a, 4)
}

func joinList(xs []string, max int) string {
	s := ""
	for i, x := range xs {
		if i == max {
			return s + ", and " + strconv.Itoa(len(xs)-max) + " more"
		}
		if i > 0 {
			s += ", "
		}
		s += x
	}
	return s
}

// Diff lists the resources whose change in now differs from approved:
// other actions, other values, or only in one of them.
func Diff(approved, now ChangeSet) []ResourceDiff {
	a, n := approved.redacted().byAddress(), now.redacted().byAddress()
	var out []ResourceDiff
	for _, addr := range unionKeys(a, n) {
		ac, inA := a[addr]
		nc, inN := n[addr]
		d := ResourceDiff{Address: addr, Approved: ac.Actions, Now: nc.Actions, Importing: nc.Importing}
		switch {
		case !inA || !inN:
		case !reflect.DeepEqual(ac.Actions, nc.Actions):
			d.Attributes = diffPaths("", ac.After, nc.After, nil)
		default:
			d.Attributes = diffPaths("", ac.Before, nc.Before, nil)
			d.Attributes = diffPaths("", ac.After, nc.After, d.Attributes)
			d.Attributes = diffPaths("", ac.AfterUnknown, nc.AfterUnknown, d.Attributes)
			if len(d.Attributes) == 0 && ac.Importing == nc.Importing {
				continue
			}
		}
		d.Attributes = uniqueSorted(d.Attributes)
		out = append(out, d)
	}
	return out
}

// Refines reports whether now is what is left of approved after part of it
// was applied: every change now planned was approved with the same actions
// and the same prior object, creates and in-place updates only, and every
// value known at approval is unchanged (values unknown then may be known
// now). An adopted object (an import) must have been approved for
// creation and import as a no-op: terraform found it equal to the
// approved configuration. Both sets are compared in redacted form. It
// returns the differences when it does not.
func Refines(now, approved ChangeSet) (bool, []ResourceDiff) {
	now, approved = now.redacted(), approved.redacted()
	a := approved.byAddress()
	var out []ResourceDiff
	for _, c := range now {
		ac, ok := a[c.Address]
		d := ResourceDiff{Address: c.Address, Approved: ac.Actions, Now: c.Actions, Importing: c.Importing}
		switch {
		case !ok:
		case c.Importing != "":
			if isAction(ac.Actions, "create") && isAction(c.Actions, "no-op") {
				continue
			}
			// An update that only writes what an import cannot read back
			// is the approved object: terraform found it matching the
			// (approved) configuration in everything else, or it would
			// plan to change or replace it. Values need not equal the
			// approved plan's: an imported object carries what the API
			// returns (an image's self link for its family name).
			if isAction(ac.Actions, "create") && isAction(c.Actions, "update") && importArtifacts(c) {
				continue
			}
			// Otherwise the object differs from the approved configuration.
			d.Attributes = diffPaths("", c.Before, c.After, nil)
		case !reflect.DeepEqual(ac.Actions, c.Actions) || !(isAction(c.Actions, "create") || isAction(c.Actions, "update")):
		default:
			paths := diffPaths("", ac.Before, c.Before, nil)
			paths = knownDiff("", ac.After, ac.AfterUnknown, c.After, paths)
			if len(paths) == 0 {
				continue
			}
			d.Attributes = paths
		}
		d.Attributes = uniqueSorted(d.Attributes)
		out = append(out, d)
	}
	return len(out) == 0, out
}

// importArtifacts reports whether every attribute an adopted object's
// update changes is one the google provider does not read back on import:
// config-only attributes (allow_stopping_for_update) and the labels and
// terraform_labels fields, which import leaves empty while the object's
// effective_labels already hold the same values.
func importArtifacts(c Change) bool {
	before, _ := c.Before.(map[string]any)
	after, _ := c.After.(map[string]any)
	effective, _ := before["effective_labels"].(map[string]any)
	for _, p := range diffPaths("", c.Before, c.After, nil) {
		top, key, _ := strings.Cut(p, ".")
		switch top {
		case "allow_stopping_for_update":
		case "labels", "terraform_labels":
			labels, _ := after[top].(map[string]any)
			if key == "" || effective == nil || !jsonEqual(effective[key], labels[key]) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func isAction(a []string, want string) bool { return len(a) == 1 && a[0] == want }

// knownDiff appends the paths where now differs from a value known in the
// approved plan; where the approved value was unknown, anything goes.
func knownDiff(path string, approved, unknown, now any, out []string) []string {
	if u, ok := unknown.(bool); ok && u {
		return out
	}
	switch av := approved.(type) {
	case map[string]any:
		nv, ok := now.(map[string]any)
		if !ok {
			return append(out, orRoot(path))
		}
		um, _ := unknown.(map[string]any)
		for _, k := range unionKeys(av, nv) {
			out = knownDiff(join(path, k), av[k], um[k], nv[k], out)
		}
		return out
	case []any:
		nv, ok := now.([]any)
		ul, _ := unknown.([]any)
		if !ok || len(nv) != len(av) {
			return append(out, orRoot(path))
		}
		for i := range av {
			var u any
			if i < len(ul) {
				u = ul[i]
			}
			out = knownDiff(path+"["+strconv.Itoa(i)+"]", av[i], u, nv[i], out)
		}
		return out
	}
	if !jsonEqual(approved, now) {
		return append(out, orRoot(path))
	}
	return out
}

// diffPaths appends the paths where a and b differ.
func diffPaths(path string, a, b any, out []string) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		for _, k := range unionKeys(am, bm) {
			out = diffPaths(join(path, k), am[k], bm[k], out)
		}
		return out
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			out = diffPaths(path+"["+strconv.Itoa(i)+"]", al[i], bl[i], out)
		}
		return out
	}
	if !jsonEqual(a, b) {
		return append(out, orRoot(path))
	}
	return out
}

func jsonEqual(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	// json.Number and float64 of the same value, from different decoders.
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func orRoot(path string) string {
	if path == "" {
		return "(whole object)"
	}
	return path
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func uniqueSorted(xs []string) []string {
	sort.Strings(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

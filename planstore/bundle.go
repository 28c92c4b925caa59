// Package planstore holds reviewed plans where every worker can read them.
// A bundle is the plan file with the inventory and flow files it resolves
// against; its digest (sha256 of the canonical bundle) is what a workflow
// carries instead of a spec. Workers resolve specs only from bundles in
// their configured store, so nothing a Temporal client sends chooses what
// the worker executes: whoever may publish to the store is the trust root,
// as whoever may merge to main is for code.
package planstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
)

// Format names the bundle layout; it is part of the digest.
const Format = "ferry.plan-bundle/v1"

// MaxBundleBytes bounds a bundle read from a store or built from files.
const MaxBundleBytes = 256 << 20

// File is one input of a bundle, by its base name.
type File struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// Bundle is a reviewed plan and the inputs it was validated against.
type Bundle struct {
	Format    string `json:"format"`
	Plan      File   `json:"plan"`
	Inventory File   `json:"inventory"`
	Flows     []File `json:"flows,omitempty"`
}

// Build reads a plan file, an inventory file and flow files into a bundle.
func Build(planFile, inventoryFile string, flows []string) (*Bundle, error) {
	b := &Bundle{Format: Format}
	var err error
	if b.Plan, err = readFile(planFile); err != nil {
		return nil, err
	}
	if inventoryFile == "" {
		return nil, fmt.Errorf("a plan bundle needs the inventory file the plan was reviewed against (--inventory inventory.json, written by 'ferry discover --out')")
	}
	if b.Inventory, err = readFile(inventoryFile); err != nil {
		return nil, err
	}
	for _, f := range flows {
		ff, err := readFile(f)
		if err != nil {
			return nil, err
		}
		b.Flows = append(b.Flows, ff)
	}
	return b, nil
}

// FromParts builds a bundle from contents already in memory (an inventory
// read from the built-in sample, say).
func FromParts(planName string, planSrc []byte, inventoryName string, inventoryJSON []byte, flows []File) *Bundle {
	return &Bundle{Format: Format, Plan: File{Name: filepath.Base(planName), Data: planSrc},
		Inventory: File{Name: filepath.Base(inventoryName), Data: inventoryJSON}, Flows: flows}
}

func readFile(path string) (File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return File{}, fmt.Errorf("plan bundle: %w", err)
	}
	if st.Size() > MaxBundleBytes {
		return File{}, fmt.Errorf("plan bundle: %s is %d bytes, above the %d-byte limit", path, st.Size(), MaxBundleBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("plan bundle: %w", err)
	}
	return File{Name: filepath.Base(path), Data: data}, nil
}

// Digest is the bundle's content address, "sha256:<hex>".
func (b *Bundle) Digest() string {
	h := sha256.Sum256(b.canonical())
	return "sha256:" + hex.EncodeToString(h[:])
}

// canonical is the bundle's JSON: struct field order and base64 of bytes
// make it deterministic.
func (b *Bundle) canonical() []byte {
	data, err := json.Marshal(b)
	if err != nil {
		panic(err) // only strings and bytes: cannot fail
	}
	return data
}

// ValidDigest reports whether d has the shape of a digest.
func ValidDigest(d string) bool {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hexPart) != 64 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil && strings.ToLower(hexPart) == hexPart
}

// decode reads a stored bundle and checks it is the one asked for.
func decode(data []byte, want string) (*Bundle, error) {
	var b Bundle
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("plan bundle %s is corrupt: %v", want, err)
	}
	if b.Format != Format {
		return nil, fmt.Errorf("plan bundle %s has format %q; this worker reads %q", want, b.Format, Format)
	}
	if got := b.Digest(); got != want {
		return nil, fmt.Errorf("plan bundle stored as %s has digest %s: the store was modified; republish the reviewed plan", want, got)
	}
	return &b, nil
}

// Resolved is a bundle parsed, validated and resolved into app specs.
type Resolved struct {
	Digest    string
	Plan      *plan.Plan
	Specs     []plan.AppSpec
	Deps      *deps.Result
	Inventory *inventory.Inventory
}

// Resolve parses the bundle's plan, validates it against its inventory and
// flows, and resolves every app. A plan with errors does not resolve: the
// error carries the diagnostics as file:line:col.
func (b *Bundle) Resolve() (*Resolved, error) {
	inv, err := inventory.Decode(bytes.NewReader(b.Inventory.Data), b.Inventory.Name)
	if err != nil {
		return nil, fmt.Errorf("plan bundle: %w", err)
	}
	agg := deps.NewAggregator()
	for _, f := range b.Flows {
		if err := agg.ReadFlows(bytes.NewReader(f.Data), f.Name, deps.ParseOptions{}); err != nil {
			return nil, fmt.Errorf("plan bundle: flows %s: %w", f.Name, err)
		}
	}
	d, err := agg.Analyze(inv, deps.Options{})
	if err != nil {
		return nil, fmt.Errorf("plan bundle: dependencies: %w", err)
	}
	p, diags := plan.Parse(b.Plan.Name, b.Plan.Data)
	if p != nil && !diags.HasErrors() {
		diags = append(diags, plan.Validate(p, inv, d)...)
	}
	if diags.HasErrors() {
		var buf bytes.Buffer
		_ = plan.WriteDiagnostics(&buf, b.Plan.Name, b.Plan.Data, diags)
		return nil, fmt.Errorf("plan %s does not validate:\n%s", b.Plan.Name, buf.String())
	}
	specs, _ := plan.Resolve(p, inv, d)
	return &Resolved{Digest: b.Digest(), Plan: p, Specs: specs, Deps: d, Inventory: inv}, nil
}

// App returns one app's resolved spec.
func (r *Resolved) App(name string) (plan.AppSpec, bool) {
	for _, s := range r.Specs {
		if s.Name == name {
			return s, true
		}
	}
	return plan.AppSpec{}, false
}

// Wave returns a wave and the resolved specs of its apps, in the plan's order.
func (r *Resolved) Wave(name string) (plan.Wave, []plan.AppSpec, bool) {
	for _, w := range r.Plan.Waves {
		if w.Name != name {
			continue
		}
		var specs []plan.AppSpec
		for _, a := range w.Apps {
			if s, ok := r.App(a); ok {
				specs = append(specs, s)
			}
		}
		return w, specs, true
	}
	return plan.Wave{}, nil, false
}

// SameSpec reports whether two resolved specs are identical.
func SameSpec(a, b plan.AppSpec) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

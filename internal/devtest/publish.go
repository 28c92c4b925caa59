package devtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/planstore"
)

// PublishPlan edits the plan of a dev state directory (ferry.hcl with its
// inventory.json and flows.csv), publishes it to the directory's plan store
// (<dir>/plans, what its worker reads) and returns its digest and the plan
// resolved as the worker resolves it. Tests change plans only this way: the
// worker runs nothing that is not in a published plan.
func PublishPlan(ctx context.Context, dir string, edit func(*hclwrite.Body)) (string, *devstack.DevPlan, error) {
	file := filepath.Join(dir, "ferry.hcl")
	src, err := os.ReadFile(file)
	if err != nil {
		return "", nil, err
	}
	f, diags := hclwrite.ParseConfig(src, file, hcl.InitialPos)
	if diags.HasErrors() {
		return "", nil, fmt.Errorf("%s: %s", file, diags.Error())
	}
	if edit != nil {
		edit(f.Body())
	}
	if err := os.WriteFile(file, f.Bytes(), 0o600); err != nil {
		return "", nil, err
	}
	p, err := devstack.LoadPlan(dir) // validates, with diagnostics
	if err != nil {
		return "", nil, err
	}
	s, err := planstore.Open(ctx, filepath.Join(dir, "plans"))
	if err != nil {
		return "", nil, err
	}
	d, err := planstore.Publish(ctx, s, file, filepath.Join(dir, "inventory.json"), []string{filepath.Join(dir, "flows.csv")})
	return d, p, err
}

// Fast makes the named apps (every app when none is named) run through
// their stages at once: no change windows, steps of 10/50/100 % with no
// bake, a 10-request SLO gate, no bake after cutover, no retention.
func Fast(apps ...string) func(*hclwrite.Body) {
	return func(body *hclwrite.Body) {
		for _, app := range body.Blocks() {
			if app.Type() != "app" || (len(apps) > 0 && !slices.Contains(apps, app.Labels()[0])) {
				continue
			}
			ab := app.Body()
			ab.SetAttributeValue("bake", cty.StringVal("0s"))
			for _, b := range ab.Blocks() {
				switch b.Type() {
				case "cutover":
					cb := b.Body()
					steps := []cty.Value{cty.NumberIntVal(10), cty.NumberIntVal(50), cty.NumberIntVal(100)}
					if a := cb.GetAttribute("load_balancer"); a != nil && strings.Contains(string(a.Expr().BuildTokens(nil).Bytes()), plan.LBInternalTCP) {
						steps = steps[2:] // a passthrough LB moves in one step
					}
					cb.SetAttributeValue("steps", cty.ListVal(steps))
					cb.SetAttributeValue("step_bake", cty.StringVal("0s"))
					for _, x := range cb.Blocks() {
						switch x.Type() {
						case "window":
							cb.RemoveBlock(x)
						case "slo":
							x.Body().SetAttributeValue("requests", cty.NumberIntVal(10))
						}
					}
				case "decommission":
					b.Body().SetAttributeValue("retention", cty.StringVal("0s"))
					b.Body().SetAttributeValue("shutdown_timeout", cty.StringVal("2s"))
				}
			}
		}
	}
}

// Set sets an attribute of the named apps (e.g. rollback = "destroy").
func Set(attr string, v cty.Value, apps ...string) func(*hclwrite.Body) {
	return func(body *hclwrite.Body) {
		for _, app := range body.Blocks() {
			if app.Type() == "app" && slices.Contains(apps, app.Labels()[0]) {
				app.Body().SetAttributeValue(attr, v)
			}
		}
	}
}

// FirstWave moves the named apps out of their waves into a new first wave
// with this concurrency cap.
func FirstWave(name string, concurrency int, apps ...string) func(*hclwrite.Body) {
	return func(body *hclwrite.Body) {
		for _, w := range body.Blocks() {
			if w.Type() != "wave" {
				continue
			}
			var keep []cty.Value
			for _, a := range waveApps(w) {
				if !slices.Contains(apps, a) {
					keep = append(keep, cty.StringVal(a))
				}
			}
			if len(keep) == 0 {
				body.RemoveBlock(w)
				continue
			}
			w.Body().SetAttributeValue("apps", cty.ListVal(keep))
		}
		vals := make([]cty.Value, 0, len(apps))
		for _, a := range apps {
			vals = append(vals, cty.StringVal(a))
		}
		w := hclwrite.NewBlock("wave", []string{name})
		w.Body().SetAttributeValue("apps", cty.ListVal(vals))
		w.Body().SetAttributeValue("concurrency", cty.NumberIntVal(int64(concurrency)))
		// Waves run in the order written and hclwrite cannot insert before
		// a block: the new wave goes first, the others after it.
		var waves []*hclwrite.Block
		for _, b := range body.Blocks() {
			if b.Type() == "wave" {
				waves = append(waves, b)
				body.RemoveBlock(b)
			}
		}
		body.AppendBlock(w)
		for _, b := range waves {
			body.AppendBlock(b)
		}
	}
}

// waveApps reads a wave's apps list (a list of string literals).
func waveApps(w *hclwrite.Block) []string {
	attr := w.Body().GetAttribute("apps")
	if attr == nil {
		return nil
	}
	expr, diags := hclsyntax.ParseExpression(attr.Expr().BuildTokens(nil).Bytes(), "apps", hcl.InitialPos)
	if diags.HasErrors() {
		return nil
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.CanIterateElements() {
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.Type() == cty.String {
			out = append(out, e.AsString())
		}
	}
	return out
}

// Publish edits and publishes the stack's plan (PublishPlan); the stack's
// specs and digest become the published ones.
func (s *Stack) Publish(ctx context.Context, edit func(*hclwrite.Body)) error {
	d, p, err := PublishPlan(ctx, s.StateDir, edit)
	if err != nil {
		return err
	}
	s.PlanDigest, s.DevPlan = d, p
	return nil
}

// Hook adds a hook block to an app.
func Hook(app, name, at, timeout string, command ...string) func(*hclwrite.Body) {
	return func(body *hclwrite.Body) {
		for _, a := range body.Blocks() {
			if a.Type() != "app" || a.Labels()[0] != app {
				continue
			}
			h := a.Body().AppendNewBlock("hook", []string{name}).Body()
			h.SetAttributeValue("at", cty.StringVal(at))
			args := make([]cty.Value, 0, len(command))
			for _, c := range command {
				args = append(args, cty.StringVal(c))
			}
			h.SetAttributeValue("command", cty.ListVal(args))
			h.SetAttributeValue("timeout", cty.StringVal(timeout))
		}
	}
}

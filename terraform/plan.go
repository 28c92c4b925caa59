package terraform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
)

// PlanFile is the saved plan inside an app's working directory.
const PlanFile = "ferry.tfplan"

// Plan runs terraform plan -out and summarises `show -json` of the saved
// plan. It records the plan's full change set next to the state under the
// summary's hash, for the apply of that approval. It returns the summary
// and the plan file's path.
func (r *Runner) Plan(ctx context.Context) (PlanSummary, string, error) {
	defer r.claim(ctx)()
	p, err := r.initPlan(ctx)
	if err != nil {
		return PlanSummary{}, "", err
	}
	if err := r.saveChanges(ctx, p.sum.Hash, p.changes); err != nil {
		return PlanSummary{}, "", err
	}
	return p.sum, p.file, nil
}

// planned is one terraform plan: its summary, saved file and change set.
type planned struct {
	sum     PlanSummary
	file    string
	changes ChangeSet
}

func (r *Runner) initPlan(ctx context.Context) (planned, error) {
	if err := r.init(ctx); err != nil {
		return planned{}, err
	}
	return r.plan(ctx, false)
}

func (r *Runner) plan(ctx context.Context, destroy bool) (planned, error) {
	tf, err := r.tf()
	if err != nil {
		return planned{}, err
	}
	out := filepath.Join(r.dir, PlanFile)
	err = r.untilLockSettles(ctx, func() error {
		s := newJSONStream(nil)
		_, err := tf.PlanJSON(ctx, s, tfexec.Out(out), tfexec.LockTimeout(r.lockTimeout()), tfexec.Destroy(destroy))
		s.close()
		return r.fail("plan", err, s.errors())
	})
	if err != nil {
		return planned{}, err
	}
	p, err := tf.ShowPlanFile(ctx, out)
	if err != nil {
		return planned{}, r.fail("show", err, nil)
	}
	sum, changes, err := summarise(p, r.configHash())
	if err != nil {
		return planned{}, fmt.Errorf("summarise terraform plan of app %q: %w", r.spec.Name, err)
	}
	return planned{sum: sum, file: out, changes: changes}, nil
}

func (r *Runner) configHash() string {
	files, err := Render(r.spec, r.opts)
	if err != nil {
		return ""
	}
	h := sha256.New()
	for _, n := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// PlanSummary is terraform's plan as evidence for the approve-plan gate.
type PlanSummary struct {
	Add, Change, Destroy int
	Resources            []string // "create google_compute_instance.web-1"
	MachineTypes         []string // "web-1: e2-standard-2"
	MonthlyUSDDelta      float64
	// InState counts the resources the plan finds already there (in the
	// state, or imported): an earlier run of the app, stopped before it
	// could undo its work, left them.
	InState int
	// Hash is "<changes>.<module>": the hash of the full change set (every
	// resource's actions and attributes, see ChangeSet.Hash) and of the
	// rendered module, provider lock file included.
	Hash string
}

// HasChanges reports whether applying would change anything.
func (s PlanSummary) HasChanges() bool { return s.Add+s.Change+s.Destroy > 0 }

func hashPart(h string, i int) string {
	parts := strings.Split(h, ".")
	if len(parts) != 2 {
		return ""
	}
	return parts[i]
}

func summarise(p *tfjson.Plan, configHash string) (PlanSummary, ChangeSet, error) {
	var s PlanSummary
	for _, rc := range p.ResourceChanges {
		if rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode {
			continue
		}
		a := rc.Change.Actions
		if !a.Create() || rc.Change.Importing != nil {
			s.InState++
		}
		var verb string
		switch {
		case a.Create():
			s.Add++
			verb = "create"
		case a.Update():
			s.Change++
			verb = "update"
		case a.Delete():
			s.Destroy++
			verb = "delete"
		case a.Replace():
			s.Add++
			s.Destroy++
			verb = "replace"
		default:
			continue // no-op, read
		}
		s.Resources = append(s.Resources, verb+" "+rc.Address)
		before, after := costOf(rc.Type, rc.Change.Before), costOf(rc.Type, rc.Change.After)
		if a.Delete() {
			after = 0
		}
		s.MonthlyUSDDelta += after - before
		if rc.Type == "google_compute_instance" && !a.Delete() {
			if m, ok := rc.Change.After.(map[string]any); ok {
				s.MachineTypes = append(s.MachineTypes, fmt.Sprintf("%s: %v", m["name"], m["machine_type"]))
			}
		}
	}
	sort.Strings(s.Resources)
	sort.Strings(s.MachineTypes)
	changes := changesOf(p)
	h, err := changes.Hash()
	if err != nil {
		return s, nil, err
	}
	s.Hash = h + "." + configHash
	s.MonthlyUSDDelta = float64(int64(s.MonthlyUSDDelta*100)) / 100
	return s, changes, nil
}

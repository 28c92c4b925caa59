package terraform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// FileImports holds import blocks that adopt orphans; it lives only for
// the apply that needs it (Init removes it).
const FileImports = "ferry_imports.tf"

// orphans returns the addresses whose create failed because the object
// already exists: an earlier apply was interrupted after the create call
// and before terraform saved it to state.
func orphans(diags []Diagnostic) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range diags {
		if d.Address == "" || seen[d.Address] {
			continue
		}
		text := d.Summary + " " + d.Detail
		if strings.Contains(text, "alreadyExists") || strings.Contains(text, "memberAlreadyExists") || strings.Contains(text, "already exists") {
			seen[d.Address] = true
			out = append(out, d.Address)
		}
	}
	sort.Strings(out)
	return out
}

// writeImports renders import blocks for the given addresses.
func (r *Runner) writeImports(addrs []string) error {
	ids := ImportIDs(r.spec)
	f := hclwrite.NewEmptyFile()
	n := 0
	for _, a := range addrs {
		id, ok := ids[a]
		typ, name, found := strings.Cut(a, ".")
		if !ok || !found {
			continue
		}
		b := f.Body().AppendNewBlock("import", nil).Body()
		b.SetAttributeTraversal("to", hcl.Traversal{hcl.TraverseRoot{Name: typ}, hcl.TraverseAttr{Name: name}})
		r.a().setStr(b, "id", id)
		n++
	}
	if n == 0 {
		return fmt.Errorf("terraform apply of app %q: objects already exist that ferry cannot adopt (%s): import or delete them by hand", r.spec.Name, strings.Join(addrs, ", "))
	}
	return os.WriteFile(filepath.Join(r.dir, FileImports), fileBytes(f), 0o644)
}

func (r *Runner) a() *arena { return &arena{} }

// adoptAndApply imports the orphans, re-plans and applies.
func (r *Runner) adoptAndApply(ctx context.Context, addrs []string) (PlanSummary, error) {
	if err := r.writeImports(addrs); err != nil {
		return PlanSummary{}, err
	}
	defer os.Remove(filepath.Join(r.dir, FileImports))
	sum, file, err := r.plan(ctx, false)
	if err != nil {
		return sum, err
	}
	if sum.Destroy > 0 {
		return sum, &PlanDriftError{App: r.spec.Name, Now: sum.Hash, Summary: sum}
	}
	return sum, r.applyFile(ctx, file)
}

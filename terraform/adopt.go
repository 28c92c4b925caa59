package terraform

import (
	"context"
	"errors"
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

// adoptAndApply imports the orphans, re-plans and applies. An apply that
// failed on an orphan never attempted what depends on it (a hybrid NEG's
// endpoints, the backend service using it), and those may be orphans too:
// their conflicts surface only in this apply. So adoption repeats, keeping
// the earlier imports, while each round's failure names new orphans.
func (r *Runner) adoptAndApply(ctx context.Context, addrs []string) (PlanSummary, error) {
	defer os.Remove(filepath.Join(r.dir, FileImports))
	adopted := map[string]bool{}
	var all []string
	for {
		for _, a := range addrs {
			if !adopted[a] {
				adopted[a] = true
				all = append(all, a)
			}
		}
		sort.Strings(all)
		if err := r.writeImports(all); err != nil {
			return PlanSummary{}, err
		}
		sum, file, err := r.plan(ctx, false)
		if err != nil {
			return sum, err
		}
		if sum.Destroy > 0 {
			return sum, &PlanDriftError{App: r.spec.Name, Now: sum.Hash, Summary: sum}
		}
		err = r.applyFile(ctx, file)
		var tfe *Error
		if err == nil || !errors.As(err, &tfe) || ctx.Err() != nil {
			return sum, err
		}
		// Orphans already imported this run mean the import did not take:
		// the apply's own error stands.
		if addrs = orphans(tfe.Diagnostics); !anyNew(addrs, adopted) {
			return sum, err
		}
	}
}

func anyNew(addrs []string, seen map[string]bool) bool {
	for _, a := range addrs {
		if !seen[a] {
			return true
		}
	}
	return false
}

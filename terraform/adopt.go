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
		r.a().SetStr(b, "id", id)
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
// Before anything is applied, every object to import must be this app's
// (ForeignObjectError otherwise), and the post-adoption plan must be what
// is left of the approved change set (PlanDriftError otherwise).
func (r *Runner) adoptAndApply(ctx context.Context, addrs []string, approvedHash string, approved ChangeSet, failed *Error) error {
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
			return err
		}
		p, err := r.plan(ctx, false)
		if err != nil {
			return err
		}
		for _, c := range p.changes {
			if c.Importing == "" {
				continue
			}
			if why := r.notOurs(c, p.changes); why != "" {
				return &ForeignObjectError{App: r.spec.Name, Address: c.Address, ImportID: c.Importing, Why: why, Err: failed}
			}
		}
		if ok, diffs := Refines(p.changes, approved); !ok {
			return r.drift(approvedHash, p, diffs, "the plan after adopting objects an interrupted apply left would change more than what was approved")
		}
		err = r.applyFile(ctx, p.file)
		var tfe *Error
		if err == nil || !errors.As(err, &tfe) || ctx.Err() != nil {
			return err
		}
		// Orphans already imported this run mean the import did not take:
		// the apply's own error stands.
		if addrs = orphans(tfe.Diagnostics); !anyNew(addrs, adopted) {
			return err
		}
		failed = tfe
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

// OwnerNote marks, in their description, the app's objects that have no
// labels (firewalls, instance groups, health checks, backend services,
// NEGs, URL maps, proxies): adoption takes only objects carrying it.
func OwnerNote(app string) string { return "managed by ferry for app " + app }

// notOurs says why the object c would import is not this app's, or ""
// when it is: labels managed-by=ferry and app=<app> where the resource has
// labels; OwnerNote in the description where it has none; a network
// endpoint is the app's when its NEG is (in state, or adopted as the
// app's in the same plan).
func (r *Runner) notOurs(c Change, changes ChangeSet) string {
	obj, _ := c.Before.(map[string]any)
	if obj == nil {
		return "terraform read nothing to import"
	}
	typ, _, _ := strings.Cut(c.Address, ".")
	if typ == "google_compute_network_endpoint" {
		const neg = "google_compute_network_endpoint_group.dc"
		for _, o := range changes {
			if o.Address != neg {
				continue
			}
			if o.Importing != "" && r.notOurs(o, changes) == "" || o.Importing == "" && !isAction(o.Actions, "create") {
				return ""
			}
		}
		// Not in the change set at all: the NEG is in state, unchanged.
		for _, o := range changes {
			if o.Address == neg {
				return "its network endpoint group is not this app's"
			}
		}
		return ""
	}
	for _, key := range []string{"effective_labels", "labels"} {
		l, ok := obj[key].(map[string]any)
		if !ok {
			continue
		}
		if l["managed-by"] == "ferry" && l["app"] == LabelValue(r.spec.Name) {
			return ""
		}
		return fmt.Sprintf("labels managed-by=ferry and app=%s missing", LabelValue(r.spec.Name))
	}
	// In parentheses, as rendered: app "shop" must not match "shop2".
	if d, _ := obj["description"].(string); strings.Contains(d, "("+OwnerNote(r.spec.Name)+")") {
		return ""
	}
	return fmt.Sprintf("its description lacks %q", OwnerNote(r.spec.Name))
}

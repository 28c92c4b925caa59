package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/readiness"
	"github.com/ferrymigrate/ferry/textsafe"
)

// Readiness assesses an app's VMs as the reviewed plan moves them: the
// NIC limit against each VM's planned machine type, and the findings the
// plan accepts (accept_readiness) marked accepted. vms are the app's VMs
// as discovered (the inventory at validate time, vCenter at run time).
// plan validate and the worker's discovery use the same function, so the
// gate refuses exactly what validate reported.
func Readiness(s AppSpec, vms []inventory.VM) readiness.AppReport {
	byRef := make(map[string]VMSpec, len(s.VMs))
	for _, v := range s.VMs {
		byRef[v.Ref] = v
	}
	opts := readiness.Options{
		TargetVCPU: func(v inventory.VM) int {
			if mt, err := LookupMachineType(byRef[v.Ref].MachineType); err == nil {
				return mt.VCPU
			}
			return 0
		},
		Accepted: func(v inventory.VM) []string { return byRef[v.Ref].AcceptReadiness },
	}
	return readiness.CheckApp(s.Name, vms, opts)
}

// checkAcceptCodes reports accept_readiness entries that name no check.
func checkAcceptCodes(app string, body *hclsyntax.Body, codes []string, where string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for i, c := range codes {
		if !slices.Contains(readiness.Checks(), c) {
			diags = append(diags, diagAt(hcl.DiagError, itemRange(body, "accept_readiness", i), "Unknown readiness check",
				fmt.Sprintf("App %q%s: accept_readiness names %q, which is not a readiness check; use one of %s (docs/readiness.md).",
					app, where, c, strings.Join(readiness.Checks(), ", "))))
		}
	}
	return diags
}

// checkReadiness turns the app's readiness into diagnostics: a not-ready
// finding the plan does not accept is an error (the worker would refuse
// the plan gate), an accepted one and an unaccepted condition are
// warnings, an accepted condition is silent. Each points at the VM's vm
// block when it has one, else at the app block (or its wave entry).
func checkReadiness(s AppSpec, c *AppConf, vms map[string]inventory.VM, appRange *hcl.Range) hcl.Diagnostics {
	var found []inventory.VM
	for _, v := range s.VMs {
		if vm, ok := vms[v.Ref]; ok {
			found = append(found, vm)
		}
	}
	rep := Readiness(s, found)
	var body *hclsyntax.Body
	if c != nil && c.block != nil {
		body = c.block.Body
	}
	at := func(vmName string) *hcl.Range {
		for _, b := range blocksOf(body, "vm") {
			if len(b.Labels) > 0 && b.Labels[0] == vmName {
				return blockRange(b)
			}
		}
		return appRange
	}
	where := fmt.Sprintf("app %q", s.Name)
	if c == nil || c.block == nil {
		where = fmt.Sprintf("a new app %q block", s.Name)
	}
	var diags hcl.Diagnostics
	seen := map[string]bool{} // checks with a finding, for stale acceptances
	for _, v := range rep.VMs {
		for _, f := range v.Findings {
			seen[f.Check] = true
			disk := ""
			if f.Disk != "" {
				disk = " (" + textsafe.Line(f.Disk) + ")"
			}
			what := fmt.Sprintf("App %q VM %q (%s), check %s%s: %s", s.Name, v.Name, v.Ref, f.Check, disk, textsafe.Line(f.Reason))
			switch {
			case f.Verdict == readiness.NotReady && !f.Accepted:
				diags = append(diags, diagAt(hcl.DiagError, at(v.Name), "VM not ready",
					fmt.Sprintf("%s. Fix: %s. A not-ready VM cannot pass the plan gate; if the app's reviewers accept the risk instead, add %q to accept_readiness in %s (or in its vm %q block).",
						what, textsafe.Line(f.Fix), f.Check, where, v.Name)))
			case f.Verdict == readiness.NotReady:
				diags = append(diags, diagAt(hcl.DiagWarning, at(v.Name), "Not-ready VM accepted",
					fmt.Sprintf("%s. The plan accepts this (accept_readiness), so the plan gate lets it pass; the fix would be: %s.", what, textsafe.Line(f.Fix))))
			case f.Verdict == readiness.Conditional && !f.Accepted:
				diags = append(diags, diagAt(hcl.DiagWarning, at(v.Name), "VM ready with conditions",
					fmt.Sprintf("%s. To do: %s. Once done or accepted, add %q to accept_readiness in %s to silence this.",
						what, textsafe.Line(f.Fix), f.Check, where)))
			}
		}
	}
	// An acceptance nothing needs any more is removed, so it cannot
	// silently accept a new problem later.
	if c != nil {
		for i, code := range c.AcceptReadiness {
			if slices.Contains(readiness.Checks(), code) && !seen[code] {
				diags = append(diags, diagAt(hcl.DiagWarning, itemRange(body, "accept_readiness", i), "Readiness acceptance not needed",
					fmt.Sprintf("App %q accepts %q, but none of its VMs has that finding now; remove it so it cannot hide a new problem.", s.Name, code)))
			}
		}
	}
	return diags
}

package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan/catalog"
)

// Validate checks the plan against the inventory and the dependency data:
// everything Resolve reports plus unknown apps and VMs, apps in two waves,
// app blocks in no wave, dependencies that move after their dependants,
// cycles between waves, windows that never open, empty approver lists,
// machine types ferry cannot price and VMs that are not ready to move
// (readiness; conditions are warnings). A plan with errors never reaches
// terraform.
func Validate(p *Plan, inv *inventory.Inventory, d *deps.Result) hcl.Diagnostics {
	if p == nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No plan"}}
	}
	specs, r := resolve(p, inv, d)
	diags := r.diags
	cfg := p.Config
	if cfg == nil {
		cfg = &Config{}
	}
	waveOf := map[string]int{}
	for wi, w := range p.Waves {
		for ai, a := range w.Apps {
			if prev, ok := waveOf[a]; ok {
				sev := hcl.DiagError
				detail := fmt.Sprintf("App %q is in wave %q and again in wave %q; an app moves once: keep it in one wave.", a, p.Waves[prev].Name, w.Name)
				if prev == wi {
					detail = fmt.Sprintf("App %q is listed twice in wave %q.", a, w.Name)
				}
				diags = append(diags, diagAt(sev, waveItemRange(cfg, wi, ai), "App in two waves", detail))
				continue
			}
			waveOf[a] = wi
		}
		for wj := 0; wj < wi; wj++ {
			if p.Waves[wj].Name == w.Name {
				diags = append(diags, diagAt(hcl.DiagError, waveRange(cfg, wi), "Duplicate wave",
					fmt.Sprintf("Wave %q is declared twice; rename one.", w.Name)))
			}
		}
	}
	for _, a := range cfg.Apps {
		if _, ok := waveOf[a.Name]; !ok {
			diags = append(diags, diagAt(hcl.DiagError, blockRange(a.block), "App in no wave",
				fmt.Sprintf("App %q has an app block but no wave lists it; add it to a wave's apps.", a.Name)))
		}
	}
	if len(p.Waves) == 0 && cfg.body != nil {
		diags = append(diags, diagAt(hcl.DiagWarning, rangeOf(cfg.body, nil, ""), "No waves",
			"The plan has no wave blocks, so no app can be migrated. Add wave \"wave-1\" { apps = [...] }."))
	}
	confByName := map[string]*AppConf{}
	for _, a := range cfg.Apps {
		confByName[a.Name] = a
	}
	for _, s := range specs {
		wr := waveItemRange(cfg, waveOf[s.Name], indexOf(p.Waves[waveOf[s.Name]].Apps, s.Name))
		diags = append(diags, checkApp(p.catalog(), s, confByName[s.Name], wr)...)
		ar := wr
		if c := confByName[s.Name]; c != nil && c.block != nil {
			ar = blockRange(c.block)
		}
		diags = append(diags, checkReadiness(s, confByName[s.Name], r.vms, ar)...)
		diags = append(diags, checkPeople(p, s, r.refs[s.Name], wr)...)
	}
	diags = append(diags, checkPlacement(p, specs, confByName)...)
	diags = append(diags, checkPlanOperators(p, specs)...)
	diags = append(diags, checkNameCollisions(specs, func(app string) *hcl.Range {
		if c := confByName[app]; c != nil && c.block != nil {
			return blockRange(c.block)
		}
		return waveItemRange(cfg, waveOf[app], indexOf(p.Waves[waveOf[app]].Apps, app))
	})...)
	diags = append(diags, checkClientDNSOwners(specs, func(app string) *hcl.Range {
		if c := confByName[app]; c != nil && c.block != nil {
			return blockRange(c.block)
		}
		return nil
	})...)
	diags = append(diags, checkOrder(p, specs, waveOf, cfg)...)
	return diags
}

func waveRange(cfg *Config, wi int) *hcl.Range {
	if wi < len(cfg.Waves) && cfg.Waves[wi].block != nil {
		return blockRange(cfg.Waves[wi].block)
	}
	return nil
}

func waveItemRange(cfg *Config, wi, ai int) *hcl.Range {
	if wi < len(cfg.Waves) && cfg.Waves[wi].block != nil {
		return itemRange(cfg.Waves[wi].block.Body, "apps", ai)
	}
	return nil
}

func checkApp(cat *catalog.Catalog, s AppSpec, c *AppConf, waveItem *hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	appRange := waveItem
	var body *hclsyntax.Body
	if c != nil && c.block != nil {
		appRange = blockRange(c.block)
		body = c.block.Body
	}
	if c == nil || c.Approvers == nil {
		where := fmt.Sprintf("app %q", s.Name)
		if c == nil || c.block == nil {
			where = fmt.Sprintf("a new app %q block", s.Name)
		}
		diags = append(diags, diagAt(hcl.DiagError, appRange, "No approvers",
			fmt.Sprintf("App %q names nobody who may approve its plan, cutover and decommission gates, and ferry never falls back to the vCenter owner. Write approvers { plan = [\"owner@example.com\"] cutover = [\"owner@example.com\"] decommission = [\"owner@example.com\"] } in %s, with a person block holding each approver's SSH key.", s.Name, where)))
	}
	for _, gate := range Gates {
		if c != nil && c.Approvers != nil && len(s.Approvers[gate]) == 0 {
			r := rangeOf(body, []string{"approvers"}, gate)
			if r == nil {
				r = appRange
			}
			where := fmt.Sprintf("app %q { approvers { ... } }", s.Name)
			if c == nil || c.block == nil {
				where = fmt.Sprintf("a new app %q { approvers { ... } } block", s.Name)
			}
			diags = append(diags, diagAt(hcl.DiagError, r, "No approvers",
				fmt.Sprintf("App %q has nobody who may approve its %s gate, and ferry never falls back to the vCenter owner. Write %s = [\"owner@example.com\"] in %s, with a person block holding that person's SSH key.", s.Name, gate, gate, where)))
		}
	}
	blocks := blocksOf(body, "vm")
	for _, v := range s.VMs {
		if err := checkShape(cat, v.MachineType, v.Zone); err != nil {
			r := appRange
			for _, b := range blocks {
				if len(b.Labels) > 0 && b.Labels[0] == v.Name {
					r = rangeOf(b.Body, nil, "machine_type")
				}
			}
			diags = append(diags, diagAt(hcl.DiagError, r, "Bad machine type",
				fmt.Sprintf("App %q VM %q: %v. Checked against the GCE catalogue (%s): GCE would refuse it at terraform apply.", s.Name, v.Name, err, cat.Origin)))
		}
	}
	if len(s.VMs) == 0 {
		diags = append(diags, diagAt(hcl.DiagError, appRange, "App has no VMs",
			fmt.Sprintf("App %q has no VMs in the inventory; there is nothing to migrate. Check its tags in vCenter.", s.Name)))
	}
	if s.Cutover.Strategy == "lb" && len(s.Cutover.DCEndpoints) == 0 {
		diags = append(diags, diagAt(hcl.DiagWarning, rangeOf(body, []string{"cutover"}, ""), "No datacenter endpoints",
			fmt.Sprintf("App %q: the lb strategy sends the DC share to dc_endpoints, but none are set and no VM IP is known. Set cutover { dc_endpoints = [\"10.0.0.5:8080\"] }.", s.Name)))
	}
	return diags
}

// checkOrder reports dependencies that move after their dependants and
// cycles between waves.
func checkOrder(p *Plan, specs []AppSpec, waveOf map[string]int, cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	edges := map[int]map[int]string{} // wave -> wave it needs first -> example
	for _, s := range specs {
		wi, ok := waveOf[s.Name]
		if !ok {
			continue
		}
		for _, dep := range s.DependsOn {
			wj, ok := waveOf[dep]
			if !ok || wj == wi {
				continue
			}
			if edges[wi] == nil {
				edges[wi] = map[int]string{}
			}
			edges[wi][wj] = s.Name + " -> " + dep
			if wj > wi {
				diags = append(diags, diagAt(hcl.DiagError, waveItemRange(cfg, wi, indexOf(p.Waves[wi].Apps, s.Name)),
					"Dependency moves later",
					fmt.Sprintf("App %q (wave %q) depends on %q, which moves later in wave %q. Move %q to wave %q or earlier, or put both in one wave.",
						s.Name, p.Waves[wi].Name, dep, p.Waves[wj].Name, dep, p.Waves[wi].Name)))
			}
		}
	}
	// Wave-level cycles: depth-first search over the wave graph.
	state := map[int]int{}
	var stack []int
	reported := map[string]bool{}
	var visit func(w int)
	visit = func(w int) {
		state[w] = 1
		stack = append(stack, w)
		var next []int
		for n := range edges[w] {
			next = append(next, n)
		}
		sort.Ints(next)
		for _, n := range next {
			switch state[n] {
			case 0:
				visit(n)
			case 1:
				i := indexOfInt(stack, n)
				cyc := append(append([]int{}, stack[i:]...), n)
				var names, why []string
				for k, x := range cyc {
					names = append(names, p.Waves[x].Name)
					if k+1 < len(cyc) {
						why = append(why, edges[x][cyc[k+1]])
					}
				}
				key := strings.Join(names, ">")
				if !reported[key] {
					reported[key] = true
					diags = append(diags, diagAt(hcl.DiagError, waveRange(cfg, n), "Cycle between waves",
						fmt.Sprintf("Waves depend on each other in a cycle: %s (%s). Put the apps of the cycle in one wave.",
							strings.Join(names, " -> "), strings.Join(why, ", "))))
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[w] = 2
	}
	for w := range p.Waves {
		if state[w] == 0 {
			visit(w)
		}
	}
	return diags
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return 0
}

func indexOfInt(xs []int, x int) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return 0
}

// checkPeople reports approvers and operators of an app whose approvals
// could not be verified: no person block, or one without keys. That is an
// error unless the app allows unverified approvals (then a warning).
// Plan-level operators are checked once, by checkPlanOperators.
func checkPeople(p *Plan, s AppSpec, refs *appRefs, waveItem *hcl.Range) hcl.Diagnostics {
	if refs == nil {
		return nil
	}
	var diags hcl.Diagnostics
	reported := map[string]bool{}
	check := func(role string, ref identRef) {
		if len(p.People[ref.ID]) > 0 || reported[ref.ID] {
			return // reported once per app, at its first mention
		}
		reported[ref.ID] = true
		r := ref.Range
		if r == nil {
			r = waveItem
		}
		diags = append(diags, unverifiedDiag(p, s.AllowUnverified, r, fmt.Sprintf("App %q: %s %q", s.Name, role, ref.ID), ref.ID, fmt.Sprintf("app %q", s.Name)))
	}
	for _, g := range Gates {
		for _, ref := range refs.gates[g].Approvers {
			check(g+" approver", ref)
		}
	}
	for _, ref := range refs.operators {
		check("operator", ref)
	}
	return diags
}

func unverifiedDiag(p *Plan, allow bool, r *hcl.Range, who, id, scope string) *hcl.Diagnostic {
	why := "has no person block"
	if _, ok := p.People[id]; ok {
		why = "has a person block without keys"
	}
	fix := fmt.Sprintf("Add person %q { keys = [\"ssh-ed25519 AAAA... %s\"] } with the contents of their public key file (e.g. ~/.ssh/id_ed25519.pub), or set identity { allow_unverified = true } in %s to accept approvals nobody can verify.", id, id, scope)
	if allow {
		return diagAt(hcl.DiagWarning, r, "Unverified identity",
			fmt.Sprintf("%s %s: allow_unverified is set, so their approvals and actions are accepted and marked unverified in the audit. Add person %q { keys = [...] } so they are verified.", who, why, id))
	}
	return diagAt(hcl.DiagError, r, "No key for identity",
		fmt.Sprintf("%s %s, so nothing they approve or do can be verified and the worker would refuse it. %s", who, why, fix))
}

// checkPlanOperators reports plan-level operators without keys once: an
// error when any app needs verified identities, else a warning.
func checkPlanOperators(p *Plan, specs []AppSpec) hcl.Diagnostics {
	if p.Config == nil || len(p.Operators) == 0 {
		return nil
	}
	allow := true
	for _, s := range specs {
		allow = allow && s.AllowUnverified
	}
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for j, x := range p.Config.Operators {
		id := NormalizeIdentity(x)
		if identityProblem(x) != "" || seen[id] {
			continue // Parse reported it
		}
		seen[id] = true
		if len(p.People[id]) == 0 {
			diags = append(diags, unverifiedDiag(p, allow, itemRange(p.Config.body, "operators", j),
				fmt.Sprintf("Operator %q", id), id, "the plan"))
		}
	}
	return diags
}

// checkNameCollisions refuses two apps whose sanitised GCE names are the
// same: their terraform resources, network tags and state would collide.
func checkNameCollisions(specs []AppSpec, at func(app string) *hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	first := map[string]string{}
	for _, s := range specs {
		n := gcename.Name(s.Name, nil)
		if prev, ok := first[n]; ok {
			diags = append(diags, diagAt(hcl.DiagError, at(s.Name), "App names collide on GCE",
				fmt.Sprintf("Apps %q and %q both become %q as Google Cloud names, so their resources would overwrite each other. Rename one app in vCenter (its app tag or attribute) so their sanitised names differ.", prev, s.Name, n)))
			continue
		}
		first[n] = s.Name
	}
	return diags
}

package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/inventory"
)

// Validate checks the plan against the inventory and the dependency data:
// everything Resolve reports plus unknown apps and VMs, apps in two waves,
// app blocks in no wave, dependencies that move after their dependants,
// cycles between waves, windows that never open, empty approver lists and
// machine types ferry cannot price. A plan with errors never reaches
// terraform.
func Validate(p *Plan, inv *inventory.Inventory, d *deps.Result) hcl.Diagnostics {
	if p == nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No plan"}}
	}
	specs, diags := Resolve(p, inv, d)
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
		diags = append(diags, checkApp(s, confByName[s.Name])...)
	}
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

func checkApp(s AppSpec, c *AppConf) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var appRange *hcl.Range
	var body *hclsyntax.Body
	if c != nil && c.block != nil {
		appRange = blockRange(c.block)
		body = c.block.Body
	}
	for _, gate := range []string{"plan", "cutover", "decommission"} {
		if len(s.Approvers[gate]) == 0 {
			r := rangeOf(body, []string{"approvers"}, gate)
			if r == nil {
				r = appRange
			}
			diags = append(diags, diagAt(hcl.DiagError, r, "No approvers",
				fmt.Sprintf("App %q has nobody who may approve its %s gate: name approvers { %s = [\"someone\"] } or set the app's owner in vCenter.", s.Name, gate, gate)))
		}
	}
	blocks := blocksOf(body, "vm")
	for _, v := range s.VMs {
		if _, err := LookupMachineType(v.MachineType); err != nil {
			r := appRange
			for _, b := range blocks {
				if len(b.Labels) > 0 && b.Labels[0] == v.Name {
					r = rangeOf(b.Body, nil, "machine_type")
				}
			}
			diags = append(diags, diagAt(hcl.DiagError, r, "Bad machine type",
				fmt.Sprintf("App %q VM %q: %v.", s.Name, v.Name, err)))
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

package plan

import (
	"fmt"
	"hash/fnv"
	"sort"

	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan/catalog"
)

// Defaults applied by Resolve where the plan is silent (docs/plan.md).
var (
	DefaultSteps        = []int{10, 50, 100}
	DefaultStepBake     = 10 * time.Minute
	DefaultStepTimeout  = 30 * time.Minute
	DefaultGateReminder = 4 * time.Hour
	DefaultBake         = 24 * time.Hour
	DefaultHookTimeout  = 10 * time.Minute
	DefaultShutdown     = 10 * time.Minute
	DefaultRetention    = 14 * 24 * time.Hour
	DefaultDiskType     = "pd-balanced"
	// DefaultImages are pinned public images (full form, so the provider
	// makes no lookup and a new family release never replaces instances).
	// Pin your own with the app's images attribute; `gcloud compute images
	// describe-from-family debian-12 --project debian-cloud` names the
	// current one.
	DefaultImages = map[string]string{
		"linuxGuest":   "projects/debian-cloud/global/images/debian-12-bookworm-v20250610",
		"windowsGuest": "projects/windows-cloud/global/images/windows-server-2022-dc-v20250610",
	}
)

// SkippableStages are the stages a plan may let `skip` pass; gates,
// provisioning and cutover never are.
var SkippableStages = []string{"Discover", "MapDependencies", "SyncVerify", "Bake", "Decommission"}

// HookPoints lists where hooks may run.
var HookPoints = []string{HookPreProvision, HookPostProvision, HookPreCutover, HookSmokeTest, HookPostCutover, HookClientDNS}

// Resolve applies defaults, the inventory and the dependency data to every
// app named in a wave, in wave order. It reports what stops an app from
// being resolved; Validate adds the plan-wide checks.
func Resolve(p *Plan, inv *inventory.Inventory, d *deps.Result) ([]AppSpec, hcl.Diagnostics) {
	out, r := resolve(p, inv, d)
	return out, r.diags
}

func resolve(p *Plan, inv *inventory.Inventory, d *deps.Result) ([]AppSpec, *resolver) {
	r := newResolver(p, inv, d)
	var out []AppSpec
	seen := map[string]bool{}
	for wi, w := range p.Waves {
		for ai, name := range w.Apps {
			if seen[name] {
				continue // Validate reports the overlap
			}
			seen[name] = true
			ia, ok := r.invApps[name]
			if !ok {
				r.diags = append(r.diags, diagAt(hcl.DiagError, r.waveItem(wi, ai), "Unknown app",
					fmt.Sprintf("Wave %q names app %q, which is not in the inventory%s. Check the name with `ferry discover`, or remove it from the wave.", w.Name, name, r.suggest(name))))
				continue
			}
			out = append(out, r.app(w.Name, ia, r.confs[name]))
		}
	}
	return out, r
}

type resolver struct {
	p       *Plan
	inv     *inventory.Inventory
	deps    *depsView
	invApps map[string]inventory.App
	vms     map[string]inventory.VM
	confs   map[string]*AppConf
	taken   map[string]bool
	refs    map[string]*appRefs
	diags   hcl.Diagnostics
}

func newResolver(p *Plan, inv *inventory.Inventory, d *deps.Result) *resolver {
	r := &resolver{p: p, inv: inv, invApps: map[string]inventory.App{}, vms: map[string]inventory.VM{},
		confs: map[string]*AppConf{}, taken: map[string]bool{}, refs: map[string]*appRefs{}, deps: viewDeps(d)}
	if inv != nil {
		for _, a := range inv.Apps {
			r.invApps[a.Name] = a
		}
		for _, v := range inv.VMs {
			r.vms[v.Ref] = v
		}
	}
	if p.Config != nil {
		for _, a := range p.Config.Apps {
			if _, dup := r.confs[a.Name]; dup {
				r.diags = append(r.diags, diagAt(hcl.DiagError, blockRange(a.block), "Duplicate app block",
					fmt.Sprintf("App %q has more than one app block; merge them into one.", a.Name)))
				continue
			}
			r.confs[a.Name] = a
		}
	}
	return r
}

func (r *resolver) waveItem(wi, ai int) *hcl.Range {
	if r.p.Config == nil || wi >= len(r.p.Config.Waves) || r.p.Config.Waves[wi].block == nil {
		return nil
	}
	return itemRange(r.p.Config.Waves[wi].block.Body, "apps", ai)
}

func (r *resolver) suggest(name string) string {
	best, bestD := "", 4
	for n := range r.invApps {
		if d := levenshtein(name, n); d < bestD || d == bestD && n < best {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func blockRange(b *hclsyntax.Block) *hcl.Range {
	if b == nil {
		return nil
	}
	r := b.DefRange()
	return &r
}

func (r *resolver) app(wave string, ia inventory.App, c *AppConf) AppSpec {
	if c == nil {
		c = &AppConf{Name: ia.Name}
	}
	var body *hclsyntax.Body
	if c.block != nil {
		body = c.block.Body
	}
	g := r.p.GCP
	s := AppSpec{
		Name: ia.Name, Wave: wave,
		Owner: NormalizeIdentity(or(c.Owner, ia.Owner)), Squad: or(c.Squad, ia.Squad), Tier: or(c.Tier, ia.Tier),
		RunbookURL: or(c.Runbook, ia.Runbook),
		Project:    g.Project, Region: g.Region, Network: g.Network, Subnetwork: g.Subnetwork,
		Backend: g.Backend,
		Labels:  map[string]string{},
		Images:  map[string]string{},
	}
	s.DependsOn = union(ia.DependsOn, r.deps.dependsOn[ia.Name])
	s.Zone = c.Zone
	if s.Zone == "" {
		s.Zone = zoneFor(ia.Name, g.Zones)
	}
	s.NetworkTags = union([]string{"ferry-" + gcename.Name(ia.Name, nil)}, c.NetworkTags)
	for k, v := range g.Labels {
		s.Labels[k] = v
	}
	for k, v := range c.Labels {
		s.Labels[k] = v
	}
	for k, v := range DefaultImages {
		s.Images[k] = v
	}
	for k, v := range c.Images {
		s.Images[k] = v
	}
	diskType := or(c.DiskType, DefaultDiskType)
	if _, ok := diskPrices[diskType]; !ok {
		r.diags = append(r.diags, errAttr(body, "disk_type", "Unknown disk type",
			fmt.Sprintf("App %q: disk_type %q is not one of pd-standard, pd-balanced, pd-ssd.", ia.Name, diskType)))
	}
	r.diags = append(r.diags, checkAcceptCodes(ia.Name, body, c.AcceptReadiness, "")...)
	s.VMs = r.vms_(ia, c, body, s, diskType)
	s.Cutover = r.cutover(ia.Name, c.Cutover, body, s.VMs)
	if s.Cutover.Strategy == "lb" {
		s.ForwardingRuleMonthlyUSD = catalog.Round2(r.p.catalog().ForwardingRulesHourlyUSD(1) * HoursPerMonth)
	}
	r.identities(&s, c, body)
	s.Hooks = r.hooks(ia.Name, c, body)
	s.Data = r.data(&s, ia, c, body)
	s.Rollback = RollbackSpec{Policy: or(c.Rollback, "keep")}
	if s.Rollback.Policy != "keep" && s.Rollback.Policy != "destroy" {
		r.diags = append(r.diags, errAttr(body, "rollback", "Invalid rollback policy",
			fmt.Sprintf("App %q: rollback = %q; use \"destroy\" (remove what was provisioned) or \"keep\".", ia.Name, c.Rollback)))
	}
	for i, st := range c.Skippable {
		canon := ""
		for _, k := range SkippableStages {
			if strings.EqualFold(k, st) {
				canon = k
			}
		}
		if canon == "" {
			r.diags = append(r.diags, diagAt(hcl.DiagError, itemRange(body, "skippable", i), "Stage cannot be skippable",
				fmt.Sprintf("App %q: %q cannot be skipped; skippable stages are %s.", ia.Name, st, strings.Join(SkippableStages, ", "))))
			continue
		}
		s.Skippable = append(s.Skippable, canon)
	}
	s.GateReminder = r.dur(body, nil, "gate_reminder", c.GateReminder, DefaultGateReminder)
	s.Bake = r.dur(body, nil, "bake", c.Bake, DefaultBake)
	s.Decommission = r.decommission(ia.Name, c.Decommission, body)
	return s
}

// zoneFor spreads apps over zones by a stable hash of the app name.
func zoneFor(app string, zones []string) string {
	if len(zones) == 0 {
		return ""
	}
	h := fnv.New32a()
	h.Write([]byte(app))
	return zones[int(h.Sum32()%uint32(len(zones)))]
}

func (r *resolver) dur(body *hclsyntax.Body, path []string, attr, v string, def time.Duration) time.Duration {
	if v == "" {
		return def
	}
	d, err := ParseDuration(v)
	if err != nil {
		r.diags = append(r.diags, errAt(body, path, attr, "Invalid duration", err.Error()))
		return def
	}
	return d
}

func (r *resolver) vms_(ia inventory.App, c *AppConf, body *hclsyntax.Body, s AppSpec, diskType string) []VMSpec {
	over := map[string]*vmConf{}
	vmBlocks := blocksOf(body, "vm")
	for i, v := range c.VMs {
		over[v.Name] = v
		found := false
		for _, ref := range ia.VMs {
			if r.vms[ref].Name == v.Name {
				found = true
			}
		}
		if !found && i < len(vmBlocks) {
			r.diags = append(r.diags, diagAt(hcl.DiagError, blockRange(vmBlocks[i]), "Unknown VM",
				fmt.Sprintf("App %q has no VM named %q in the inventory (its VMs: %s).", ia.Name, v.Name, strings.Join(r.vmNames(ia), ", "))))
		}
		if i < len(vmBlocks) {
			r.diags = append(r.diags, checkAcceptCodes(ia.Name, vmBlocks[i].Body, v.AcceptReadiness, fmt.Sprintf(" vm %q", v.Name))...)
		}
	}
	var out []VMSpec
	for _, ref := range ia.VMs {
		vm, ok := r.vms[ref]
		if !ok {
			r.diags = append(r.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Inventory is inconsistent",
				Detail: fmt.Sprintf("App %q lists VM %s, which the inventory does not describe. Run `ferry discover` again.", ia.Name, ref)})
			continue
		}
		zone := s.Zone
		if o := over[vm.Name]; o != nil && o.Zone != "" {
			zone = o.Zone
		}
		// Sized from what GCE sells in the VM's zone, priced in its region.
		sz := SizeVMWith(vm, s.Tier, SizingOptions{Region: s.Region, Zone: zone, Catalog: r.p.catalog()})
		v := VMSpec{
			Ref: vm.Ref, Name: vm.Name, GCEName: gcename.Name(vm.Name, r.taken),
			NumCPU: vm.NumCPU, MemoryMB: vm.MemoryMB, GuestFamily: vm.GuestFamily, IPs: vm.IPs,
			MachineType: sz.MachineType.Name, SizingNote: sz.Note, Zone: s.Zone, DiskType: diskType,
		}
		for i, d := range vm.Disks {
			gb := (d.CapacityBytes + (1<<30 - 1)) >> 30
			if i == 0 {
				v.DiskGB = max(gb, 10)
			} else {
				v.DataDisksGB = append(v.DataDisksGB, max(gb, 1))
			}
		}
		if v.DiskGB == 0 {
			v.DiskGB = 10
		}
		fam := vm.GuestFamily
		if _, ok := s.Images[fam]; !ok {
			fam = "linuxGuest"
		}
		v.Image = s.Images[fam]
		if o := over[vm.Name]; o != nil {
			switch {
			case o.MachineType == "":
			case o.MachineType == sz.MachineType.Name:
				v.SizingNote = "pinned in the plan (machine_type), as the rule chooses: " + sz.Note
			default:
				v.MachineType = o.MachineType
				v.SizingNote = "set in the plan (machine_type); the rule would choose " + sz.MachineType.Name + ": " + sz.Note
			}
			v.Zone = or(o.Zone, v.Zone)
			v.Image = or(o.Image, v.Image)
			if o.BootDiskGB != nil {
				v.DiskGB = *o.BootDiskGB
			}
			if o.DataDisksGB != nil {
				v.DataDisksGB = o.DataDisksGB
			}
		}
		var vmAccept []string
		if o := over[vm.Name]; o != nil {
			vmAccept = o.AcceptReadiness
		}
		v.AcceptReadiness = union(c.AcceptReadiness, vmAccept)
		for _, p := range r.deps.inboundPorts[ref] {
			if !strings.EqualFold(p.Protocol, "udp") && !containsInt(v.Ports, p.Port) {
				v.Ports = append(v.Ports, p.Port)
			}
		}
		sort.Ints(v.Ports)
		v.MonthlyUSD = r.vmMonthly(v, s.Region)
		out = append(out, v)
	}
	return out
}

// vmMonthly estimates a VM's monthly cost in the region of its zone (the
// plan's region when the zone is unknown): machine type, Windows licence
// and disks. Unknown machine types count 0 (Validate reports them).
func (r *resolver) vmMonthly(v VMSpec, region string) float64 {
	return estimateVM(r.p.catalog(), v, region).Total
}

func estimateVM(cat *catalog.Catalog, v VMSpec, region string) VMEstimate {
	if zr, err := cat.RegionOf(v.Zone); err == nil {
		region = zr
	}
	return EstimateVMWith(cat, v.MachineType, region, v.GuestFamily, v.DiskType, append([]int64{v.DiskGB}, v.DataDisksGB...)...)
}

// MonthlyUSD is the app's estimated monthly cost: its VMs, and the
// forwarding rule of an lb cutover.
func (s AppSpec) MonthlyUSD() float64 {
	t := s.ForwardingRuleMonthlyUSD
	for _, v := range s.VMs {
		t += v.MonthlyUSD
	}
	return t
}

func (r *resolver) vmNames(ia inventory.App) []string {
	var out []string
	for _, ref := range ia.VMs {
		out = append(out, r.vms[ref].Name)
	}
	return out
}

// approvers resolves the app's gates, operators and the keys of everyone
// who may act on it. There is no fallback to the vCenter owner: a gate
// the plan leaves empty has nobody who may approve it (Validate says so).
func (r *resolver) identities(s *AppSpec, c *AppConf, body *hclsyntax.Body) {
	s.Approvers = map[string][]string{}
	refs := &appRefs{gates: map[string]gate{}}
	for _, g := range Gates {
		s.Approvers[g] = []string{}
	}
	if a := c.Approvers; a != nil {
		exprs := map[string]hcl.Expression{"plan": a.Plan, "cutover": a.Cutover, "decommission": a.Decommission}
		for _, name := range Gates {
			g, d := gateApprovers(s.Name, name, exprs[name])
			r.diags = append(r.diags, d...)
			refs.gates[name] = g
			for _, id := range g.Approvers {
				s.Approvers[name] = append(s.Approvers[name], id.ID)
			}
			if g.Required > 1 && g.Required <= len(g.Approvers) {
				if s.Quorum == nil {
					s.Quorum = map[string]int{}
				}
				s.Quorum[name] = g.Required
			}
		}
	}
	ops, d := identityList(body, "operators", fmt.Sprintf("App %q operators", s.Name), c.Operators)
	r.diags = append(r.diags, d...)
	refs.operators = ops
	var ids []string
	for _, o := range ops {
		ids = append(ids, o.ID)
	}
	s.Operators = union(r.p.Operators, ids)
	s.AllowUnverified = r.p.AllowUnverified
	if c.Identity != nil && c.Identity.AllowUnverified != nil {
		s.AllowUnverified = *c.Identity.AllowUnverified
	}
	for _, id := range s.Operators {
		r.addPerson(s, id)
	}
	for _, g := range Gates {
		for _, id := range s.Approvers[g] {
			r.addPerson(s, id)
		}
	}
	r.refs[s.Name] = refs
}

func (r *resolver) addPerson(s *AppSpec, id string) {
	if keys := r.p.People[id]; len(keys) > 0 {
		if s.People == nil {
			s.People = map[string][]string{}
		}
		s.People[id] = append([]string{}, keys...)
	}
}

// appRefs is where an app's identities are written, for Validate.
type appRefs struct {
	gates     map[string]gate
	operators []identRef
}

func (r *resolver) hooks(app string, c *AppConf, body *hclsyntax.Body) []HookSpec {
	var out []HookSpec
	blocks := blocksOf(body, "hook")
	for i, h := range c.Hooks {
		var hb *hclsyntax.Body
		if i < len(blocks) {
			hb = blocks[i].Body
		}
		if !containsStr(HookPoints, h.At) {
			r.diags = append(r.diags, errAttr(hb, "at", "Unknown hook point",
				fmt.Sprintf("App %q hook %q: at = %q; use one of %s.", app, h.Name, h.At, strings.Join(HookPoints, ", "))))
		}
		if len(h.Command) == 0 || h.Command[0] == "" {
			r.diags = append(r.diags, errAttr(hb, "command", "Empty hook command",
				fmt.Sprintf("App %q hook %q: command needs at least the program, e.g. [\"./smoke.sh\", \"--fast\"].", app, h.Name)))
		}
		out = append(out, HookSpec{Name: h.Name, At: h.At, Command: h.Command, Env: h.Env, Dir: h.Dir,
			Timeout: r.dur(hb, nil, "timeout", h.Timeout, DefaultHookTimeout)})
	}
	return out
}

func (r *resolver) decommission(app string, d *decommissionConf, body *hclsyntax.Body) DecommissionSpec {
	if d == nil {
		d = &decommissionConf{}
	}
	path := []string{"decommission"}
	out := DecommissionSpec{
		ShutdownTimeout: r.dur(body, path, "shutdown_timeout", d.ShutdownTimeout, DefaultShutdown),
		Retention:       r.dur(body, path, "retention", d.Retention, DefaultRetention),
		FinalAction:     or(d.FinalAction, "keep-off"),
		ArchiveFolder:   d.ArchiveFolder,
	}
	switch out.FinalAction {
	case "keep-off", "delete":
	case "archive":
		if out.ArchiveFolder == "" {
			r.diags = append(r.diags, errAt(body, path, "final_action", "Missing archive folder",
				fmt.Sprintf("App %q: final_action = \"archive\" needs archive_folder (the vCenter folder the powered-off VMs move to).", app)))
		}
	default:
		r.diags = append(r.diags, errAt(body, path, "final_action", "Invalid final action",
			fmt.Sprintf("App %q: final_action = %q; use keep-off, archive or delete.", app, out.FinalAction)))
	}
	return out
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func union(a, b []string) []string {
	set := map[string]bool{}
	var out []string
	for _, x := range append(append([]string{}, a...), b...) {
		if x != "" && !set[x] {
			set[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

func containsStr(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

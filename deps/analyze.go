package deps

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/ferrymigrate/ferry/inventory"
)

// Analyze builds the dependency graph of inv from already parsed flows.
// For large inputs, parse into an Aggregator and call its Analyze.
func Analyze(inv *inventory.Inventory, flows []Flow, opts Options) (*Result, error) {
	a := NewAggregator()
	for i, f := range flows {
		if err := a.Add(f); err != nil {
			return nil, fmt.Errorf("flow %d: %w", i, err)
		}
	}
	return a.Analyze(inv, opts)
}

// graph is the working state of one analysis.
type graph struct {
	inv      *inventory.Inventory
	nodes    []Node
	nodeIdx  map[string]int // node ID -> index
	vmApp    map[string]string
	vmByRef  map[string]*inventory.VM
	edges    map[[2]int]*edgeAcc
	intra    map[[2]string]*edgeAcc
	inbound  map[string]map[Port]bool
	warnings []string
}

type edgeAcc struct {
	Edge
	ports map[int]bool
}

// Analyze resolves the aggregated flows against inv and computes the app
// graph, move groups, waves, blast radius and inbound ports.
func (a *Aggregator) Analyze(inv *inventory.Inventory, opts Options) (*Result, error) {
	if inv == nil {
		return nil, errors.New("analyze dependencies: no inventory; run 'ferry discover' or pass --inventory")
	}
	if opts.AffinityThreshold < 0 {
		return nil, fmt.Errorf("affinity threshold %v: use a share between 0 and 1", opts.AffinityThreshold)
	}
	if opts.MaxAppsPerWave < 0 || opts.MaxVMsPerWave < 0 {
		return nil, errors.New("wave caps must not be negative (0 means no cap)")
	}
	g := &graph{inv: inv, nodeIdx: map[string]int{}, vmApp: map[string]string{}, vmByRef: map[string]*inventory.VM{},
		edges: map[[2]int]*edgeAcc{}, intra: map[[2]string]*edgeAcc{}, inbound: map[string]map[Port]bool{}}
	g.addApps()
	ipVM := g.indexIPs()
	migrated := map[string]bool{}
	for _, m := range opts.Migrated {
		migrated[m] = true
	}
	for i := range g.nodes {
		g.nodes[i].Migrated = migrated[g.nodes[i].ID]
	}

	// Resolve every IP once; conversations then only look up ids.
	type endpoint struct {
		node int
		vm   string
	}
	ends := make([]endpoint, len(a.ips.addrs))
	for id, addr := range a.ips.addrs {
		ip := addr.String()
		if vm, ok := ipVM[ip]; ok {
			if app := g.vmApp[vm.Ref]; app != "" {
				ends[id] = endpoint{node: g.nodeIdx[app], vm: vm.Ref}
			} else {
				ends[id] = endpoint{node: g.node("vm:"+vm.Name, vm.Name, KindUnassigned, vm), vm: vm.Ref}
			}
			continue
		}
		name := a.ips.names[id]
		key := name
		if key == "" {
			key, name = ip, ip
		}
		n := g.node("ext:"+key, name, KindExternal, nil)
		if !slices.Contains(g.nodes[n].IPs, ip) {
			g.nodes[n].IPs = append(g.nodes[n].IPs, ip)
		}
		ends[id] = endpoint{node: n}
	}

	for i, k := range a.keys {
		fa := &a.aggs[i]
		s, d := ends[k.src], ends[k.dst]
		if d.vm != "" {
			ports := g.inbound[d.vm]
			if ports == nil {
				ports = map[Port]bool{}
				g.inbound[d.vm] = ports
			}
			ports[Port{Port: int(k.port), Protocol: protoName(k.proto)}] = true
		}
		if s.node == d.node {
			if s.vm != "" && d.vm != "" && g.nodes[s.node].Kind == KindApp {
				key := [2]string{s.vm, d.vm}
				e := g.intra[key]
				if e == nil {
					e = &edgeAcc{Edge: Edge{From: s.vm, To: d.vm, App: g.nodes[s.node].ID, Observed: true}, ports: map[int]bool{}}
					g.intra[key] = e
				}
				e.add(fa, int(k.port))
			}
			continue
		}
		if g.nodes[s.node].External && g.nodes[d.node].External {
			continue // traffic between outsiders says nothing about the apps
		}
		e := g.edge(s.node, d.node)
		e.Observed = true
		e.add(fa, int(k.port))
	}
	g.addDeclared(opts.Declared)

	r := &Result{Schema: Schema, Stats: Stats{Records: a.Records, Conversations: len(a.keys), ParseErrors: len(a.Errors)}}
	r.Edges = finishEdges(g.edges, func(i int) string { return g.nodes[i].ID })
	intra := make(map[[2]int]*edgeAcc, len(g.intra))
	n := 0
	for _, e := range g.intra {
		intra[[2]int{n, 0}] = e
		n++
	}
	r.IntraAppEdges = finishEdges(intra, nil)
	r.InboundPorts = map[string][]Port{}
	for vm, set := range g.inbound {
		ports := make([]Port, 0, len(set))
		for p := range set {
			ports = append(ports, p)
		}
		sort.Slice(ports, func(i, j int) bool {
			if ports[i].Port != ports[j].Port {
				return ports[i].Port < ports[j].Port
			}
			return ports[i].Protocol < ports[j].Protocol
		})
		r.InboundPorts[vm] = ports
	}
	r.Warnings = g.warnings
	plan(r, g, opts)
	r.Apps = g.nodes
	return r, nil
}

func (e *edgeAcc) add(fa *flowAgg, port int) {
	e.Bytes += fa.bytes
	e.Packets += fa.packets
	e.Count += fa.count
	e.ports[port] = true
	if f := timeOf(fa.first); !f.IsZero() && (e.FirstSeen.IsZero() || f.Before(e.FirstSeen)) {
		e.FirstSeen = f
	}
	if l := timeOf(fa.last); l.After(e.LastSeen) {
		e.LastSeen = l
	}
}

func finishEdges(m map[[2]int]*edgeAcc, id func(int) string) []Edge {
	out := make([]Edge, 0, len(m))
	for k, e := range m {
		if id != nil {
			e.From, e.To = id(k[0]), id(k[1])
		}
		for p := range e.ports {
			e.Ports = append(e.Ports, p)
		}
		slices.Sort(e.Ports)
		out = append(out, e.Edge)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	return out
}

// addApps makes one node per app of the inventory, in name order.
func (g *graph) addApps() {
	apps := slices.Clone(g.inv.Apps)
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	for i := range g.inv.VMs {
		vm := &g.inv.VMs[i]
		g.vmByRef[vm.Ref] = vm
		if vm.App != "" {
			g.vmApp[vm.Ref] = vm.App
		}
	}
	for _, app := range apps {
		if _, dup := g.nodeIdx[app.Name]; dup || app.Name == "" {
			continue
		}
		n := Node{ID: app.Name, Name: app.Name, Kind: KindApp, Owner: app.Owner, Tier: app.Tier}
		for _, ref := range app.VMs {
			g.vmApp[ref] = app.Name // the app directory wins over the VM's own field
			n.VMs = append(n.VMs, ref)
		}
		g.nodeIdx[app.Name] = len(g.nodes)
		g.nodes = append(g.nodes, n)
	}
	// VMs that name an app the directory does not list still belong to it.
	for i := range g.inv.VMs {
		vm := &g.inv.VMs[i]
		app := g.vmApp[vm.Ref]
		if app == "" {
			continue
		}
		idx, ok := g.nodeIdx[app]
		if !ok {
			idx = len(g.nodes)
			g.nodeIdx[app] = idx
			g.nodes = append(g.nodes, Node{ID: app, Name: app, Kind: KindApp})
		}
		n := &g.nodes[idx]
		if !slices.Contains(n.VMs, vm.Ref) {
			n.VMs = append(n.VMs, vm.Ref)
		}
		if vm.Datacenter != "" && !slices.Contains(n.Datacenters, vm.Datacenter) {
			n.Datacenters = append(n.Datacenters, vm.Datacenter)
		}
		n.IPs = append(n.IPs, vm.IPs...)
	}
	for i := range g.nodes {
		slices.Sort(g.nodes[i].Datacenters)
		slices.Sort(g.nodes[i].IPs)
		g.nodes[i].IPs = slices.Compact(g.nodes[i].IPs)
	}
}

// indexIPs maps every VM IP to its VM; an IP on two VMs is attributed to
// the first by ref and reported.
func (g *graph) indexIPs() map[string]*inventory.VM {
	vms := make([]*inventory.VM, 0, len(g.inv.VMs))
	for i := range g.inv.VMs {
		vms = append(vms, &g.inv.VMs[i])
	}
	sort.Slice(vms, func(i, j int) bool { return vms[i].Ref < vms[j].Ref })
	out := map[string]*inventory.VM{}
	for _, vm := range vms {
		for _, raw := range vm.IPs {
			a, ok := parseAddr(raw)
			if !ok {
				continue
			}
			ip := a.String()
			if prev, dup := out[ip]; dup {
				if prev.Ref != vm.Ref {
					g.warnings = append(g.warnings, fmt.Sprintf("IP %s is on VM %s (%s) and VM %s (%s): flows are attributed to %s; check for overlapping networks between datacenters",
						ip, prev.Name, prev.Datacenter, vm.Name, vm.Datacenter, prev.Name))
				}
				continue
			}
			out[ip] = vm
		}
	}
	return out
}

// node returns the index of the node with id, creating it.
func (g *graph) node(id, name, kind string, vm *inventory.VM) int {
	if i, ok := g.nodeIdx[id]; ok {
		return i
	}
	n := Node{ID: id, Name: name, Kind: kind, External: kind != KindApp}
	if vm != nil {
		n.VMs = []string{vm.Ref}
		n.IPs = slices.Clone(vm.IPs)
		if vm.Datacenter != "" {
			n.Datacenters = []string{vm.Datacenter}
		}
	}
	g.nodeIdx[id] = len(g.nodes)
	g.nodes = append(g.nodes, n)
	return len(g.nodes) - 1
}

func (g *graph) edge(from, to int) *edgeAcc {
	k := [2]int{from, to}
	e := g.edges[k]
	if e == nil {
		e = &edgeAcc{ports: map[int]bool{}}
		g.edges[k] = e
	}
	return e
}

// addDeclared adds the app directory's DependsOn and the plan's edges.
func (g *graph) addDeclared(extra []Edge) {
	type decl struct{ from, to, source string }
	var all []decl
	for _, app := range g.inv.Apps {
		for _, d := range app.DependsOn {
			all = append(all, decl{app.Name, d, "the app directory"})
		}
	}
	for _, e := range extra {
		all = append(all, decl{e.From, e.To, "the plan"})
	}
	for _, d := range all {
		from, ok := g.nodeIdx[d.from]
		if !ok || g.nodes[from].Kind != KindApp {
			g.warnings = append(g.warnings, fmt.Sprintf("%s declares that %q depends on %q, but there is no app %q in the inventory", d.source, d.from, d.to, d.from))
			continue
		}
		if d.to == d.from || d.to == "" {
			continue
		}
		to, ok := g.nodeIdx[d.to]
		if !ok {
			g.warnings = append(g.warnings, fmt.Sprintf("%s declares that %s depends on %q, which is no app in the inventory: shown as external", d.source, d.from, d.to))
			to = g.node("ext:"+d.to, d.to, KindExternal, nil)
		}
		g.edge(from, to).Declared = true
	}
}

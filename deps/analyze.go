package deps

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

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
	edges    edgeSet  // between nodes
	intra    edgeSet  // between VMs (by index in inv.VMs) of one app
	inbound  []uint64 // sorted vm<<32 | port<<8 | proto
	warnings []string
}

// edgeAcc accumulates one edge; edgeSet holds them by (from, to) in a
// slice, so a million conversations do not mean a million allocations.
type edgeAcc struct {
	from, to              int32
	bytes, packets, count int64
	first, last           uint32
	ports                 []int
	declared, observed    bool
}

func (e *edgeAcc) key() [2]int { return [2]int{int(e.from), int(e.to)} }

type edgeSet struct {
	idx  map[uint64]int32
	list []edgeAcc
}

// get returns the edge from -> to, creating it; the pointer is valid until
// the next get.
func (s *edgeSet) get(from, to int) *edgeAcc {
	k := uint64(from)<<32 | uint64(uint32(to))
	if s.idx == nil {
		s.idx = make(map[uint64]int32, len(s.list))
		for i := range s.list {
			s.idx[uint64(s.list[i].from)<<32|uint64(uint32(s.list[i].to))] = int32(i)
		}
	}
	i, ok := s.idx[k]
	if !ok {
		i = int32(len(s.list))
		s.idx[k] = i
		s.list = append(s.list, edgeAcc{from: int32(from), to: int32(to)})
	}
	return &s.list[i]
}

// edge converts an accumulator with the names of its ends.
func (e *edgeAcc) edge(from, to, app string) Edge {
	return Edge{From: from, To: to, App: app, Bytes: e.bytes, Packets: e.packets, Count: e.count, Ports: e.ports,
		Declared: e.declared, Observed: e.observed, FirstSeen: timeOfSecs(e.first), LastSeen: timeOfSecs(e.last)}
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
	g := &graph{inv: inv, nodeIdx: map[string]int{}, vmApp: map[string]string{}, vmByRef: map[string]*inventory.VM{}}
	// Every distinct address, to size the node table once.
	ids := make(map[uint32]struct{}, 1024)
	a.each(func(c *conv) {
		ids[c.src()] = struct{}{}
		ids[c.dst()] = struct{}{}
	})
	g.nodes = make([]Node, 0, len(inv.Apps)+len(inv.VMs)/4+len(ids))
	g.nodeIdx = make(map[string]int, cap(g.nodes))
	g.addApps()
	ipVM := g.indexIPs()
	migrated := map[string]bool{}
	for _, m := range opts.Migrated {
		migrated[m] = true
	}
	for i := range g.nodes {
		g.nodes[i].Migrated = migrated[g.nodes[i].ID]
	}

	// Resolve every address once, in id order so nodes are created in a
	// stable order; conversations then only look up ids.
	type endpoint struct {
		node, vm int // vm: index in inv.VMs, -1 for none
	}
	idList := make([]uint32, 0, len(ids))
	for id := range ids {
		idList = append(idList, id)
	}
	slices.Sort(idList)
	ends := make(map[uint32]endpoint, len(ids))
	for _, id := range idList {
		ip := a.ips.ip(id)
		e := endpoint{vm: -1}
		if vm, ok := ipVM[ip]; ok {
			e.vm = vm
			v := &inv.VMs[vm]
			if app := g.vmApp[v.Ref]; app != "" {
				e.node = g.nodeIdx[app]
			} else {
				e.node = g.node("vm:"+v.Name, v.Name, KindUnassigned, v)
			}
		} else {
			name := a.ips.names[id]
			key := name
			if key == "" {
				key, name = ip, ip
			}
			e.node = g.node("ext:"+key, name, KindExternal, nil)
			n := &g.nodes[e.node]
			n.IPs = append(n.IPs, ip)
		}
		ends[id] = e
	}

	// Key every conversation by the edge it belongs to, sort, and fold runs
	// of equal keys: no map lookup per conversation.
	convs := make([]conv, 0, a.n)
	a.each(func(c *conv) { convs = append(convs, *c) })
	var inter, intra []keyed
	inbound := make([]uint64, 0, len(convs)/2)
	for i := range convs {
		c := &convs[i]
		s, d := ends[c.src()], ends[c.dst()]
		if d.vm >= 0 {
			inbound = append(inbound, uint64(d.vm)<<32|uint64(c.pp&^convUsed))
		}
		switch {
		case s.node == d.node:
			if s.vm >= 0 && d.vm >= 0 && g.nodes[s.node].Kind == KindApp {
				intra = append(intra, keyed{uint64(s.vm)<<32 | uint64(d.vm), int32(i)})
			}
		case g.nodes[s.node].External && g.nodes[d.node].External:
			// traffic between outsiders says nothing about the apps
		default:
			inter = append(inter, keyed{uint64(s.node)<<32 | uint64(d.node), int32(i)})
		}
	}
	g.edges.list = foldEdges(inter, convs)
	g.intra.list = foldEdges(intra, convs)
	slices.Sort(inbound)
	g.inbound = slices.Compact(inbound)
	g.addDeclared(opts.Declared)

	r := &Result{Schema: Schema, Stats: Stats{Records: a.Records, Conversations: a.n, ParseErrors: len(a.Errors)}}
	// Node ranks in ID order let edges sort on integers.
	order := make([]int, len(g.nodes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return strings.Compare(g.nodes[i].ID, g.nodes[j].ID) })
	rank := make([]int32, len(g.nodes))
	for r, i := range order {
		rank[i] = int32(r)
	}
	slices.SortFunc(g.edges.list, func(x, y edgeAcc) int {
		if rank[x.from] != rank[y.from] {
			return int(rank[x.from] - rank[y.from])
		}
		return int(rank[x.to] - rank[y.to])
	})
	g.edges.idx = nil // indices changed; plan works on the list
	r.Edges = make([]Edge, 0, len(g.edges.list))
	for i := range g.edges.list {
		e := &g.edges.list[i]
		r.Edges = append(r.Edges, e.edge(g.nodes[e.from].ID, g.nodes[e.to].ID, ""))
	}
	r.IntraAppEdges = make([]Edge, 0, len(g.intra.list))
	for i := range g.intra.list {
		e := &g.intra.list[i]
		from := &inv.VMs[e.from]
		r.IntraAppEdges = append(r.IntraAppEdges, e.edge(from.Ref, inv.VMs[e.to].Ref, g.vmApp[from.Ref]))
	}
	sortEdges(r.IntraAppEdges)
	r.InboundPorts = map[string][]Port{}
	for _, k := range g.inbound { // sorted by VM, port, protocol number
		ref := inv.VMs[k>>32].Ref
		r.InboundPorts[ref] = append(r.InboundPorts[ref], Port{Port: int(k >> 8 & 0xFFFF), Protocol: protoName(uint8(k))})
	}
	r.Warnings = g.warnings
	plan(r, g, opts)
	// apps by name, then unassigned VMs and external endpoints by ID
	kind := map[string]int{KindApp: 0, KindUnassigned: 1, KindExternal: 2}
	slices.SortStableFunc(order, func(i, j int) int { return kind[g.nodes[i].Kind] - kind[g.nodes[j].Kind] })
	r.Apps = make([]Node, len(order))
	for i, o := range order {
		r.Apps[i] = g.nodes[o]
	}
	return r, nil
}

// keyed ties a conversation (index) to the edge it belongs to (from<<32|to).
type keyed struct {
	key uint64
	ci  int32
}

// foldEdges sorts conversations by edge and sums each run into one edge.
func foldEdges(ks []keyed, convs []conv) []edgeAcc {
	slices.SortFunc(ks, func(a, b keyed) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return int(a.ci - b.ci)
	})
	var out []edgeAcc
	for i := 0; i < len(ks); {
		e := edgeAcc{from: int32(ks[i].key >> 32), to: int32(uint32(ks[i].key)), observed: true}
		j := i
		for ; j < len(ks) && ks[j].key == ks[i].key; j++ {
			c := &convs[ks[j].ci]
			e.bytes += c.bytes
			e.packets += c.packets
			e.count += int64(c.count)
			e.ports = append(e.ports, c.port())
			if c.first != 0 && (e.first == 0 || c.first < e.first) {
				e.first = c.first
			}
			e.last = max(e.last, c.last)
		}
		slices.Sort(e.ports)
		e.ports = slices.Clip(slices.Compact(e.ports))
		out = append(out, e)
		i = j
	}
	return out
}

func sortEdges(es []Edge) {
	slices.SortFunc(es, func(a, b Edge) int {
		if c := strings.Compare(a.From, b.From); c != 0 {
			return c
		}
		return strings.Compare(a.To, b.To)
	})
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

// indexIPs maps every VM IP to its VM (index in inv.VMs); an IP on two
// VMs is attributed to the first by ref and reported.
func (g *graph) indexIPs() map[string]int {
	order := make([]int, len(g.inv.VMs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(g.inv.VMs[a].Ref, g.inv.VMs[b].Ref) })
	out := map[string]int{}
	for _, i := range order {
		vm := &g.inv.VMs[i]
		for _, raw := range vm.IPs {
			a, ok := parseAddr(raw)
			if !ok {
				continue
			}
			ip := a.String()
			if j, dup := out[ip]; dup {
				if prev := &g.inv.VMs[j]; prev.Ref != vm.Ref {
					g.warnings = append(g.warnings, fmt.Sprintf("IP %s is on VM %s (%s) and VM %s (%s): flows are attributed to %s; check for overlapping networks between datacenters",
						ip, prev.Name, prev.Datacenter, vm.Name, vm.Datacenter, prev.Name))
				}
				continue
			}
			out[ip] = i
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
		g.edges.get(from, to).declared = true
	}
}

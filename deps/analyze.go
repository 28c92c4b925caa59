package deps

import (
	"errors"
	"fmt"
	"net/netip"
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
	order    []int   // node indices in ID order
	rank     []int32 // node index -> position in order
	edges    edgeSet // between nodes
	intra    edgeSet // between VMs (by index in inv.VMs) of one app
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
	a.resolve()
	g := &graph{inv: inv, nodeIdx: map[string]int{}, vmApp: map[string]string{}, vmByRef: map[string]*inventory.VM{}}
	// Conversations are named by where they sit in the aggregator's
	// tables (refs), so they are not copied.
	refs := make([]uint32, 0, a.n)
	for p := range a.parts {
		t := a.parts[p].table
		if len(t) > 1<<convSlotBits {
			return nil, fmt.Errorf("analyze dependencies: more than %d conversations; split the flow files by site", len(a.parts)<<convSlotBits*3/4)
		}
		for i := range t {
			if t[i].pp != 0 {
				refs = append(refs, uint32(p)<<convSlotBits|uint32(i))
			}
		}
	}
	// Every distinct address, numbered densely, to size the node table once.
	ids := newIDIndex(1024)
	for _, ref := range refs {
		c := a.conv(ref)
		ids.add(c.src())
		ids.add(c.dst())
	}
	g.nodes = make([]Node, 0, len(inv.Apps)+len(inv.VMs)/4+len(ids.ids))
	g.nodeIdx = make(map[string]int, cap(g.nodes))
	g.addApps()
	ipVM, vmOrder := g.indexIPs()
	migrated := map[string]bool{}
	for _, m := range opts.Migrated {
		migrated[m] = true
	}
	for i := range g.nodes {
		g.nodes[i].Migrated = migrated[g.nodes[i].ID]
	}

	// Resolve every address once, in id order so nodes are created in a
	// stable order; conversations then only look up dense numbers.
	type endpoint struct {
		node, vm int32 // vm: index in inv.VMs, -1 for none
	}
	idList := slices.Clone(ids.ids)
	slices.Sort(idList)
	ends := make([]endpoint, len(idList))
	for _, id := range idList {
		ip := a.ips.ip(id)
		e := endpoint{vm: -1}
		if vm, ok := ipVM[ip]; ok {
			e.vm = int32(vm)
			v := &inv.VMs[vm]
			if app := g.vmApp[v.Ref]; app != "" {
				e.node = int32(g.nodeIdx[app])
			} else {
				e.node = int32(g.node("vm:"+v.Name, v.Name, KindUnassigned, v))
			}
		} else {
			name := a.ips.names[id]
			key := name
			if key == "" {
				key, name = ip, ip
			}
			e.node = int32(g.node("ext:"+key, name, KindExternal, nil))
			n := &g.nodes[e.node]
			n.IPs = append(n.IPs, ip)
		}
		ends[ids.get(id)] = e
	}

	// Node ranks in ID order (and VM ranks in ref order) key the edges, so
	// folding conversations into edges yields them in output order: one
	// counting sort on the client's rank, small integer sorts within it.
	order, rank := g.rankNodes()
	vmRank := make([]int32, len(inv.VMs))
	for r, i := range vmOrder {
		vmRank[i] = int32(r)
	}
	kindOf := make([]uint8, len(g.nodes)) // 0 app, 1 external or unassigned
	for i := range g.nodes {
		if g.nodes[i].External {
			kindOf[i] = 1
		}
	}
	interFrom, interToCI := make([]int32, 0, len(refs)), make([]uint64, 0, len(refs))
	var intraFrom []int32
	var intraToCI []uint64
	inbound := make([]uint64, 0, len(refs)/2)
	inboundVM := make([]int32, 0, len(refs)/2)
	for _, ref := range refs {
		c := a.conv(ref)
		s, d := ends[ids.get(c.src())], ends[ids.get(c.dst())]
		if d.vm >= 0 {
			inboundVM = append(inboundVM, d.vm)
			inbound = append(inbound, uint64(c.pp&^convUsed))
		}
		switch {
		case s.node == d.node:
			if s.vm >= 0 && d.vm >= 0 && kindOf[s.node] == 0 {
				intraFrom = append(intraFrom, vmRank[s.vm])
				intraToCI = append(intraToCI, uint64(vmRank[d.vm])<<32|uint64(ref))
			}
		case kindOf[s.node] == 1 && kindOf[d.node] == 1:
			// traffic between outsiders says nothing about the apps
		default:
			interFrom = append(interFrom, rank[s.node])
			interToCI = append(interToCI, uint64(rank[d.node])<<32|uint64(ref))
		}
	}
	g.edges.list = foldEdges(interFrom, interToCI, a, len(g.nodes))
	for i := range g.edges.list { // ranks back to node indices
		e := &g.edges.list[i]
		e.from, e.to = int32(order[e.from]), int32(order[e.to])
	}
	g.intra.list = foldEdges(intraFrom, intraToCI, a, len(inv.VMs))
	for i := range g.intra.list {
		e := &g.intra.list[i]
		e.from, e.to = int32(vmOrder[e.from]), int32(vmOrder[e.to])
	}
	nodes := len(g.nodes)
	g.addDeclared(opts.Declared)
	if len(g.nodes) != nodes {
		order, rank = g.rankNodes()
	}
	g.order, g.rank = order, rank
	byRank := func(x, y edgeAcc) int {
		if rank[x.from] != rank[y.from] {
			return int(rank[x.from] - rank[y.from])
		}
		return int(rank[x.to] - rank[y.to])
	}
	if !slices.IsSortedFunc(g.edges.list, byRank) { // declared edges were appended
		slices.SortFunc(g.edges.list, byRank)
	}
	g.edges.idx = nil // indices changed; plan works on the list

	r := &Result{Schema: Schema, Stats: Stats{Records: a.Records, Conversations: a.n, ParseErrors: len(a.Errors), Direction: a.direction}}
	r.Ambiguous = a.Ambiguous()
	for i := range r.Ambiguous.Examples {
		x := &r.Ambiguous.Examples[i]
		x.ANode, x.BNode = g.nodeOf(ipVM, x.A), g.nodeOf(ipVM, x.B)
	}
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
	sortEdges(r.IntraAppEdges) // already in ref order unless refs repeat
	r.InboundPorts = map[string][]Port{}
	ports, bounds := groupSort(inboundVM, inbound, len(inv.VMs))
	for vm := range inv.VMs {
		ps := slices.Compact(ports[bounds[vm]:bounds[vm+1]]) // port<<8 | proto
		if len(ps) == 0 {
			continue
		}
		ref := inv.VMs[vm].Ref
		list := r.InboundPorts[ref] // two VMs may share a ref
		for _, k := range ps {
			list = append(list, Port{Port: int(k >> 8 & 0xFFFF), Protocol: protoName(uint8(k))})
		}
		r.InboundPorts[ref] = list
	}
	r.Warnings = g.warnings
	plan(r, g, opts)
	order = slices.Clone(order) // g.order stays in ID order
	// apps by name, then unassigned VMs and external endpoints by ID
	kind := map[string]int{KindApp: 0, KindUnassigned: 1, KindExternal: 2}
	slices.SortStableFunc(order, func(i, j int) int { return kind[g.nodes[i].Kind] - kind[g.nodes[j].Kind] })
	r.Apps = make([]Node, len(order))
	for i, o := range order {
		r.Apps[i] = g.nodes[o]
	}
	return r, nil
}

func sortEdges(es []Edge) {
	cmp := func(a, b Edge) int {
		if c := strings.Compare(a.From, b.From); c != 0 {
			return c
		}
		return strings.Compare(a.To, b.To)
	}
	if !slices.IsSortedFunc(es, cmp) {
		slices.SortFunc(es, cmp)
	}
}

// rankNodes returns the node indices in ID order and each node's rank in
// it, so edges can be ordered by integers.
func (g *graph) rankNodes() (order []int, rank []int32) {
	order = make([]int, len(g.nodes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return strings.Compare(g.nodes[i].ID, g.nodes[j].ID) })
	rank = make([]int32, len(g.nodes))
	for r, i := range order {
		rank[i] = int32(r)
	}
	return order, rank
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
// VMs is attributed to the first by ref and reported. It also returns the
// VM indices in ref order.
func (g *graph) indexIPs() (map[string]int, []int) {
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
	return out, order
}

// nodeOf names the node an ip:port belongs to: its app, its VM when the VM
// is in no app, or "" for an address no VM has.
func (g *graph) nodeOf(ipVM map[string]int, hostPort string) string {
	ap, err := netip.ParseAddrPort(hostPort)
	if err != nil {
		return ""
	}
	vm, ok := ipVM[ap.Addr().String()]
	if !ok {
		return ""
	}
	v := &g.inv.VMs[vm]
	if app := g.vmApp[v.Ref]; app != "" {
		return app
	}
	return "vm:" + v.Name
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

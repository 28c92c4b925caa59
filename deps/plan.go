package deps

import (
	"container/heap"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"
)

// tarjan returns the strongly connected components of the graph with n
// nodes and adjacency adj, in reverse topological order (a component comes
// after every component it reaches). It is iterative so deep chains cannot
// overflow the stack.
func tarjan(n int, adj [][]int) [][]int {
	index := make([]int, n)
	low := make([]int, n)
	on := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack, comps [][]int
	var st []int
	next := 0
	type frame struct{ v, i int }
	for root := 0; root < n; root++ {
		if index[root] >= 0 {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		st = append(st, root)
		on[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.i < len(adj[f.v]) {
				w := adj[f.v][f.i]
				f.i++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					st = append(st, w)
					on[w] = true
					call = append(call, frame{w, 0})
				} else if on[w] {
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] == index[v] {
				var comp []int
				for {
					w := st[len(st)-1]
					st = st[:len(st)-1]
					on[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				comps = append(comps, comp)
			}
		}
	}
	_ = stack
	return comps
}

// unionFind merges move groups.
type unionFind []int

func (u unionFind) find(x int) int {
	for u[x] != x {
		u[x] = u[u[x]]
		x = u[x]
	}
	return x
}

func (u unionFind) union(a, b int) bool {
	a, b = u.find(a), u.find(b)
	if a == b {
		return false
	}
	if b < a {
		a, b = b, a
	}
	u[b] = a
	return true
}

// plan computes move groups, waves and blast radius into r and the nodes.
func plan(r *Result, g *graph, opts Options) {
	threshold := opts.AffinityThreshold
	if threshold == 0 {
		threshold = DefaultAffinity
	}
	n := len(g.nodes)
	adj := make([][]int, n)
	// app graph: only app -> app edges decide move groups and waves
	var appEdges [][2]int
	for i := range g.edges.list {
		k := g.edges.list[i].key()
		adj[k[0]] = append(adj[k[0]], k[1])
		if g.nodes[k[0]].Kind == KindApp && g.nodes[k[1]].Kind == KindApp {
			appEdges = append(appEdges, k)
		}
	}
	for i := range adj {
		slices.Sort(adj[i])
	}
	blastRadius(r, g, adj)

	// Weight: bytes, or session counts when no file carried bytes (ss).
	useBytes := false
	for _, e := range g.edges.list {
		if e.bytes > 0 {
			useBytes = true
			break
		}
	}
	weight := func(e *edgeAcc) int64 {
		if useBytes {
			return e.bytes
		}
		return e.count
	}
	uf := make(unionFind, n)
	for i := range uf {
		uf[i] = i
	}
	cycle := make([]bool, n)
	byAffinity := make([]bool, n)
	collapse := func() bool { // merge groups that sit on a cycle
		gadj := make([][]int, n)
		for _, k := range appEdges {
			a, b := uf.find(k[0]), uf.find(k[1])
			if a != b {
				gadj[a] = append(gadj[a], b)
			}
		}
		merged := false
		for _, comp := range tarjan(n, gadj) {
			for _, v := range comp[1:] {
				if uf.union(comp[0], v) {
					cycle[comp[0]], cycle[v] = true, true
					merged = true
				}
			}
		}
		return merged
	}
	collapse()
	if threshold < 1 {
		// Affinity of two groups: the traffic between them as a share of
		// all the traffic either has with anyone else (their union's
		// boundary plus the pair's own). Computed once on the cycle groups,
		// so merging does not snowball through a chain of neighbours.
		crossing := map[int]int64{} // traffic across each group's boundary
		between := map[[2]int]int64{}
		for i := range g.edges.list {
			e := &g.edges.list[i]
			k := e.key()
			w := weight(e)
			a, b := uf.find(k[0]), uf.find(k[1])
			if a == b {
				continue
			}
			if g.nodes[k[0]].Kind == KindApp {
				crossing[a] += w
			}
			if g.nodes[k[1]].Kind == KindApp {
				crossing[b] += w
			}
			if g.nodes[k[0]].Kind == KindApp && g.nodes[k[1]].Kind == KindApp {
				between[[2]int{min(a, b), max(a, b)}] += w
			}
		}
		pairs := make([][2]int, 0, len(between))
		for p := range between {
			pairs = append(pairs, p)
		}
		sort.Slice(pairs, func(i, j int) bool {
			if pairs[i][0] != pairs[j][0] {
				return pairs[i][0] < pairs[j][0]
			}
			return pairs[i][1] < pairs[j][1]
		})
		for _, p := range pairs {
			b := between[p]
			if den := crossing[p[0]] + crossing[p[1]] - b; den > 0 && float64(b)/float64(den) > threshold {
				uf.union(p[0], p[1])
				byAffinity[p[0]], byAffinity[p[1]] = true, true
			}
		}
	}
	for collapse() {
	}
	// flags were set on the roots at the time; carry them to the final roots
	for i := 0; i < n; i++ {
		r := uf.find(i)
		cycle[r] = cycle[r] || cycle[i]
		byAffinity[r] = byAffinity[r] || byAffinity[i]
	}

	// groups of apps
	members := map[int][]int{}
	for i := range g.nodes {
		if g.nodes[i].Kind == KindApp {
			root := uf.find(i)
			members[root] = append(members[root], i)
		}
	}
	waves(r, g, opts, uf, members, appEdges, cycle, byAffinity)
}

// blastRadius fills r.BlastRadius: for every app, the apps and unassigned
// VMs that reach it (external endpoints are walked through but not listed:
// direct external clients are in Dependants). It walks the condensation
// once with bitsets instead of once per app.
func blastRadius(r *Result, g *graph, adj [][]int) {
	n := len(g.nodes)
	comps := tarjan(n, adj)
	compOf := make([]int, n)
	for c, comp := range comps {
		for _, v := range comp {
			compOf[v] = c
		}
	}
	bit := make([]int, n) // node -> bit, -1 for external endpoints
	var bitNode []int
	for v, node := range g.nodes {
		bit[v] = -1
		if node.Kind != KindExternal {
			bit[v] = len(bitNode)
			bitNode = append(bitNode, v)
		}
	}
	words := (len(bitNode) + 63) / 64
	reach := make([]uint64, len(comps)*words) // nodes that reach component c, its own members excluded
	set := func(c int) []uint64 { return reach[c*words : (c+1)*words] }
	// comps is reverse topological: sources are last; walk from sources.
	for c := len(comps) - 1; c >= 0; c-- {
		from := set(c)
		for _, v := range comps[c] {
			for _, w := range adj[v] {
				d := compOf[w]
				if d == c {
					continue
				}
				to := set(d)
				for i, x := range from {
					to[i] |= x
				}
				for _, m := range comps[c] {
					if b := bit[m]; b >= 0 {
						to[b/64] |= 1 << (b % 64)
					}
				}
			}
		}
	}
	r.BlastRadius = make(map[string][]string, len(r.Apps))
	for v, node := range g.nodes {
		if node.Kind != KindApp {
			continue
		}
		c := compOf[v]
		out := []string{}
		for i, x := range set(c) {
			for x != 0 {
				b := bits.TrailingZeros64(x)
				x &^= 1 << b
				out = append(out, g.nodes[bitNode[i*64+b]].ID)
			}
		}
		for _, m := range comps[c] {
			if m != v && bit[m] >= 0 {
				out = append(out, g.nodes[m].ID) // a cycle: each member depends on the others
			}
		}
		if !slices.IsSorted(out) {
			slices.Sort(out)
		}
		r.BlastRadius[node.ID] = out
	}
}

type readyGroup struct {
	root     int
	earliest int
	name     string
}

type readyHeap []readyGroup

func (h readyHeap) Len() int { return len(h) }
func (h readyHeap) Less(i, j int) bool {
	if h[i].earliest != h[j].earliest {
		return h[i].earliest < h[j].earliest
	}
	return h[i].name < h[j].name
}
func (h readyHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *readyHeap) Push(x any)   { *h = append(*h, x.(readyGroup)) }
func (h *readyHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// waves orders the move groups (dependencies first) into waves under the
// caps, and names the groups in wave order.
func waves(r *Result, g *graph, opts Options, uf unionFind, members map[int][]int, appEdges [][2]int, cycle, byAffinity []bool) {
	type group struct {
		apps     []string
		vms      int // VMs still to move
		pending  int // apps still to move
		deps     map[int]bool
		users    []int
		wave     int
		waiting  int
		earliest int
	}
	groups := map[int]*group{}
	for root, ms := range members {
		gr := &group{deps: map[int]bool{}}
		for _, m := range ms {
			gr.apps = append(gr.apps, g.nodes[m].ID)
			if !g.nodes[m].Migrated {
				gr.pending++
				gr.vms += len(g.nodes[m].VMs)
			}
		}
		slices.Sort(gr.apps)
		groups[root] = gr
	}
	for _, k := range appEdges {
		a, b := uf.find(k[0]), uf.find(k[1])
		if a != b && !groups[a].deps[b] {
			groups[a].deps[b] = true
			groups[b].users = append(groups[b].users, a)
		}
	}
	h := &readyHeap{}
	for root, gr := range groups {
		gr.waiting = len(gr.deps)
		if gr.waiting == 0 {
			heap.Push(h, readyGroup{root: root, earliest: 1, name: gr.apps[0]})
		}
	}
	type load struct{ apps, vms int }
	var loads []load // loads[w-1]
	var order []int
	for h.Len() > 0 {
		rg := heap.Pop(h).(readyGroup)
		gr := groups[rg.root]
		order = append(order, rg.root)
		if gr.pending == 0 {
			gr.wave = 0 // already migrated: a satisfied dependency
		} else {
			w := rg.earliest
			for ; ; w++ {
				for len(loads) < w {
					loads = append(loads, load{})
				}
				l := loads[w-1]
				if l.apps == 0 {
					break // an empty wave takes any group, even one above the caps
				}
				if (opts.MaxAppsPerWave == 0 || l.apps+gr.pending <= opts.MaxAppsPerWave) &&
					(opts.MaxVMsPerWave == 0 || l.vms+gr.vms <= opts.MaxVMsPerWave) {
					break
				}
			}
			if (opts.MaxAppsPerWave > 0 && gr.pending > opts.MaxAppsPerWave) || (opts.MaxVMsPerWave > 0 && gr.vms > opts.MaxVMsPerWave) {
				r.Warnings = append(r.Warnings, fmt.Sprintf("move group %s has %d apps and %d VMs, above the wave caps (%d apps, %d VMs): it gets wave %d to itself; split it only if its apps can run across the WAN",
					strings.Join(gr.apps, "+"), gr.pending, gr.vms, opts.MaxAppsPerWave, opts.MaxVMsPerWave, w))
			}
			loads[w-1].apps += gr.pending
			loads[w-1].vms += gr.vms
			gr.wave = w
		}
		for _, u := range gr.users {
			ug := groups[u]
			ug.earliest = max(ug.earliest, gr.wave+1)
			ug.waiting--
			if ug.waiting == 0 {
				heap.Push(h, readyGroup{root: u, earliest: max(ug.earliest, 1), name: ug.apps[0]})
			}
		}
	}
	// Deterministic group IDs: by wave, then first app.
	sort.Slice(order, func(i, j int) bool {
		a, b := groups[order[i]], groups[order[j]]
		if a.wave != b.wave {
			return a.wave < b.wave
		}
		return a.apps[0] < b.apps[0]
	})
	r.Waves = make([]WavePlan, len(loads))
	for i := range r.Waves {
		r.Waves[i] = WavePlan{Number: i + 1, Name: fmt.Sprintf("wave-%d", i+1), MoveGroups: []string{}, Apps: []string{}}
	}
	for i, root := range order {
		gr := groups[root]
		id := fmt.Sprintf("mg-%d", i+1)
		reason := "single"
		switch {
		case cycle[root] && byAffinity[root]:
			reason = "cycle+affinity"
		case cycle[root]:
			reason = "cycle"
		case byAffinity[root]:
			reason = "affinity"
		}
		r.MoveGroups = append(r.MoveGroups, MoveGroup{ID: id, Apps: gr.apps, VMs: gr.vms, Reason: reason, Wave: gr.wave})
		for _, m := range members[root] {
			g.nodes[m].MoveGroup = id
			if !g.nodes[m].Migrated {
				g.nodes[m].Wave = gr.wave
			}
		}
		if gr.wave > 0 {
			wp := &r.Waves[gr.wave-1]
			wp.MoveGroups = append(wp.MoveGroups, id)
			for _, m := range members[root] {
				if !g.nodes[m].Migrated {
					wp.Apps = append(wp.Apps, g.nodes[m].ID)
				}
			}
			wp.VMs += gr.vms
		}
	}
	for i := range r.Waves {
		slices.Sort(r.Waves[i].Apps)
	}
	if len(order) != len(groups) {
		// cannot happen: cycles were merged; say so rather than drop apps
		r.Warnings = append(r.Warnings, "internal: the condensed graph still has a cycle; some apps got no wave")
	}
}

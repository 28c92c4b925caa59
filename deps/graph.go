package deps

import (
	"math/bits"
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
	var comps [][]int
	members := make([]int, 0, n) // every node is in one component: one array for all
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
				start := len(members)
				for {
					w := st[len(st)-1]
					st = st[:len(st)-1]
					on[w] = false
					members = append(members, w)
					if w == v {
						break
					}
				}
				comps = append(comps, members[start:len(members):len(members)])
			}
		}
	}
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
	// Bits in node ID order, so reading a set yields sorted IDs.
	bit := make([]int, n) // node -> bit, -1 for external endpoints
	var bitNode []int
	for _, v := range g.order {
		bit[v] = -1
		if g.nodes[v].Kind != KindExternal {
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
	// Each app's set: its component's, plus the other members of its
	// component (a cycle: each member depends on the others).
	tmp := make([]uint64, words)
	withMembers := func(v int) []uint64 {
		c := compOf[v]
		copy(tmp, set(c))
		for _, m := range comps[c] {
			if b := bit[m]; m != v && b >= 0 {
				tmp[b/64] |= 1 << (b % 64)
			}
		}
		return tmp
	}
	total := 0
	for v := range g.nodes {
		if g.nodes[v].Kind == KindApp {
			for _, x := range withMembers(v) {
				total += bits.OnesCount64(x)
			}
		}
	}
	all := make([]string, 0, total) // one backing array for every list
	for v := range g.nodes {
		if g.nodes[v].Kind != KindApp {
			continue
		}
		start := len(all)
		for i, x := range withMembers(v) {
			for x != 0 {
				b := bits.TrailingZeros64(x)
				x &^= 1 << b
				all = append(all, g.nodes[bitNode[i*64+b]].ID)
			}
		}
		r.BlastRadius[g.nodes[v].ID] = all[start:len(all):len(all)]
	}
}

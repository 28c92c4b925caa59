package deps

import (
	"slices"
	"sort"
)

// plan computes move groups, waves and blast radius into r and the nodes.
func plan(r *Result, g *graph, opts Options) {
	threshold := opts.AffinityThreshold
	if threshold == 0 {
		threshold = DefaultAffinity
	}
	n := len(g.nodes)
	// Adjacency lists as slices of one array (edges counted per node
	// first), each sorted by node index.
	deg := make([]int, n+1)
	for i := range g.edges.list {
		deg[g.edges.list[i].from+1]++
	}
	for i := 0; i < n; i++ {
		deg[i+1] += deg[i]
	}
	flat := make([]int, len(g.edges.list))
	next := slices.Clone(deg[:n])
	// app graph: only app -> app edges decide move groups and waves
	var appEdges [][2]int
	for i := range g.edges.list {
		k := g.edges.list[i].key()
		flat[next[k[0]]] = k[1]
		next[k[0]]++
		if g.nodes[k[0]].Kind == KindApp && g.nodes[k[1]].Kind == KindApp {
			appEdges = append(appEdges, k)
		}
	}
	adj := make([][]int, n)
	for i := range adj {
		adj[i] = flat[deg[i]:deg[i+1]:deg[i+1]]
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

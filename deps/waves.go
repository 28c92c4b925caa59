package deps

import (
	"container/heap"
	"fmt"
	"slices"
	"sort"
	"strings"
)

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

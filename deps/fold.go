package deps

import "slices"

// idIndex numbers the distinct addresses of the conversations densely,
// in first-seen order: an open-addressing table keyed by the uint32 id, so
// resolving 300,000 conversation ends costs no map of strings.
type idIndex struct {
	keys []uint32
	vals []int32 // dense number, -1 for an empty slot
	ids  []uint32
}

func newIDIndex(hint int) *idIndex {
	size := 64
	for size*3 < hint*4 {
		size *= 2
	}
	x := &idIndex{keys: make([]uint32, size), vals: make([]int32, size)}
	for i := range x.vals {
		x.vals[i] = -1
	}
	return x
}

func idSlot(id uint32, mask int) int {
	h := uint64(id) * 0x9E3779B97F4A7C15
	return int(h>>32) & mask
}

// add returns the dense number of id, numbering it if new.
func (x *idIndex) add(id uint32) int32 {
	mask := len(x.keys) - 1
	for i := idSlot(id, mask); ; i = (i + 1) & mask {
		if x.vals[i] < 0 {
			if 4*(len(x.ids)+1) > 3*len(x.keys) {
				x.grow()
				return x.add(id)
			}
			x.keys[i], x.vals[i] = id, int32(len(x.ids))
			x.ids = append(x.ids, id)
			return x.vals[i]
		}
		if x.keys[i] == id {
			return x.vals[i]
		}
	}
}

// get returns the dense number of an id already added.
func (x *idIndex) get(id uint32) int32 {
	mask := len(x.keys) - 1
	for i := idSlot(id, mask); ; i = (i + 1) & mask {
		if x.vals[i] < 0 || x.keys[i] == id {
			return x.vals[i]
		}
	}
}

func (x *idIndex) grow() {
	size := 2 * len(x.keys)
	x.keys, x.vals = make([]uint32, size), make([]int32, size)
	for i := range x.vals {
		x.vals[i] = -1
	}
	mask := size - 1
	for n, id := range x.ids {
		i := idSlot(id, mask)
		for x.vals[i] >= 0 {
			i = (i + 1) & mask
		}
		x.keys[i], x.vals[i] = id, int32(n)
	}
}

// groupSort orders values by group and then by value: a counting sort on
// the group (each below n), then an ordinary integer sort of each group's
// values, which are small. It returns the values in order and, for each
// group g, its values' bounds bounds[g]:bounds[g+1].
func groupSort(groups []int32, vals []uint64, n int) ([]uint64, []int32) {
	bounds := make([]int32, n+1)
	for _, g := range groups {
		bounds[g+1]++
	}
	for g := 0; g < n; g++ {
		bounds[g+1] += bounds[g]
	}
	out := make([]uint64, len(vals))
	next := slices.Clone(bounds[:n])
	for i, g := range groups {
		out[next[g]] = vals[i]
		next[g]++
	}
	for g := 0; g < n; g++ {
		if b := out[bounds[g]:bounds[g+1]]; len(b) > 1 {
			slices.Sort(b)
		}
	}
	return out, bounds
}

// foldEdges sums conversations into edges. from[i] and toCI[i] (to<<32 |
// conversation ref, see Aggregator.conv) put a conversation on the edge from -> to (from
// below n); edges come out sorted by from, then to, each with its sorted
// distinct ports. The ports of all edges share one backing array.
func foldEdges(from []int32, toCI []uint64, a *Aggregator, n int) []edgeAcc {
	sorted, bounds := groupSort(from, toCI, n)
	edges := 0
	for f := 0; f < n; f++ {
		run := sorted[bounds[f]:bounds[f+1]]
		for i := range run {
			if i == 0 || run[i]>>32 != run[i-1]>>32 {
				edges++
			}
		}
	}
	out := make([]edgeAcc, 0, edges)
	ports := make([]int, 0, len(sorted))
	for f := 0; f < n; f++ {
		run := sorted[bounds[f]:bounds[f+1]]
		for i := 0; i < len(run); {
			t := run[i] >> 32
			e := edgeAcc{from: int32(f), to: int32(t), observed: true}
			start := len(ports)
			for ; i < len(run) && run[i]>>32 == t; i++ {
				c := a.conv(uint32(run[i]))
				e.bytes += c.bytes
				e.packets += c.packets
				e.count += int64(c.count)
				ports = append(ports, c.port())
				if c.first != 0 && (e.first == 0 || c.first < e.first) {
					e.first = c.first
				}
				e.last = max(e.last, c.last)
			}
			p := ports[start:]
			if len(p) > 1 {
				slices.Sort(p)
				p = slices.Compact(p)
				ports = ports[:start+len(p)]
			}
			e.ports = ports[start:len(ports):len(ports)]
			out = append(out, e)
		}
	}
	return out
}

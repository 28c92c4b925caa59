package deps

import "net/netip"

// ipTable interns IP addresses: every spelling of an address maps to one
// small id, so aggregation keys stay small and the hot path allocates only
// for addresses it has not seen.
type ipTable struct {
	ids   map[string]uint32
	addrs []netip.Addr
	names []string // a name a flow file gave the address, first one wins
}

func newIPTable() *ipTable { return &ipTable{ids: make(map[string]uint32, 1024)} }

func (t *ipTable) intern(b []byte) (uint32, bool) {
	if id, ok := t.ids[string(b)]; ok {
		return id, true
	}
	a, ok := parseAddr(string(b))
	if !ok {
		return 0, false
	}
	canon := a.String()
	id, ok := t.ids[canon]
	if !ok {
		id = uint32(len(t.addrs))
		t.addrs = append(t.addrs, a)
		t.names = append(t.names, "")
		t.ids[canon] = id
	}
	if string(b) != canon {
		t.ids[string(b)] = id
	}
	return id, true
}

func (t *ipTable) setName(id uint32, name []byte) {
	if len(name) == 0 || t.names[id] != "" {
		return
	}
	if a, ok := parseAddr(string(name)); ok && a == t.addrs[id] {
		return // NSX writes the IP when it knows no name
	}
	t.names[id] = string(name)
}

func (t *ipTable) ip(id uint32) string { return t.addrs[id].String() }

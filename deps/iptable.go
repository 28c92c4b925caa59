package deps

import (
	"net/netip"
)

// ipTable names endpoints with 32-bit ids without allocating on the hot
// path: an IPv4 address is its own id; IPv6 addresses (and the reserved
// IPv4 block 240.0.0.0/4, whose values the ids of interned addresses use)
// are interned to ids 0xF0000000+n.
type ipTable struct {
	ids   map[string]uint32 // interned spellings
	addrs []netip.Addr      // interned addresses by n
	names map[uint32]string // a name a flow file gave the address, first one wins
}

const internBase = 0xF0000000

func newIPTable() *ipTable {
	return &ipTable{ids: map[string]uint32{}, names: map[uint32]string{}}
}

// parseIPv4 reads dotted-quad IPv4 as netip does (no leading zeros).
func parseIPv4(b []byte) (uint32, bool) {
	var v uint32
	i := 0
	for octet := 0; octet < 4; octet++ {
		if octet > 0 {
			if i >= len(b) || b[i] != '.' {
				return 0, false
			}
			i++
		}
		start := i
		var n uint32
		for i < len(b) && i-start < 3 && b[i] >= '0' && b[i] <= '9' {
			n = n*10 + uint32(b[i]-'0')
			i++
		}
		if i == start || n > 255 || (b[start] == '0' && i-start > 1) {
			return 0, false
		}
		v = v<<8 | n
	}
	return v, i == len(b)
}

func (t *ipTable) intern(b []byte) (uint32, bool) {
	if v, ok := parseIPv4(b); ok && v < internBase {
		return v, true
	}
	if id, ok := t.ids[string(b)]; ok {
		return id, true
	}
	a, ok := parseAddr(string(b))
	if !ok {
		return 0, false
	}
	if a.Is4() && a.As4()[0] < 0xF0 {
		x := a.As4()
		return uint32(x[0])<<24 | uint32(x[1])<<16 | uint32(x[2])<<8 | uint32(x[3]), true
	}
	canon := a.String()
	id, ok := t.ids[canon]
	if !ok {
		if len(t.addrs) >= 1<<28-1 {
			return 0, false
		}
		id = internBase + uint32(len(t.addrs))
		t.addrs = append(t.addrs, a)
		t.ids[canon] = id
	}
	t.ids[string(b)] = id
	return id, true
}

func (t *ipTable) addr(id uint32) netip.Addr {
	if id < internBase {
		return netip.AddrFrom4([4]byte{byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)})
	}
	return t.addrs[id-internBase]
}

func (t *ipTable) ip(id uint32) string { return t.addr(id).String() }

func (t *ipTable) setName(id uint32, name []byte) {
	if len(name) == 0 {
		return
	}
	if _, ok := t.names[id]; ok {
		return
	}
	if a, ok := parseAddr(string(name)); ok && a == t.addr(id) {
		return // NSX writes the IP when it knows no name
	}
	t.names[id] = string(name)
}

package deps

import "net/netip"

// pconv is one conversation of records that carry both ports, under its
// canonical 5-tuple: side a is the lower ip:port, so a request and its
// reply land on the same entry whichever comes first. It holds the totals
// of both directions and what the records said about who initiated.
type pconv struct {
	pair             uint64 // a<<32 | b
	ports            uint32 // aPort<<16 | bPort
	pp               uint32 // proto | evidence<<8 | convUsed
	countAB, countBA uint32 // records a -> b and b -> a (saturating)
	bytes, packets   int64  // both directions
	first, last      uint32 // Unix seconds, 0 when unknown
}

func pconvHash(pair uint64, ports uint32, proto uint8) uint64 {
	h := pair ^ (uint64(ports)<<8|uint64(proto))*0x9E3779B97F4A7C15
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	return h ^ h>>33
}

// ppart is one partition of the pending table, merged from its buffer as
// the conversation partitions are (see Aggregator).
type ppart struct {
	table []pconv
	n     int
	buf   []pconv
}

// epart is one partition of the endpoint table: how many conversations
// (distinct peer endpoints) each ip:port/proto has. Keys are
// endpointKey+1, so 0 marks an empty slot.
type epart struct {
	keys []uint64
	cnt  []uint32
	n    int
	buf  []uint64
}

// addPending adds a record that names both ports.
func (a *Aggregator) addPending(rc *record) {
	if a.pend[0].buf == nil {
		a.initPending(0)
	}
	c := pconv{pp: uint32(rc.proto) | convUsed, bytes: rc.bytes, packets: rc.packets, first: secs(rc.first), last: secs(rc.last)}
	cnt := uint32(min(uint64(max(rc.count, 1)), 1<<32-1))
	var ev uint32
	if uint64(rc.src)<<16|uint64(rc.sport) <= uint64(rc.dst)<<16|uint64(rc.port) {
		c.pair, c.ports, c.countAB = uint64(rc.src)<<32|uint64(rc.dst), uint32(rc.sport)<<16|uint32(rc.port), cnt
		switch rc.hint {
		case hintSrcClient:
			ev = evAClient
		case hintSrcServer:
			ev = evBClient
		}
	} else {
		c.pair, c.ports, c.countBA = uint64(rc.dst)<<32|uint64(rc.src), uint32(rc.port)<<16|uint32(rc.sport), cnt
		switch rc.hint {
		case hintSrcClient:
			ev = evBClient
		case hintSrcServer:
			ev = evAClient
		}
	}
	c.pp |= ev << 8
	p := &a.pend[pconvHash(c.pair, c.ports, uint8(c.pp))>>(64-partBits)]
	p.buf = append(p.buf, c)
	if len(p.buf) == partBuf {
		a.mergePending(p)
	}
}

// initPending allocates the pending and endpoint partitions, each table
// with room for about want entries.
func (a *Aggregator) initPending(want int64) {
	size := 64
	for int64(size)*3 < want*4 {
		size *= 2
	}
	for i := range a.pend {
		a.pend[i] = ppart{table: make([]pconv, size), buf: make([]pconv, 0, partBuf)}
		a.eps[i] = epart{keys: make([]uint64, 2*size), cnt: make([]uint32, 2*size), buf: make([]uint64, 0, partBuf)}
	}
}

// mergePending folds a partition's buffer into its table; every new
// conversation counts one more peer for each of its two endpoints.
func (a *Aggregator) mergePending(p *ppart) {
	for k := range p.buf {
		r := &p.buf[k]
		if 4*(p.n+1) > 3*len(p.table) {
			p.grow()
		}
		mask := uint64(len(p.table) - 1)
		for i := pconvHash(r.pair, r.ports, uint8(r.pp)) & mask; ; i = (i + 1) & mask {
			c := &p.table[i]
			if c.pp == 0 {
				*c = *r
				p.n++
				proto := uint8(r.pp)
				a.addEndpoint(endpointKey(uint32(r.pair>>32), int(r.ports>>16), proto))
				a.addEndpoint(endpointKey(uint32(r.pair), int(r.ports&0xFFFF), proto))
				break
			}
			if c.pair == r.pair && c.ports == r.ports && uint8(c.pp) == uint8(r.pp) {
				c.pp |= r.pp
				c.bytes += r.bytes
				c.packets += r.packets
				c.countAB = uint32(min(uint64(c.countAB)+uint64(r.countAB), 1<<32-1))
				c.countBA = uint32(min(uint64(c.countBA)+uint64(r.countBA), 1<<32-1))
				if r.first != 0 && (c.first == 0 || r.first < c.first) {
					c.first = r.first
				}
				c.last = max(c.last, r.last)
				break
			}
		}
	}
	p.buf = p.buf[:0]
}

func (p *ppart) grow() {
	old := p.table
	p.table = make([]pconv, 2*len(old))
	mask := uint64(len(p.table) - 1)
	for _, c := range old {
		if c.pp == 0 {
			continue
		}
		i := pconvHash(c.pair, c.ports, uint8(c.pp)) & mask
		for p.table[i].pp != 0 {
			i = (i + 1) & mask
		}
		p.table[i] = c
	}
}

func epHash(k uint64) uint64 {
	h := k * 0x9E3779B97F4A7C15
	return h ^ h>>29
}

func (a *Aggregator) addEndpoint(k uint64) {
	p := &a.eps[epHash(k)>>(64-partBits)]
	p.buf = append(p.buf, k+1)
	if len(p.buf) == partBuf {
		p.merge()
	}
}

func (p *epart) merge() {
	for _, k := range p.buf {
		if 4*(p.n+1) > 3*len(p.keys) {
			p.grow()
		}
		mask := uint64(len(p.keys) - 1)
		for i := epHash(k) & mask; ; i = (i + 1) & mask {
			if p.keys[i] == 0 {
				p.keys[i], p.cnt[i] = k, 1
				p.n++
				break
			}
			if p.keys[i] == k {
				p.cnt[i]++
				break
			}
		}
	}
	p.buf = p.buf[:0]
}

func (p *epart) grow() {
	keys, cnt := p.keys, p.cnt
	p.keys, p.cnt = make([]uint64, 2*len(keys)), make([]uint32, 2*len(keys))
	mask := uint64(len(p.keys) - 1)
	for j, k := range keys {
		if k == 0 {
			continue
		}
		i := epHash(k) & mask
		for p.keys[i] != 0 {
			i = (i + 1) & mask
		}
		p.keys[i], p.cnt[i] = k, cnt[j]
	}
}

// resolve decides the server side of every pending conversation and adds
// it, client -> server, to the conversations; ambiguous ones are counted
// and the largest kept as examples. Peer counts cover every file read so
// far, so read all files before analysing.
func (a *Aggregator) resolve() {
	if a.pend[0].buf == nil {
		return
	}
	for i := range a.pend {
		a.mergePending(&a.pend[i])
	}
	for i := range a.eps {
		a.eps[i].merge()
	}
	// Most endpoints have one peer (a client's ephemeral port); the few
	// with more fit in a small map that stays in the cache.
	many := map[uint64]uint32{}
	for i := range a.eps {
		p := &a.eps[i]
		for j, k := range p.keys {
			if k != 0 && p.cnt[j] > 1 {
				many[k-1] = p.cnt[j]
			}
		}
	}
	peers := func(k uint64) uint32 {
		if n, ok := many[k]; ok {
			return n
		}
		return 1
	}
	for i := range a.pend {
		for j := range a.pend[i].table {
			c := &a.pend[i].table[j]
			if c.pp == 0 {
				continue
			}
			aIP, bIP := uint32(c.pair>>32), uint32(c.pair)
			aPort, bPort := int(c.ports>>16), int(c.ports&0xFFFF)
			proto := uint8(c.pp)
			aServes, how := a.dir.decide(aIP, bIP, aPort, bPort, proto, uint8(c.pp>>8),
				peers(endpointKey(aIP, aPort, proto)), peers(endpointKey(bIP, bPort, proto)))
			a.direction.add(how)
			if c.countAB > 0 && c.countBA > 0 {
				a.direction.Paired++
			}
			if how == ambiguous {
				a.noteAmbiguous(c)
				continue
			}
			v := conv{pp: uint32(proto) | convUsed, count: max(c.countAB, c.countBA), bytes: c.bytes, packets: c.packets, first: c.first, last: c.last}
			if aServes {
				v.pair, v.pp = uint64(bIP)<<32|uint64(aIP), v.pp|uint32(aPort)<<8
			} else {
				v.pair, v.pp = c.pair, v.pp|uint32(bPort)<<8
			}
			a.addConv(v)
		}
	}
	for i := range a.pend {
		a.pend[i] = ppart{}
		a.eps[i] = epart{}
	}
	a.flush()
}

// noteAmbiguous counts an ambiguous conversation and keeps it if it is
// among the largest.
func (a *Aggregator) noteAmbiguous(c *pconv) {
	a.ambiguous.Conversations++
	a.ambiguous.Records += int64(c.countAB) + int64(c.countBA)
	a.ambiguous.Bytes += c.bytes
	ex := a.ambExamples
	i := len(ex)
	for i > 0 && ex[i-1].bytes < c.bytes {
		i--
	}
	if i >= maxAmbiguousExamples {
		return
	}
	if len(ex) < maxAmbiguousExamples {
		ex = append(ex, pconv{})
	}
	copy(ex[i+1:], ex[i:len(ex)-1])
	ex[i] = *c
	a.ambExamples = ex
}

// ambiguousExample describes a kept ambiguous conversation.
func (a *Aggregator) ambiguousExample(c *pconv) AmbiguousConversation {
	hp := func(id uint32, port int) string {
		return netip.AddrPortFrom(a.ips.addr(id), uint16(port)).String()
	}
	return AmbiguousConversation{
		A: hp(uint32(c.pair>>32), int(c.ports>>16)), B: hp(uint32(c.pair), int(c.ports&0xFFFF)),
		Protocol: protoName(uint8(c.pp)), Bytes: c.bytes, Records: int64(c.countAB) + int64(c.countBA),
	}
}

// Ambiguous returns the conversations whose server side could not be
// decided (they make no edge), with examples; read every file first.
func (a *Aggregator) Ambiguous() Ambiguous {
	a.resolve()
	out := a.ambiguous
	out.Examples = nil
	for i := range a.ambExamples {
		out.Examples = append(out.Examples, a.ambiguousExample(&a.ambExamples[i]))
	}
	return out
}

package deps

import (
	"fmt"
	"io"
	"os"
	"sort"
	"time"
)

// conv is one conversation: its key and its running totals, 40 bytes.
// Conversations live inline in an open-addressing table, so adding a
// record touches one cache line; with random input that memory latency,
// not parsing, bounds the aggregation. Times keep second resolution.
type conv struct {
	pair           uint64 // src<<32 | dst
	pp             uint32 // port<<8 | proto, plus convUsed
	count          uint32 // saturates at 2^32-1
	bytes, packets int64
	first, last    uint32 // Unix seconds, 0 when unknown
}

const convUsed = 1 << 31

func (c *conv) src() uint32  { return uint32(c.pair >> 32) }
func (c *conv) dst() uint32  { return uint32(c.pair) }
func (c *conv) port() int    { return int(c.pp >> 8 & 0xFFFF) }
func (c *conv) proto() uint8 { return uint8(c.pp) }

func secs(ns int64) uint32 {
	if ns <= 0 {
		return 0
	}
	return uint32(min(ns/1e9, 1<<32-1))
}

func timeOfSecs(s uint32) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}

// convHash mixes every key bit into the low bits the table indexes by
// (murmur3's finaliser).
func convHash(pair uint64, pp uint32) uint64 {
	h := pair ^ uint64(pp)*0x9E3779B97F4A7C15
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	return h ^ h>>33
}

// Aggregator accumulates flow records per (source, destination,
// destination port, protocol) as they are parsed, so memory grows with the
// number of distinct conversations, not with the number of records. It is
// not safe for concurrent use.
type Aggregator struct {
	ips   *ipTable
	table []conv // power of two, at most 3/4 full
	n     int
	batch []record
	sink  uint32
	// Records counts the records added.
	Records int64
	// Errors holds the malformed lines of every file read so far.
	Errors []ParseError
}

// batchSize records are looked up together: their table slots are loaded
// first, independently, so the CPU overlaps the cache misses.
const batchSize = 32

// NewAggregator returns an empty Aggregator.
func NewAggregator() *Aggregator {
	return &Aggregator{ips: newIPTable(), table: make([]conv, 1024), batch: make([]record, 0, batchSize)}
}

func (a *Aggregator) add(rc *record) {
	a.batch = append(a.batch, *rc)
	a.batch[len(a.batch)-1].srcName, a.batch[len(a.batch)-1].dstName = nil, nil // they alias the line buffer
	if len(a.batch) == batchSize {
		a.flush()
	}
}

func (a *Aggregator) flush() {
	if 4*(a.n+len(a.batch)) > 3*len(a.table) {
		a.grow()
	}
	mask := uint64(len(a.table) - 1)
	var slot [batchSize]uint64
	var touch uint32
	for j := range a.batch {
		rc := &a.batch[j]
		slot[j] = convHash(uint64(rc.src)<<32|uint64(rc.dst), uint32(rc.port)<<8|uint32(rc.proto)|convUsed) & mask
		touch += a.table[slot[j]].pp // independent loads: misses overlap
	}
	a.sink += touch // keeps the loads
	for j := range a.batch {
		a.insert(&a.batch[j], slot[j], mask)
	}
	a.Records += int64(len(a.batch))
	a.batch = a.batch[:0]
}

func (a *Aggregator) insert(rc *record, i, mask uint64) {
	pair := uint64(rc.src)<<32 | uint64(rc.dst)
	pp := uint32(rc.port)<<8 | uint32(rc.proto) | convUsed
	for ; ; i = (i + 1) & mask {
		c := &a.table[i]
		if c.pp == 0 {
			*c = conv{pair: pair, pp: pp, first: secs(rc.first), last: secs(rc.last)}
			a.n++
			c.merge(rc)
			return
		}
		if c.pair == pair && c.pp == pp {
			c.merge(rc)
			return
		}
	}
}

func (c *conv) merge(rc *record) {
	c.bytes += rc.bytes
	c.packets += rc.packets
	c.count = uint32(min(uint64(c.count)+uint64(rc.count), 1<<32-1))
	if f := secs(rc.first); f != 0 && (c.first == 0 || f < c.first) {
		c.first = f
	}
	if l := secs(rc.last); l > c.last {
		c.last = l
	}
}

func (a *Aggregator) grow() {
	old := a.table
	size := 2 * len(old)
	for 4*(a.n+batchSize) > 3*size {
		size *= 2
	}
	a.table = make([]conv, size)
	mask := uint64(size - 1)
	for _, c := range old {
		if c.pp == 0 {
			continue
		}
		i := convHash(c.pair, c.pp) & mask
		for a.table[i].pp != 0 {
			i = (i + 1) & mask
		}
		a.table[i] = c
	}
}

// each calls f for every conversation, in table order.
func (a *Aggregator) each(f func(c *conv)) {
	for i := range a.table {
		if a.table[i].pp != 0 {
			f(&a.table[i])
		}
	}
}

// ReadFlows parses one flow file (any supported format) into the
// aggregate. Malformed lines are appended to a.Errors; past opts.MaxErrors
// malformed lines in this file it stops with a *TooManyErrorsError.
func (a *Aggregator) ReadFlows(r io.Reader, name string, opts ParseOptions) error {
	p := &parser{file: name, opts: opts, ips: a.ips, emit: a.add}
	err := p.run(r)
	a.flush()
	a.Errors = append(a.Errors, p.errs...)
	return err
}

// ReadFlowsFile is ReadFlows on a file.
func (a *Aggregator) ReadFlowsFile(path string, opts ParseOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open flow file: %w", err)
	}
	defer f.Close()
	return a.ReadFlows(f, path, opts)
}

// Add adds one already parsed flow. A flow whose addresses are not IPs or
// whose port or protocol is out of range is refused.
func (a *Aggregator) Add(f Flow) error {
	src, ok := a.ips.intern([]byte(f.SrcIP))
	if !ok {
		return fmt.Errorf("flow source %q is not an IP address", f.SrcIP)
	}
	dst, ok := a.ips.intern([]byte(f.DstIP))
	if !ok {
		return fmt.Errorf("flow destination %q is not an IP address", f.DstIP)
	}
	proto := uint8(6)
	if f.Protocol != "" {
		if proto, ok = ParseProtocol(f.Protocol); !ok {
			return fmt.Errorf("flow %s -> %s: unknown protocol %q", f.SrcIP, f.DstIP, f.Protocol)
		}
	}
	if f.DstPort < 0 || f.DstPort > 65535 {
		return fmt.Errorf("flow %s -> %s: port %d out of range", f.SrcIP, f.DstIP, f.DstPort)
	}
	a.ips.setName(src, []byte(f.SrcName))
	a.ips.setName(dst, []byte(f.DstName))
	rc := record{src: src, dst: dst, port: f.DstPort, proto: proto, bytes: max(f.Bytes, 0), packets: max(f.Packets, 0), count: max(f.Count, 1)}
	if isPortless(proto) {
		rc.port = 0
	}
	if !f.FirstSeen.IsZero() {
		rc.first = f.FirstSeen.UnixNano()
	}
	if !f.LastSeen.IsZero() {
		rc.last = f.LastSeen.UnixNano()
	}
	a.add(&rc)
	a.flush()
	return nil
}

// Len is the number of distinct conversations.
func (a *Aggregator) Len() int { return a.n }

// Flows returns the aggregated conversations, sorted by source,
// destination, port and protocol.
func (a *Aggregator) Flows() []Flow {
	out := make([]Flow, 0, a.n)
	a.each(func(c *conv) {
		out = append(out, Flow{
			SrcIP: a.ips.ip(c.src()), DstIP: a.ips.ip(c.dst()), DstPort: c.port(), Protocol: protoName(c.proto()),
			Bytes: c.bytes, Packets: c.packets, Count: int64(c.count), FirstSeen: timeOfSecs(c.first), LastSeen: timeOfSecs(c.last),
			SrcName: a.ips.names[c.src()], DstName: a.ips.names[c.dst()],
		})
	})
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.SrcIP != y.SrcIP {
			return x.SrcIP < y.SrcIP
		}
		if x.DstIP != y.DstIP {
			return x.DstIP < y.DstIP
		}
		if x.DstPort != y.DstPort {
			return x.DstPort < y.DstPort
		}
		return x.Protocol < y.Protocol
	})
	return out
}

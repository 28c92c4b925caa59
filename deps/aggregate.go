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
//
// Records are first appended to one of 64 partitions by hash, and a
// partition's buffer is merged into its own table when full: each merge
// works on a table small enough to stay in the CPU cache, instead of every
// record missing the cache in one large table.
type Aggregator struct {
	ips   *ipTable
	parts [numParts]partition
	n     int
	// Records that name both ports wait in pend, under their canonical
	// 5-tuple, until resolve decides each conversation's server side
	// (direction.go); eps counts the peers of every endpoint.
	pend        [numParts]ppart
	eps         [numParts]epart
	dir         *dirTable
	direction   Direction
	ambiguous   Ambiguous
	ambExamples []pconv
	// Records counts the records added.
	Records int64
	// Errors holds the malformed lines of every file read so far.
	Errors []ParseError
}

const (
	partBits = 6
	numParts = 1 << partBits
	partBuf  = 1024
)

type partition struct {
	table []conv // power of two, at most 3/4 full
	n     int
	buf   []conv // records not merged yet (count, times as in a record)
}

// NewAggregator returns an empty Aggregator.
func NewAggregator() *Aggregator {
	a := &Aggregator{ips: newIPTable(), dir: newDirTable()}
	for i := range a.parts {
		a.parts[i].table = make([]conv, 64)
		a.parts[i].buf = make([]conv, 0, partBuf)
	}
	return a
}

// add takes one parsed record: one with both ports waits to be paired with
// its reply; one without a source port is taken as the file orients it.
func (a *Aggregator) add(rc *record) {
	a.Records++
	if rc.sport > 0 && !isPortless(rc.proto) {
		a.addPending(rc)
		return
	}
	a.direction.RecordsAsWritten++
	a.addConv(conv{pair: uint64(rc.src)<<32 | uint64(rc.dst), pp: uint32(rc.port)<<8 | uint32(rc.proto) | convUsed,
		count: uint32(min(uint64(max(rc.count, 1)), 1<<32-1)), bytes: rc.bytes, packets: rc.packets, first: secs(rc.first), last: secs(rc.last)})
}

func (a *Aggregator) addConv(c conv) {
	p := &a.parts[convHash(c.pair, c.pp)>>(64-partBits)]
	p.buf = append(p.buf, c)
	if len(p.buf) == partBuf {
		a.n += p.merge()
	}
}

// flush merges every partition's buffer.
func (a *Aggregator) flush() {
	for i := range a.parts {
		a.n += a.parts[i].merge()
	}
}

// merge folds the buffer into the table and returns how many new
// conversations it added.
func (p *partition) merge() int {
	added := 0
	for k := range p.buf {
		r := &p.buf[k]
		if 4*(p.n+1) > 3*len(p.table) {
			p.grow()
		}
		mask := uint64(len(p.table) - 1)
		for i := convHash(r.pair, r.pp) & mask; ; i = (i + 1) & mask {
			c := &p.table[i]
			if c.pp == 0 {
				*c = *r
				p.n++
				added++
				break
			}
			if c.pair == r.pair && c.pp == r.pp {
				c.bytes += r.bytes
				c.packets += r.packets
				c.count = uint32(min(uint64(c.count)+uint64(r.count), 1<<32-1))
				if r.first != 0 && (c.first == 0 || r.first < c.first) {
					c.first = r.first
				}
				c.last = max(c.last, r.last)
				break
			}
		}
	}
	p.buf = p.buf[:0]
	return added
}

func (p *partition) grow() {
	old := p.table
	p.table = make([]conv, 2*len(old))
	mask := uint64(len(p.table) - 1)
	for _, c := range old {
		if c.pp == 0 {
			continue
		}
		i := convHash(c.pair, c.pp) & mask
		for p.table[i].pp != 0 {
			i = (i + 1) & mask
		}
		p.table[i] = c
	}
}

// convSlotBits splits a conversation ref: partition<<convSlotBits | slot.
const convSlotBits = 26

// conv returns the conversation a ref names.
func (a *Aggregator) conv(ref uint32) *conv {
	return &a.parts[ref>>convSlotBits].table[ref&(1<<convSlotBits-1)]
}

// each calls f for every conversation, in table order.
func (a *Aggregator) each(f func(c *conv)) {
	for p := range a.parts {
		t := a.parts[p].table
		for i := range t {
			if t[i].pp != 0 {
				f(&t[i])
			}
		}
	}
}

// ReadFlows parses one flow file (any supported format) into the
// aggregate. Malformed lines are appended to a.Errors; past opts.MaxErrors
// malformed lines in this file it stops with a *TooManyErrorsError.
func (a *Aggregator) ReadFlows(r io.Reader, name string, opts ParseOptions) error {
	return a.readFlows(r, name, opts, -1)
}

func (a *Aggregator) readFlows(r io.Reader, name string, opts ParseOptions, size int64) error {
	p := &parser{file: name, opts: opts, ips: a.ips, dir: a.dir, emit: a.add}
	if size > 0 {
		p.sized = func(lineEst int, bothPorts bool) { a.reserve(size, lineEst, bothPorts) }
	}
	err := p.run(r)
	a.flush()
	a.direction.ICMPReplies += p.icmpReplies
	a.direction.ICMPDropped += p.icmpDropped
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
	var size int64 = -1
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return a.readFlows(f, path, opts, size)
}

// reserve presizes the tables for a file of size bytes with lines of about
// lineEst bytes, so a large file does not rehash its tables six times as
// they grow. Records without a source port are guessed to start a new
// conversation one in eight; records with both ports one in two (a
// request and its reply), most of them from a new ephemeral port. The
// guesses are capped at 2^20 conversations; tables still grow past them.
func (a *Aggregator) reserve(size int64, lineEst int, bothPorts bool) {
	records := size / int64(max(lineEst, 60))
	if bothPorts {
		if a.pend[0].buf == nil {
			a.initPending(min(records/2, 1<<20) / numParts)
		}
		return
	}
	want := min(records/8, 1<<20) / numParts * 4 / 3
	for i := range a.parts {
		p := &a.parts[i]
		if p.n == 0 && int64(len(p.table)) < want {
			size := len(p.table)
			for int64(size) < want {
				size *= 2
			}
			p.table = make([]conv, size)
		}
	}
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
	} else if f.SrcPort > 0 && f.SrcPort <= 65535 {
		rc.sport = int32(f.SrcPort)
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

// Len is the number of distinct conversations, client -> server; read
// every file first (see Flows).
func (a *Aggregator) Len() int {
	a.resolve()
	return a.n
}

// Flows returns the aggregated conversations, client -> server, sorted by
// source, destination, port and protocol. Records that name both ports are
// paired and oriented when Flows, Len or Analyze is first called after
// reading, using everything read so far: read every file first.
func (a *Aggregator) Flows() []Flow {
	a.resolve()
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

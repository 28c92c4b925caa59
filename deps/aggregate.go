package deps

import (
	"fmt"
	"io"
	"os"
	"sort"
)

type flowKey struct {
	src, dst uint32
	port     uint16
	proto    uint8
}

type flowAgg struct {
	bytes, packets, count int64
	first, last           int64
}

// Aggregator accumulates flow records per (source, destination,
// destination port, protocol) as they are parsed, so memory grows with the
// number of distinct conversations, not with the number of records. It is
// not safe for concurrent use.
type Aggregator struct {
	ips   *ipTable
	index map[flowKey]int32
	keys  []flowKey
	aggs  []flowAgg
	// Records counts the records added.
	Records int64
	// Errors holds the malformed lines of every file read so far.
	Errors []ParseError
}

// NewAggregator returns an empty Aggregator.
func NewAggregator() *Aggregator {
	return &Aggregator{ips: newIPTable(), index: make(map[flowKey]int32, 1024)}
}

func (a *Aggregator) add(rc *record) {
	a.Records++
	k := flowKey{src: rc.src, dst: rc.dst, port: uint16(rc.port), proto: rc.proto}
	i, ok := a.index[k]
	if !ok {
		i = int32(len(a.aggs))
		a.index[k] = i
		a.keys = append(a.keys, k)
		a.aggs = append(a.aggs, flowAgg{first: rc.first, last: rc.last})
	}
	g := &a.aggs[i]
	g.bytes += rc.bytes
	g.packets += rc.packets
	g.count += rc.count
	if rc.first != 0 && (g.first == 0 || rc.first < g.first) {
		g.first = rc.first
	}
	if rc.last > g.last {
		g.last = rc.last
	}
}

// ReadFlows parses one flow file (any supported format) into the
// aggregate. Malformed lines are appended to a.Errors; past opts.MaxErrors
// malformed lines in this file it stops with a *TooManyErrorsError.
func (a *Aggregator) ReadFlows(r io.Reader, name string, opts ParseOptions) error {
	p := &parser{file: name, opts: opts, ips: a.ips, emit: a.add}
	err := p.run(r)
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
	return nil
}

// Len is the number of distinct conversations.
func (a *Aggregator) Len() int { return len(a.aggs) }

// Flows returns the aggregated conversations, sorted by source,
// destination, port and protocol.
func (a *Aggregator) Flows() []Flow {
	out := make([]Flow, len(a.aggs))
	for i, k := range a.keys {
		g := a.aggs[i]
		out[i] = Flow{
			SrcIP: a.ips.ip(k.src), DstIP: a.ips.ip(k.dst), DstPort: int(k.port), Protocol: protoName(k.proto),
			Bytes: g.bytes, Packets: g.packets, Count: g.count, FirstSeen: timeOf(g.first), LastSeen: timeOf(g.last),
			SrcName: a.ips.names[k.src], DstName: a.ips.names[k.dst],
		}
	}
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

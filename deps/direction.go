package deps

import (
	"fmt"
	"slices"
)

// Flow exporters (NetFlow v5/v9, IPFIX, nfdump) write one record per
// direction, so every conversation also appears as server:port ->
// client:ephemeral-port. ferry pairs the two records of a conversation by
// its reversed 5-tuple and decides which side is the server, the way flow
// analysers do, from the strongest evidence that tells the sides apart:
//
//  1. the records: a TCP SYN without ACK (flags `....S.`) or an ss
//     SYN-SENT socket marks the client, SYN-RECV the server, an IPFIX
//     biflowDirection column says who initiated;
//  2. listening sockets from ss captures (`ss -ltn`, `ss -tan`): the side
//     that listens on its port, or the other side of a host whose
//     listening sockets are known and do not include its port;
//  3. a well-known port (below 1024) on one side only;
//  4. the port many distinct peers connect to (at least 3, and 3 times
//     as many as the other side's);
//  5. the port ranges: a port outside every OS's ephemeral range serves
//     (Linux 32768-60999, Windows and IANA 49152-65535; the old BSD and
//     Windows XP range 1024-5000 counts as half ephemeral, since MySQL,
//     Oracle and SQL Server listen there);
//  6. more distinct peers on one side at all.
//
// A conversation none of them decides is ambiguous: it makes no edge and is
// reported (Result.Ambiguous) instead of guessed.

// How a conversation's server side was decided (Stats.Direction).
const (
	byRecord = iota
	byListening
	byWellKnown
	byPeers
	byPortRange
	byFewPeers
	ambiguous
	numMethods
)

// Port classes, from the least to the most server-like.
const (
	portEphemeral  = 0 // 32768-65535: the Linux and the Windows/IANA dynamic ranges
	portOldDynamic = 1 // 1024-5000: old BSD and Windows XP clients, and many databases
	portRegistered = 2 // 5001-32767
	portWellKnown  = 3 // 1-1023
)

func portClass(p int) int {
	switch {
	case p >= 32768:
		return portEphemeral
	case p >= 1024 && p <= 5000:
		return portOldDynamic
	case p >= 1024:
		return portRegistered
	case p > 0:
		return portWellKnown
	}
	return portEphemeral // 0: unknown
}

// endpointKey names ip:port/proto in one integer.
func endpointKey(ip uint32, port int, proto uint8) uint64 {
	return uint64(ip)<<24 | uint64(port)<<8 | uint64(proto)
}

// dirTable is what ss captures say about servers: listening endpoints,
// listening ports of hosts whose addresses the capture did not show, and
// the addresses whose listening sockets are all known.
type dirTable struct {
	listen     map[uint64]bool // endpointKey
	listenPort map[uint32]bool // port<<8 | proto, listened on by some host
	covered    map[uint64]bool // ip<<8 | proto: hosts whose every listening socket is in listen
}

func newDirTable() *dirTable {
	return &dirTable{listen: map[uint64]bool{}, listenPort: map[uint32]bool{}, covered: map[uint64]bool{}}
}

// Ambiguous counts the conversations whose server side no evidence
// decided; they make no edge. Examples are the largest few, by bytes.
type Ambiguous struct {
	Conversations int                     `json:"conversations"`
	Records       int64                   `json:"records"`
	Bytes         int64                   `json:"bytes"`
	Examples      []AmbiguousConversation `json:"examples,omitempty"`
}

// AmbiguousConversation is one conversation ferry could not orient: both
// ports ephemeral or both alike, no flags, no listening socket known.
type AmbiguousConversation struct {
	A        string `json:"a"` // ip:port
	B        string `json:"b"`
	ANode    string `json:"aNode,omitempty"` // node id of A's address, once resolved against the inventory
	BNode    string `json:"bNode,omitempty"`
	Protocol string `json:"protocol"`
	Bytes    int64  `json:"bytes"`
	Records  int64  `json:"records"`
}

func (c AmbiguousConversation) String() string {
	name := func(addr, node string) string {
		if node == "" {
			return addr
		}
		return node + " (" + addr + ")"
	}
	return fmt.Sprintf("%s <-> %s %s, %d records, %d bytes", name(c.A, c.ANode), name(c.B, c.BNode), c.Protocol, c.Records, c.Bytes)
}

// maxAmbiguousExamples bounds Ambiguous.Examples.
const maxAmbiguousExamples = 10

// Direction counts how the server side of each conversation was decided.
type Direction struct {
	// RecordsAsWritten are records without a source port (ferry's CSV,
	// NSX exports, ss without ports): the file's direction is taken.
	RecordsAsWritten int64 `json:"recordsAsWritten"`
	// The rest count conversations of records that name both ports.
	Paired      int `json:"paired"`      // seen in both directions, request and reply
	ByRecord    int `json:"byRecord"`    // TCP SYN without ACK, ss socket state, biflowDirection
	ByListening int `json:"byListening"` // ss listening sockets
	ByWellKnown int `json:"byWellKnown"` // a port below 1024 on one side
	ByPeers     int `json:"byPeers"`     // the port many peers connect to
	ByPortRange int `json:"byPortRange"` // one port in an ephemeral range, the other not
	ByFewPeers  int `json:"byFewPeers"`  // a few more peers on one side
	Ambiguous   int `json:"ambiguous"`   // none of them: no edge, see Result.Ambiguous
	// ICMP records: echo replies are turned around, errors (unreachable,
	// time exceeded) dropped: they are no dependency.
	ICMPReplies int `json:"icmpReplies"`
	ICMPDropped int `json:"icmpDropped"`
}

func (d *Direction) add(method int) {
	switch method {
	case byRecord:
		d.ByRecord++
	case byListening:
		d.ByListening++
	case byWellKnown:
		d.ByWellKnown++
	case byPeers:
		d.ByPeers++
	case byPortRange:
		d.ByPortRange++
	case byFewPeers:
		d.ByFewPeers++
	case ambiguous:
		d.Ambiguous++
	}
}

// evidence bits a conversation's records carry (pconv.pp >> 8).
const (
	evAClient = 1 << iota // a record says side a initiated
	evBClient
)

// decide returns whether side a serves, and how that was decided. aPeers
// and bPeers are the distinct peer endpoints of each side's endpoint.
func (d *dirTable) decide(a, b uint32, aPort, bPort int, proto uint8, ev uint8, aPeers, bPeers uint32) (aServes bool, method int) {
	switch ev & (evAClient | evBClient) {
	case evAClient:
		return false, byRecord
	case evBClient:
		return true, byRecord
	}
	if len(d.listen) > 0 || len(d.listenPort) > 0 {
		aL, bL := d.listen[endpointKey(a, aPort, proto)], d.listen[endpointKey(b, bPort, proto)]
		switch {
		case aL && !bL:
			return true, byListening
		case bL && !aL:
			return false, byListening
		case !aL && !bL:
			aC, bC := d.covered[uint64(a)<<8|uint64(proto)], d.covered[uint64(b)<<8|uint64(proto)]
			switch {
			case aC && !bC:
				return false, byListening // a's host listens elsewhere only: a is the client
			case bC && !aC:
				return true, byListening
			}
			aP, bP := d.listenPort[uint32(aPort)<<8|uint32(proto)], d.listenPort[uint32(bPort)<<8|uint32(proto)]
			if aP != bP && !aC && !bC {
				return aP, byListening
			}
		}
	}
	aK, bK := portClass(aPort), portClass(bPort)
	if (aK == portWellKnown) != (bK == portWellKnown) {
		return aK == portWellKnown, byWellKnown
	}
	if aPeers >= 3 && aPeers >= 3*bPeers {
		return true, byPeers
	}
	if bPeers >= 3 && bPeers >= 3*aPeers {
		return false, byPeers
	}
	if aK != bK {
		return aK > bK, byPortRange
	}
	if aPeers != bPeers {
		return aPeers > bPeers, byFewPeers
	}
	return false, ambiguous
}

// icmpKind reads the type of an ICMP or ICMPv6 record from its port field
// (nfdump writes type.code, some exporters type*256+code): echo replies
// are turned around, error messages dropped.
func icmpKind(proto uint8, port []byte) (reply, errorMsg bool) {
	if proto != 1 && proto != 58 {
		return false, false
	}
	t := port
	if i := slices.Index(port, '.'); i >= 0 {
		t = port[:i]
	}
	n, ok := parseUint(t)
	if !ok {
		return false, false
	}
	if len(t) == len(port) && n > 255 {
		n >>= 8
	}
	if proto == 1 {
		return n == 0, n == 3 || n == 4 || n == 5 || n == 11 || n == 12
	}
	return n == 129, n >= 1 && n <= 4
}

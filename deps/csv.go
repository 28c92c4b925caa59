package deps

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// column roles a CSV header can name.
type role int

const (
	colNone role = iota
	colSrcIP
	colDstIP
	colDstPort
	colProto
	colBytes
	colPackets
	colCount
	colFirst
	colLast
	colSrcName
	colDstName
	colSrcPort
	colFlags
	colDirection
	colOutBytes
	colOutPackets
	numRoles
)

// aliases maps a normalised header name (lower case, letters and digits
// only) to its role: ferry's canonical names, NSX-T flow exports and
// nfdump -o csv. When two columns claim a role the first one wins, so
// nfdump's ibyt is used over obyt.
var aliases = map[string]role{
	// ferry canonical: src_ip,dst_ip,dst_port,protocol,bytes,packets,first_seen,last_seen
	"srcip": colSrcIP, "sourceip": colSrcIP, "sourceipaddress": colSrcIP, "sourceaddress": colSrcIP,
	"srcaddr": colSrcIP, "srcaddress": colSrcIP, "sa": colSrcIP, "clientip": colSrcIP,
	"dstip": colDstIP, "destinationip": colDstIP, "destinationipaddress": colDstIP, "destinationaddress": colDstIP,
	"dstaddr": colDstIP, "dstaddress": colDstIP, "destip": colDstIP, "da": colDstIP, "serverip": colDstIP,
	"dstport": colDstPort, "destinationport": colDstPort, "destport": colDstPort, "dp": colDstPort,
	"port": colDstPort, "dport": colDstPort, "serviceport": colDstPort,
	"protocol": colProto, "proto": colProto, "pr": colProto, "ipprotocol": colProto, "l4protocol": colProto,
	"bytes": colBytes, "ibyt": colBytes, "byt": colBytes, "totalbytes": colBytes, "octets": colBytes,
	"packets": colPackets, "ipkt": colPackets, "pkt": colPackets, "pkts": colPackets, "totalpackets": colPackets,
	"count": colCount, "sessioncount": colCount, "sessions": colCount, "flows": colCount, "fl": colCount,
	"flowcount": colCount, "connections": colCount, "connectioncount": colCount,
	"firstseen": colFirst, "ts": colFirst, "start": colFirst, "starttime": colFirst, "flowstart": colFirst, "tstart": colFirst,
	"lastseen": colLast, "te": colLast, "end": colLast, "endtime": colLast, "flowend": colLast, "tend": colLast,
	"source": colSrcName, "sourcename": colSrcName, "srcname": colSrcName, "sourcevm": colSrcName, "srcvm": colSrcName, "sourcevmname": colSrcName,
	"destination": colDstName, "destinationname": colDstName, "dstname": colDstName, "destinationvm": colDstName,
	"dstvm": colDstName, "destinationvmname": colDstName,
	// both directions: the source port pairs a record with its reply
	"srcport": colSrcPort, "sourceport": colSrcPort, "sp": colSrcPort, "sport": colSrcPort,
	"sourcetransportport": colSrcPort, "l4srcport": colSrcPort,
	"flg": colFlags, "flags": colFlags, "tcpflags": colFlags, "tcpcontrolbits": colFlags,
	"biflowdirection": colDirection,
	"obyt":            colOutBytes, "reverseoctetdeltacount": colOutBytes,
	"opkt": colOutPackets, "reversepacketdeltacount": colOutPackets,
}

func normHeader(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// csvParser parses data lines once the header is known.
type csvParser struct {
	*parser
	col      [numRoles]int // index of the column for each role, -1 if absent
	nfields  int
	roles    []role // role of each column, colNone for columns not used
	fields   [][]byte
	scratch  []byte
	rec      record
	skip     bool // the last line parsed is no conversation (an ICMP error)
	swapICMP bool // the line parsed is an echo reply
}

func (p *parser) csvHeader(line int, header []byte) (*csvParser, error) {
	c := &csvParser{parser: p}
	fields, err := splitCSV(header, nil, &c.scratch)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: header: %s", p.file, line, err)
	}
	for i := range c.col {
		c.col[i] = -1
	}
	for i, f := range fields {
		name := strings.TrimPrefix(string(bytes.TrimSpace(f)), "\ufeff")
		if r, ok := aliases[normHeader(name)]; ok && c.col[r] < 0 {
			c.col[r] = i
		}
	}
	c.nfields = len(fields)
	if p.sized != nil {
		p.sized(max(len(header)*3/2, 60), c.col[colSrcPort] >= 0)
	}
	c.roles = make([]role, len(fields))
	for r, i := range c.col {
		if i >= 0 {
			c.roles[i] = role(r)
		}
	}
	var missing []string
	if c.col[colSrcIP] < 0 {
		missing = append(missing, "source IP (src_ip, Source IP, sa)")
	}
	if c.col[colDstIP] < 0 {
		missing = append(missing, "destination IP (dst_ip, Destination IP, da)")
	}
	if c.col[colDstPort] < 0 {
		missing = append(missing, "destination port (dst_port, Destination Port, Port, dp)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s:%d: header has no %s column; see docs/flows-format.md for the accepted names", p.file, line, strings.Join(missing, ", no "))
	}
	return c, nil
}

func (c *csvParser) run(lr *lineReader) error {
	for {
		line, err := lr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read %s: %w", c.file, err)
		}
		if lr.long {
			if err := c.fail(lr.n, "line longer than %d bytes", maxLine); err != nil {
				return err
			}
			continue
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if bytes.HasPrefix(line, []byte("Summary")) {
			return nil // nfdump appends a summary block after the records
		}
		if c.fastLine(line) {
			c.emit(&c.rec)
			continue
		}
		if reason := c.parseLine(line); reason != "" {
			if err := c.fail(lr.n, "%s", reason); err != nil {
				return err
			}
			continue
		}
		if c.skip {
			continue
		}
		c.emit(&c.rec)
	}
}

func (c *csvParser) field(r role) []byte {
	i := c.col[r]
	if i < 0 {
		return nil
	}
	f := c.fields[i]
	if len(f) > 0 && (f[0] == ' ' || f[len(f)-1] == ' ' || f[0] == '\t' || f[len(f)-1] == '\t') {
		return bytes.TrimSpace(f)
	}
	return f
}

// parseLine fills c.rec from one data line, or returns why it cannot.
func (c *csvParser) parseLine(line []byte) string {
	var err error
	c.fields, err = splitCSV(line, c.fields[:0], &c.scratch)
	if err != nil {
		return err.Error()
	}
	if len(c.fields) != c.nfields {
		if len(bytes.TrimSpace(line)) == 0 {
			return "empty line"
		}
		return fmt.Sprintf("%d fields, the header has %d", len(c.fields), c.nfields)
	}
	rc := &c.rec
	*rc = record{}
	c.skip, c.swapICMP = false, false
	var ok bool
	if rc.src, ok = c.ips.intern(c.field(colSrcIP)); !ok {
		return fmt.Sprintf("source IP %s is not an IP address", quote(c.field(colSrcIP)))
	}
	if rc.dst, ok = c.ips.intern(c.field(colDstIP)); !ok {
		return fmt.Sprintf("destination IP %s is not an IP address", quote(c.field(colDstIP)))
	}
	rc.proto = 6
	if f := c.field(colProto); len(f) == 3 && (string(f) == "tcp" || string(f) == "TCP") {
		rc.proto = 6
	} else if len(f) > 0 {
		if rc.proto, ok = parseProto(f); !ok {
			return fmt.Sprintf("protocol %s is neither a name (tcp, udp, icmp) nor a number 0-255", quote(f))
		}
	}
	port := c.field(colDstPort)
	if i := bytes.IndexByte(port, '/'); i >= 0 { // "TCP/443", as NSX services read
		if rc.proto, ok = parseProto(port[:i]); !ok {
			return fmt.Sprintf("destination port %s: unknown protocol", quote(port))
		}
		port = port[i+1:]
	}
	if isPortless(rc.proto) {
		rc.port = 0 // nfdump writes ICMP type.code here
		switch reply, errMsg := icmpKind(rc.proto, port); {
		case errMsg:
			c.skip = true
			c.icmpDropped++
		case reply:
			c.swapICMP = true
		}
	} else if n, ok := parseUint(port); !ok || n > 65535 {
		return fmt.Sprintf("destination port %s is not a number 0-65535", quote(port))
	} else {
		rc.port = int(n)
	}
	if rc.bytes, ok = parseCounter(c.field(colBytes)); !ok {
		return fmt.Sprintf("bytes %s is not a non-negative number", quote(c.field(colBytes)))
	}
	if rc.packets, ok = parseCounter(c.field(colPackets)); !ok {
		return fmt.Sprintf("packets %s is not a non-negative number", quote(c.field(colPackets)))
	}
	if rc.count, ok = parseCounter(c.field(colCount)); !ok {
		return fmt.Sprintf("session count %s is not a non-negative number", quote(c.field(colCount)))
	}
	if rc.count == 0 {
		rc.count = 1
	}
	if f := c.field(colSrcPort); len(f) > 0 && !isPortless(rc.proto) {
		n, ok := parseUint(f)
		if !ok || n > 65535 {
			return fmt.Sprintf("source port %s is not a number 0-65535", quote(f))
		}
		rc.sport = int32(n)
	}
	if f := c.field(colFlags); len(f) > 0 {
		syn, ack, ok := parseTCPFlags(f)
		if !ok {
			return fmt.Sprintf("TCP flags %s are neither letters (.AP.SF, as nfdump writes them) nor a number", quote(f))
		}
		if syn && !ack && rc.proto == 6 {
			rc.hint = hintSrcClient // the client's SYN, never answered in this record
		}
	}
	if f := c.field(colDirection); len(f) > 0 {
		h, ok := parseBiflowDirection(f)
		if !ok {
			return fmt.Sprintf("biflowDirection %s: want 0-3, initiator or reverseInitiator", quote(f))
		}
		if h != hintNone {
			rc.hint = h
		}
	}
	for _, x := range [2]struct {
		r   role
		dst *int64
		say string
	}{{colOutBytes, &rc.bytes, "reverse bytes"}, {colOutPackets, &rc.packets, "reverse packets"}} {
		n, ok := parseCounter(c.field(x.r))
		if !ok {
			return fmt.Sprintf("%s %s is not a non-negative number", x.say, quote(c.field(x.r)))
		}
		*x.dst += n
	}
	if rc.first, ok = parseTime(c.field(colFirst)); !ok {
		return fmt.Sprintf("first seen %s is not a time (RFC 3339, 2006-01-02 15:04:05 or Unix seconds)", quote(c.field(colFirst)))
	}
	if rc.last, ok = parseTime(c.field(colLast)); !ok {
		return fmt.Sprintf("last seen %s is not a time (RFC 3339, 2006-01-02 15:04:05 or Unix seconds)", quote(c.field(colLast)))
	}
	if rc.first != 0 && rc.last != 0 && rc.last < rc.first {
		return "last seen is before first seen"
	}
	rc.srcName, rc.dstName = c.field(colSrcName), c.field(colDstName)
	c.ips.setName(rc.src, rc.srcName)
	c.ips.setName(rc.dst, rc.dstName)
	if c.swapICMP {
		c.swapICMP = false
		c.icmpReplies++
		rc.src, rc.dst = rc.dst, rc.src // an echo reply: the destination pinged
	}
	return ""
}

// parseTCPFlags reads cumulative TCP flags: letters with dots for the
// flags not set (nfdump's ...AP.SF or ....S.; any of CEUAPRSF), or the
// flag byte as a decimal or 0x hex number.
func parseTCPFlags(b []byte) (syn, ack, ok bool) {
	if len(b) > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X') {
		n, err := strconv.ParseUint(string(b[2:]), 16, 16)
		return n&0x02 != 0, n&0x10 != 0, err == nil
	}
	if b[0] >= '0' && b[0] <= '9' {
		n, ok := parseUint(b)
		return n&0x02 != 0, n&0x10 != 0, ok && n < 1<<16
	}
	for _, ch := range b {
		switch ch {
		case 'S':
			syn = true
		case 'A':
			ack = true
		case '.', 'C', 'E', 'U', 'P', 'R', 'F':
		default:
			return false, false, false
		}
	}
	return syn, ack, true
}

// parseBiflowDirection reads IPFIX biflowDirection (RFC 5103): 1 or
// initiator says the source initiated, 2 or reverseInitiator the
// destination; 0 (arbitrary) and 3 (perimeter) say nothing.
func parseBiflowDirection(b []byte) (uint8, bool) {
	switch strings.ToLower(string(b)) {
	case "0", "arbitrary", "3", "perimeter":
		return hintNone, true
	case "1", "initiator":
		return hintSrcClient, true
	case "2", "reverseinitiator":
		return hintSrcServer, true
	}
	return hintNone, false
}

// splitCSV splits one line into fields (RFC 4180 quoting within the line;
// a quoted field cannot span lines). Unquoted fields alias line; quoted
// ones with doubled quotes are unescaped into scratch.
func splitCSV(line []byte, fields [][]byte, scratch *[]byte) ([][]byte, error) {
	*scratch = (*scratch)[:0]
	for {
		if len(line) > 0 && line[0] == '"' {
			i := 1
			escaped := false
			for {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 {
					return fields, fmt.Errorf("unterminated quoted field")
				}
				i += j
				if i+1 < len(line) && line[i+1] == '"' {
					escaped = true
					i += 2
					continue
				}
				break
			}
			f := line[1:i]
			if escaped {
				start := len(*scratch)
				*scratch = append(*scratch, bytes.ReplaceAll(f, []byte(`""`), []byte(`"`))...)
				f = (*scratch)[start:len(*scratch):len(*scratch)]
			}
			fields = append(fields, f)
			rest := line[i+1:]
			if len(rest) == 0 {
				return fields, nil
			}
			if rest[0] != ',' {
				return fields, fmt.Errorf("text after a closing quote in field %d", len(fields))
			}
			line = rest[1:]
			continue
		}
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			return append(fields, line), nil
		}
		fields = append(fields, line[:i])
		line = line[i+1:]
	}
}

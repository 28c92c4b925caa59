package deps

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// record is one parsed line, with addresses already interned.
type record struct {
	src, dst         uint32
	port             int
	sport            int32 // the source port; 0 when the file has none
	proto            uint8
	hint             uint8 // hintSrcClient or hintSrcServer when the record says who initiated
	bytes, packets   int64 // both directions for a biflow record
	count            int64
	first, last      int64 // Unix ns, 0 when unknown
	srcName, dstName []byte
}

// maxLine bounds one line; longer lines are reported and skipped.
const maxLine = 64 << 10

// hints a record gives about who initiated its conversation.
const (
	hintNone      = iota
	hintSrcClient // SYN without ACK, ss SYN-SENT, biflowDirection initiator
	hintSrcServer // ss SYN-RECV, biflowDirection reverseInitiator
)

// parser reads one flow file and calls emit for every good record.
type parser struct {
	file string
	opts ParseOptions
	ips  *ipTable
	dir  *dirTable // listening sockets from ss captures go here
	emit func(*record)
	errs []ParseError
	// sized, if set, is told once the format is known: about how long a
	// line is, and whether records name both ports.
	sized func(lineEst int, bothPorts bool)
	// ICMP echo replies turned around, and ICMP errors dropped.
	icmpReplies, icmpDropped int
}

// fail records a malformed line and says whether parsing must stop.
func (p *parser) fail(line int, format string, args ...any) error {
	p.errs = append(p.errs, ParseError{File: p.file, Line: line, Reason: fmt.Sprintf(format, args...)})
	if len(p.errs) > p.opts.MaxErrors {
		return &TooManyErrorsError{File: p.file, Max: p.opts.MaxErrors, Errors: p.errs}
	}
	return nil
}

// lineReader yields lines without copying them; a line is valid until the
// next call.
type lineReader struct {
	r    *bufio.Reader
	n    int
	long bool // the last line was over maxLine and was cut
}

func (lr *lineReader) next() ([]byte, error) {
	lr.long = false
	line, err := lr.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.long = true
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = lr.r.ReadSlice('\n')
		}
		line = nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(line) == 0 && !lr.long && errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	lr.n++
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	return line, nil
}

// run detects the format from the first significant line and parses.
func (p *parser) run(r io.Reader) error {
	lr := &lineReader{r: bufio.NewReaderSize(r, maxLine)}
	for {
		line, err := lr.next()
		if err == io.EOF {
			return nil // empty file: no flows
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", p.file, err)
		}
		if lr.long {
			return fmt.Errorf("%s:%d: first line is longer than %d bytes: not a flow file", p.file, lr.n, maxLine)
		}
		t := bytes.TrimSpace(line)
		if len(t) == 0 || (t[0] == '#' && !isSSDirective(t)) {
			continue
		}
		if isSSLine(t) {
			s := &ssParser{parser: p}
			return s.run(lr, t)
		}
		c, err := p.csvHeader(lr.n, line)
		if err != nil {
			return err
		}
		return c.run(lr)
	}
}

// ParseFlows reads one flow file (any supported format; see
// docs/flows-format.md) into records, one per line, each turned client ->
// server where the record itself tells (TCP flags, biflowDirection, ss
// socket states and the file's listening sockets, a well-known or
// non-ephemeral port against an ephemeral one) and as written otherwise.
// It neither pairs a request with its reply nor uses peer counts: an
// Aggregator does. name labels errors. Malformed lines come back as
// ParseErrors until there are more than opts.MaxErrors of them; then the
// error is a *TooManyErrorsError.
func ParseFlows(r io.Reader, name string, opts ParseOptions) ([]Flow, []ParseError, error) {
	ips := newIPTable()
	var recs []record
	nameOf := func(id uint32, raw []byte) string {
		if len(raw) == 0 || string(raw) == ips.ip(id) {
			return ips.names[id]
		}
		return string(raw)
	}
	var names [][2]string
	p := &parser{file: name, opts: opts, ips: ips, dir: newDirTable(), emit: func(rc *record) {
		recs = append(recs, *rc)
		names = append(names, [2]string{nameOf(rc.src, rc.srcName), nameOf(rc.dst, rc.dstName)})
	}}
	err := p.run(r)
	flows := make([]Flow, len(recs))
	for i := range recs {
		rc := &recs[i]
		srcName, dstName := names[i][0], names[i][1]
		if rc.sport > 0 {
			ev := uint8(0)
			switch rc.hint {
			case hintSrcClient:
				ev = evAClient
			case hintSrcServer:
				ev = evBClient
			}
			if srcServes, how := p.dir.decide(rc.src, rc.dst, int(rc.sport), rc.port, rc.proto, ev, 1, 1); how != ambiguous && srcServes {
				rc.src, rc.dst, rc.sport, rc.port = rc.dst, rc.src, int32(rc.port), int(rc.sport)
				srcName, dstName = dstName, srcName
			}
		}
		flows[i] = Flow{
			SrcIP: ips.ip(rc.src), DstIP: ips.ip(rc.dst), SrcPort: int(rc.sport), DstPort: rc.port, Protocol: protoName(rc.proto),
			Bytes: rc.bytes, Packets: rc.packets, Count: rc.count,
			FirstSeen: timeOf(rc.first), LastSeen: timeOf(rc.last),
			SrcName: srcName, DstName: dstName,
		}
	}
	return flows, p.errs, err
}

// ParseFlowsFile is ParseFlows on a file; errors name the path.
func ParseFlowsFile(path string, opts ParseOptions) ([]Flow, []ParseError, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open flow file: %w", err)
	}
	defer f.Close()
	return ParseFlows(f, path, opts)
}

// quote shortens a value for an error message.
func quote(b []byte) string {
	if len(b) > 64 {
		return strconv.Quote(string(b[:64])) + "..."
	}
	return strconv.Quote(string(b))
}

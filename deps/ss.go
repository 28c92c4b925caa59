package deps

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ss -tn captures (docs/flows-format.md): the output of `ss -tln` and
// `ss -tn` (or `ss -tan`) concatenated, optionally with a directive line
// `# ferry-ss host=NAME time=RFC3339` before each block (one host). Every
// connection is a record local -> peer with both ports, paired with the
// peer's own socket when the capture has it (loopback, or both hosts
// captured) and oriented like any flow record (direction.go): SYN-SENT and
// SYN-RECV say who initiated; LISTEN lines go to the listening table, for
// the flows of every file.

var ssStates = map[string]bool{
	"ESTAB": true, "LISTEN": true, "SYN-SENT": true, "SYN-RECV": true, "FIN-WAIT-1": true, "FIN-WAIT-2": true,
	"TIME-WAIT": true, "CLOSE-WAIT": true, "LAST-ACK": true, "CLOSING": true, "CLOSED": true, "UNCONN": true,
}

func isSSDirective(t []byte) bool { return bytes.HasPrefix(t, []byte("# ferry-ss")) }

func isSSLine(t []byte) bool {
	if isSSDirective(t) {
		return true
	}
	f := bytes.Fields(t)
	if len(f) == 0 {
		return false
	}
	first := string(f[0])
	if first == "State" || first == "Netid" || ssStates[first] {
		return true
	}
	return (first == "tcp" || first == "udp") && len(f) > 1 && ssStates[string(f[1])]
}

type ssParser struct {
	*parser
	host string
	at   int64
	// the current block (one host): its local addresses, its wildcard
	// listening ports (port<<8 | proto), whether it has LISTEN lines
	locals   map[uint32]bool
	wildcard map[uint32]bool
	sawList  bool
}

func (s *ssParser) run(lr *lineReader, first []byte) error {
	s.locals, s.wildcard = map[uint32]bool{}, map[uint32]bool{}
	if err := s.line(lr.n, first); err != nil {
		return err
	}
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", s.file, err)
		}
		if lr.long {
			if err := s.fail(lr.n, "line longer than %d bytes", maxLine); err != nil {
				return err
			}
			continue
		}
		if err := s.line(lr.n, bytes.TrimSpace(line)); err != nil {
			return err
		}
	}
	s.endBlock()
	return nil
}

// endBlock puts what the block's LISTEN lines say into the listening
// table: a wildcard listen is on each of the host's local addresses (or on
// the port of an unknown host, when the block shows none), and the host's
// addresses are covered: a port not listed does not listen.
func (s *ssParser) endBlock() {
	if s.dir != nil && s.sawList {
		for pp := range s.wildcard {
			if len(s.locals) == 0 {
				s.dir.listenPort[pp] = true
			}
			for ip := range s.locals {
				s.dir.listen[endpointKey(ip, int(pp>>8), uint8(pp))] = true
			}
		}
		for ip := range s.locals {
			s.dir.covered[uint64(ip)<<8|6] = true
		}
	}
	clear(s.locals)
	clear(s.wildcard)
	s.sawList = false
}

func (s *ssParser) line(n int, t []byte) error {
	if len(t) == 0 {
		return nil
	}
	if t[0] == '#' {
		if isSSDirective(t) {
			s.endBlock()
			if reason := s.directive(string(t)); reason != "" {
				return s.fail(n, "%s", reason)
			}
		}
		return nil
	}
	f := bytes.Fields(t)
	if string(f[0]) == "State" || string(f[0]) == "Netid" {
		return nil // a header line, possibly one per block
	}
	proto := uint8(6)
	if string(f[0]) == "tcp" || string(f[0]) == "udp" {
		if string(f[0]) == "udp" {
			proto = 17
		}
		f = f[1:]
	}
	if len(f) < 5 {
		return s.fail(n, "ss line has %d fields, want State Recv-Q Send-Q Local:Port Peer:Port", len(f))
	}
	state := string(f[0])
	if !ssStates[state] {
		return s.fail(n, "unknown ss state %s", quote(f[0]))
	}
	if _, ok := parseUint(f[1]); !ok {
		return s.fail(n, "Recv-Q %s is not a number", quote(f[1]))
	}
	if _, ok := parseUint(f[2]); !ok {
		return s.fail(n, "Send-Q %s is not a number", quote(f[2]))
	}
	if state == "UNCONN" {
		return nil // unconnected UDP sockets carry no peer
	}
	local, lport, wild, reason := s.endpoint(f[3], state == "LISTEN")
	if reason != "" {
		return s.fail(n, "local address: %s", reason)
	}
	if state == "LISTEN" {
		if proto != 6 {
			return nil // ss -l of UDP shows UNCONN; a LISTEN line is TCP
		}
		s.sawList = true
		if wild {
			s.wildcard[uint32(lport)<<8|uint32(proto)] = true
		} else if s.dir != nil {
			s.dir.listen[endpointKey(local, lport, proto)] = true
			s.locals[local] = true
		}
		return nil
	}
	peer, pport, _, reason := s.endpoint(f[4], false)
	if reason != "" {
		return s.fail(n, "peer address: %s", reason)
	}
	if s.host != "" {
		s.ips.setName(local, []byte(s.host))
	}
	s.locals[local] = true
	rc := record{src: local, dst: peer, sport: int32(lport), port: pport, proto: proto, count: 1, first: s.at, last: s.at}
	switch state {
	case "SYN-SENT":
		rc.hint = hintSrcClient
	case "SYN-RECV":
		rc.hint = hintSrcServer
	}
	if lport == 0 || pport == 0 {
		rc.sport = 0 // no pairing without both ports; taken as written
	}
	s.emit(&rc)
	return nil
}

// endpoint parses ADDR:PORT, [V6]:PORT or V6%zone:PORT. A wildcard address
// (*, 0.0.0.0, [::]) is allowed only for listening sockets; wild says it
// is one.
func (s *ssParser) endpoint(b []byte, listening bool) (id uint32, portNum int, wild bool, reason string) {
	i := bytes.LastIndexByte(b, ':')
	if i <= 0 {
		return 0, 0, false, fmt.Sprintf("%s is not ADDRESS:PORT", quote(b))
	}
	host, port := b[:i], b[i+1:]
	p, ok := parseUint(port)
	if len(port) > 0 && port[0] == '*' && listening {
		p, ok = 0, true
	}
	if !ok || p > 65535 {
		return 0, 0, false, fmt.Sprintf("port %s is not a number 0-65535", quote(port))
	}
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if j := bytes.IndexByte(host, '%'); j >= 0 {
		host = host[:j]
	}
	if listening {
		switch string(host) {
		case "*", "0.0.0.0", "::":
			return 0, int(p), true, ""
		}
	}
	id, ok = s.ips.intern(host)
	if !ok {
		if listening {
			return 0, int(p), true, "" // an interface name (0.0.0.0%lo) or the like: any address
		}
		return 0, 0, false, fmt.Sprintf("%s is not an IP address", quote(host))
	}
	return id, int(p), false, ""
}

func (s *ssParser) directive(t string) string {
	for _, kv := range strings.Fields(strings.TrimPrefix(t, "# ferry-ss")) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Sprintf("directive field %q is not key=value", kv)
		}
		switch k {
		case "host":
			s.host = v
		case "time":
			ns, ok := parseTime([]byte(v))
			if !ok {
				return fmt.Sprintf("directive time %q is not RFC 3339", v)
			}
			s.at = ns
		default:
			return fmt.Sprintf("unknown directive key %q (want host or time)", k)
		}
	}
	return ""
}

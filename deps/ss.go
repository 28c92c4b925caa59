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
// `# ferry-ss host=NAME time=RFC3339` before each block. LISTEN lines say
// which local ports are served; every other connection is inbound when its
// local port is listened on and outbound otherwise. Without LISTEN lines,
// the side with the well-known (below 32768) or, failing that, lower port
// is the server.

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

type ssConn struct {
	line                int
	proto               uint8
	local, peer         uint32
	localPort, peerPort int
	synSent             bool
	at                  int64
}

type ssParser struct {
	*parser
	listen  map[int]bool // local ports listened on
	conns   []ssConn
	host    string
	at      int64
	sawList bool
}

func (s *ssParser) run(lr *lineReader, first []byte) error {
	s.listen = map[int]bool{}
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
	for i := range s.conns {
		s.emitConn(&s.conns[i])
	}
	return nil
}

func (s *ssParser) line(n int, t []byte) error {
	if len(t) == 0 {
		return nil
	}
	if t[0] == '#' {
		if isSSDirective(t) {
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
	local, lport, reason := s.endpoint(f[3], state == "LISTEN")
	if reason != "" {
		return s.fail(n, "local address: %s", reason)
	}
	if state == "LISTEN" {
		s.sawList = true
		s.listen[lport] = true
		return nil
	}
	peer, pport, reason := s.endpoint(f[4], false)
	if reason != "" {
		return s.fail(n, "peer address: %s", reason)
	}
	if s.host != "" {
		s.ips.setName(local, []byte(s.host))
	}
	s.conns = append(s.conns, ssConn{line: n, proto: proto, local: local, peer: peer, localPort: lport, peerPort: pport,
		synSent: state == "SYN-SENT", at: s.at})
	return nil
}

// endpoint parses ADDR:PORT, [V6]:PORT or V6%zone:PORT. A wildcard address
// (*, 0.0.0.0, [::]) is allowed only for listening sockets.
func (s *ssParser) endpoint(b []byte, listening bool) (uint32, int, string) {
	i := bytes.LastIndexByte(b, ':')
	if i <= 0 {
		return 0, 0, fmt.Sprintf("%s is not ADDRESS:PORT", quote(b))
	}
	host, port := b[:i], b[i+1:]
	p, ok := parseUint(port)
	if len(port) > 0 && port[0] == '*' && listening {
		p, ok = 0, true
	}
	if !ok || p > 65535 {
		return 0, 0, fmt.Sprintf("port %s is not a number 0-65535", quote(port))
	}
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if j := bytes.IndexByte(host, '%'); j >= 0 {
		host = host[:j]
	}
	if listening {
		return 0, int(p), "" // which local address listens does not matter
	}
	id, ok := s.ips.intern(host)
	if !ok {
		return 0, 0, fmt.Sprintf("%s is not an IP address", quote(host))
	}
	return id, int(p), ""
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

func (s *ssParser) emitConn(c *ssConn) {
	localServes := false
	switch {
	case c.synSent:
		localServes = false
	case s.sawList:
		localServes = s.listen[c.localPort]
	case c.localPort < 32768 && c.peerPort >= 32768:
		localServes = true
	case c.peerPort < 32768 && c.localPort >= 32768:
		localServes = false
	default:
		localServes = c.localPort < c.peerPort
	}
	rc := record{proto: c.proto, count: 1, first: c.at, last: c.at}
	if localServes {
		rc.src, rc.dst, rc.port = c.peer, c.local, c.localPort
	} else {
		rc.src, rc.dst, rc.port = c.local, c.peer, c.peerPort
	}
	s.emit(&rc)
}

package gcpfake

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSServer answers real DNS queries, over UDP and TCP on one loopback
// port, from the fake's Cloud DNS managed zones, as Cloud DNS's name
// servers do: authoritative answers with each record set's TTL, a CNAME
// followed through the zones served, NXDOMAIN and NODATA with the zone's
// SOA, REFUSED for names outside every zone, a weighted round robin
// routing policy answered by weight. So a client that resolves a name
// (a Go net.Resolver from Resolver, dig -p PORT @127.0.0.1) follows what
// ferry changes through the Cloud DNS API.
type DNSServer struct {
	s        *Server
	projects []string
	udp      net.PacketConn
	tcp      net.Listener
	wg       sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
}

// ServeDNS starts a DNS server on addr (default 127.0.0.1:0: a free port,
// the same for UDP and TCP). With projects it answers only from their
// zones; otherwise from every project's (the first zone by project and
// name wins when two hold the same DNS name).
func (s *Server) ServeDNS(addr string, projects ...string) (*DNSServer, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	d := &DNSServer{s: s, projects: projects, conns: map[net.Conn]bool{}}
	var err error
	for range 20 { // a free UDP port may be taken for TCP: try another
		if d.udp, err = net.ListenPacket("udp", addr); err != nil {
			return nil, fmt.Errorf("gcpfake: dns: listen on udp %s: %w", addr, err)
		}
		if d.tcp, err = net.Listen("tcp", d.udp.LocalAddr().String()); err == nil {
			break
		}
		d.udp.Close()
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			return nil, fmt.Errorf("gcpfake: dns: listen on tcp %s: %w", addr, err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("gcpfake: dns: no port free for both udp and tcp: %w", err)
	}
	d.wg.Add(2)
	go d.serveUDP()
	go d.serveTCP()
	return d, nil
}

// Addr is the server's host:port (UDP and TCP).
func (d *DNSServer) Addr() string { return d.udp.LocalAddr().String() }

// Resolver is Go's own DNS resolver (the pure Go one, as on any host
// without cgo) asking only this server, over UDP and, for truncated
// answers, TCP.
func (d *DNSServer) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, network, d.Addr())
	}}
}

// Close stops serving and waits for the server's goroutines.
func (d *DNSServer) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	for c := range d.conns {
		c.Close()
	}
	d.mu.Unlock()
	err := errors.Join(d.udp.Close(), d.tcp.Close())
	d.wg.Wait()
	return err
}

func (d *DNSServer) serveUDP() {
	defer d.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := d.udp.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if out := d.answer(buf[:n], true); out != nil {
			d.udp.WriteTo(out, from)
		}
	}
}

func (d *DNSServer) serveTCP() {
	defer d.wg.Done()
	for {
		c, err := d.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			c.Close()
			return
		}
		d.conns[c] = true
		d.wg.Add(1)
		d.mu.Unlock()
		go d.serveConn(c)
	}
}

// serveConn answers length-prefixed queries until the client closes or is
// idle for 10 s (RFC 7766).
func (d *DNSServer) serveConn(c net.Conn) {
	defer func() {
		c.Close()
		d.mu.Lock()
		delete(d.conns, c)
		d.mu.Unlock()
		d.wg.Done()
	}()
	for {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		out := d.answer(q, false)
		if out == nil {
			return
		}
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...)); err != nil {
			return
		}
	}
}

// answer builds the response to one query message; nil drops it (not a
// query at all).
func (d *DNSServer) answer(query []byte, udp bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil
	}
	resp := dnsmessage.Message{Header: dnsmessage.Header{ID: h.ID, Response: true, OpCode: h.OpCode,
		RecursionDesired: h.RecursionDesired, RCode: dnsmessage.RCodeFormatError}}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return pack(resp)
	}
	resp.Questions = qs
	limit, edns := 512, false
	if err := p.SkipAllAnswers(); err == nil {
		if err := p.SkipAllAuthorities(); err == nil {
			for {
				rh, err := p.AdditionalHeader()
				if err != nil {
					break
				}
				if rh.Type == dnsmessage.TypeOPT {
					edns, limit = true, min(max(int(rh.Class), 512), 4096)
				}
				p.SkipAdditional()
			}
		}
	}
	if h.OpCode != 0 {
		resp.RCode = dnsmessage.RCodeNotImplemented
	} else {
		d.resolve(&resp, qs[0])
	}
	if edns {
		var opt dnsmessage.ResourceHeader
		opt.SetEDNS0(4096, dnsmessage.RCodeSuccess, false)
		resp.Additionals = append(resp.Additionals, dnsmessage.Resource{Header: opt, Body: &dnsmessage.OPTResource{}})
	}
	out := pack(resp)
	if udp && len(out) > limit {
		// Too big for the client's buffer: the question alone, truncated,
		// and the client asks again over TCP.
		resp.Truncated = true
		resp.Answers, resp.Authorities = nil, nil
		out = pack(resp)
	}
	return out
}

func pack(m dnsmessage.Message) []byte {
	b, err := m.Pack()
	if err != nil {
		m.Answers, m.Authorities, m.Additionals = nil, nil, nil
		m.RCode = dnsmessage.RCodeServerFailure
		b, _ = m.Pack()
	}
	return b
}

package gcpfake

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSAnswer is one DNS response as a test reads it: what Go's net.Resolver
// does not show, the TTLs and the response code.
type DNSAnswer struct {
	RCode         string // e.g. "RCodeSuccess", "RCodeNameError"
	Authoritative bool
	Records       []DNSRR
}

// DNSRR is one answer record.
type DNSRR struct {
	Name string
	Type string // A, AAAA, CNAME, ...
	TTL  uint32
	Data string // the address or target name
}

// QueryDNS sends one query for name and type typ ("A", "AAAA", "CNAME",
// "TXT", "SOA", ...) to a DNS server (host:port) over UDP and reads its
// answer section.
func QueryDNS(ctx context.Context, server, name, typ string) (DNSAnswer, error) {
	t, ok := map[string]dnsmessage.Type{"A": dnsmessage.TypeA, "AAAA": dnsmessage.TypeAAAA, "CNAME": dnsmessage.TypeCNAME,
		"TXT": dnsmessage.TypeTXT, "SOA": dnsmessage.TypeSOA, "NS": dnsmessage.TypeNS, "MX": dnsmessage.TypeMX,
		"SRV": dnsmessage.TypeSRV, "PTR": dnsmessage.TypePTR}[typ]
	if !ok {
		return DNSAnswer{}, fmt.Errorf("query %s %s: type not supported here", name, typ)
	}
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return DNSAnswer{}, fmt.Errorf("query %s: %w", name, err)
	}
	id := uint16(rand.Uint32())
	q, err := (&dnsmessage.Message{Header: dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: n, Type: t, Class: dnsmessage.ClassINET}}}).Pack()
	if err != nil {
		return DNSAnswer{}, err
	}
	var dl net.Dialer
	c, err := dl.DialContext(ctx, "udp", server)
	if err != nil {
		return DNSAnswer{}, err
	}
	defer c.Close()
	dl2, ok := ctx.Deadline()
	if !ok {
		dl2 = time.Now().Add(5 * time.Second)
	}
	c.SetDeadline(dl2)
	if _, err := c.Write(q); err != nil {
		return DNSAnswer{}, err
	}
	buf := make([]byte, 65535)
	for {
		k, err := c.Read(buf)
		if err != nil {
			return DNSAnswer{}, fmt.Errorf("query %s %s at %s: %w", name, typ, server, err)
		}
		var m dnsmessage.Message
		if err := m.Unpack(buf[:k]); err != nil || m.ID != id || !m.Response {
			continue
		}
		a := DNSAnswer{RCode: m.RCode.String(), Authoritative: m.Authoritative}
		for _, r := range m.Answers {
			rr := DNSRR{Name: r.Header.Name.String(), Type: r.Header.Type.String()[len("Type"):], TTL: r.Header.TTL}
			switch b := r.Body.(type) {
			case *dnsmessage.AResource:
				rr.Data = netip.AddrFrom4(b.A).String()
			case *dnsmessage.AAAAResource:
				rr.Data = netip.AddrFrom16(b.AAAA).String()
			case *dnsmessage.CNAMEResource:
				rr.Data = b.CNAME.String()
			case *dnsmessage.TXTResource:
				var q []string
				for _, x := range b.TXT {
					q = append(q, strconv.Quote(x))
				}
				rr.Data = strings.Join(q, " ")
			default:
				rr.Data = r.Body.GoString()
			}
			a.Records = append(a.Records, rr)
		}
		return a, nil
	}
}

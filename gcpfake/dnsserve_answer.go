package gcpfake

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// How DNSServer answers: from the record sets stored by the Cloud DNS API,
// as an authoritative server of those zones.

// dnsZone is one served managed zone: its DNS name and record sets by
// lower-case name, then type.
type dnsZone struct {
	dnsName string
	rrsets  map[string]map[string]map[string]any
}

// zones copies the served zones from the store.
func (d *DNSServer) zones() []dnsZone {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	byKey := map[string]*dnsZone{}
	var keys []string
	for k, o := range d.s.state.Objects {
		if o.Kind != "managedZones" || (len(d.projects) > 0 && !containsString(d.projects, o.Project)) {
			continue
		}
		dn, _ := o.Body["dnsName"].(string)
		byKey[o.Project+"/"+o.Name] = &dnsZone{dnsName: strings.ToLower(dn), rrsets: map[string]map[string]map[string]any{}}
		keys = append(keys, k)
	}
	for _, o := range d.s.state.Objects {
		z := byKey[o.Project+"/"+o.Parent]
		if o.Kind != "rrsets" || z == nil {
			continue
		}
		name, _ := o.Body["name"].(string)
		typ, _ := o.Body["type"].(string)
		name = strings.ToLower(name)
		if z.rrsets[name] == nil {
			z.rrsets[name] = map[string]map[string]any{}
		}
		z.rrsets[name][typ] = deepCopy(o.Body).(map[string]any)
	}
	sort.Strings(keys)
	out := make([]dnsZone, 0, len(keys))
	for _, k := range keys {
		o := d.s.state.Objects[k]
		out = append(out, *byKey[o.Project+"/"+o.Name])
	}
	return out
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// zoneFor is the served zone with the longest DNS name holding name.
func zoneFor(zones []dnsZone, name string) *dnsZone {
	var best *dnsZone
	for i := range zones {
		z := &zones[i]
		if (name == z.dnsName || strings.HasSuffix(name, "."+z.dnsName) || z.dnsName == ".") &&
			(best == nil || len(z.dnsName) > len(best.dnsName)) {
			best = z
		}
	}
	return best
}

func (d *DNSServer) resolve(resp *dnsmessage.Message, q dnsmessage.Question) {
	zones := d.zones()
	name := strings.ToLower(q.Name.String())
	z := zoneFor(zones, name)
	if z == nil {
		resp.RCode = dnsmessage.RCodeRefused
		return
	}
	resp.Authoritative = true
	resp.RCode = dnsmessage.RCodeSuccess
	owner := q.Name
	for hop := 0; hop < 8; hop++ {
		sets := z.rrsets[name]
		if cn := sets["CNAME"]; cn != nil && q.Type != dnsmessage.TypeCNAME {
			rs := records(owner, cn)
			resp.Answers = append(resp.Answers, rs...)
			if len(rs) == 0 {
				return
			}
			target := rs[0].Body.(*dnsmessage.CNAMEResource).CNAME
			next := zoneFor(zones, strings.ToLower(target.String()))
			if next == nil {
				return // the client's resolver follows it elsewhere
			}
			z, name, owner = next, strings.ToLower(target.String()), target
			continue
		}
		for _, typ := range typesAsked(q.Type, sets) {
			resp.Answers = append(resp.Answers, records(owner, sets[typ])...)
		}
		if len(resp.Answers) > 0 {
			return
		}
		if len(sets) == 0 && !hasBelow(z, name) {
			resp.RCode = dnsmessage.RCodeNameError
		}
		if soa := z.rrsets[z.dnsName]["SOA"]; soa != nil {
			zn, err := dnsmessage.NewName(z.dnsName)
			if err == nil {
				for _, r := range records(zn, soa) {
					// A negative answer is cached for min(SOA TTL, minimum).
					s := r.Body.(*dnsmessage.SOAResource)
					r.Header.TTL = min(r.Header.TTL, s.MinTTL)
					resp.Authorities = append(resp.Authorities, r)
				}
			}
		}
		return
	}
}

// typesAsked lists the record types of sets a query of type t answers.
func typesAsked(t dnsmessage.Type, sets map[string]map[string]any) []string {
	if t == dnsmessage.TypeALL {
		var all []string
		for typ := range sets {
			all = append(all, typ)
		}
		sort.Strings(all)
		return all
	}
	name := strings.TrimPrefix(t.String(), "Type")
	if sets[name] == nil {
		return nil
	}
	return []string{name}
}

// hasBelow reports an empty non-terminal: a name with no records of its
// own but records below it exists (NODATA, not NXDOMAIN).
func hasBelow(z *dnsZone, name string) bool {
	for n := range z.rrsets {
		if strings.HasSuffix(n, "."+name) {
			return true
		}
	}
	return false
}

// records turns one stored record set into DNS resources, the routing
// policy applied: weighted round robin picks one item by weight, geo the
// first. Data ferry cannot encode is left out.
func records(owner dnsmessage.Name, rr map[string]any) []dnsmessage.Resource {
	typ, _ := rr["type"].(string)
	ttl := toInt(rr["ttl"])
	datas := toSlice(rr["rrdatas"])
	if rp, ok := rr["routingPolicy"].(map[string]any); ok {
		datas = policyData(rp)
	}
	var out []dnsmessage.Resource
	for _, x := range datas {
		s, _ := x.(string)
		body, t, err := rdata(typ, s)
		if err != nil {
			continue
		}
		out = append(out, dnsmessage.Resource{Header: dnsmessage.ResourceHeader{Name: owner, Type: t,
			Class: dnsmessage.ClassINET, TTL: uint32(max(ttl, 0))}, Body: body})
	}
	return out
}

func policyData(rp map[string]any) []any {
	if wrr, ok := rp["wrr"].(map[string]any); ok {
		items := toSlice(wrr["items"])
		var total float64
		for _, it := range items {
			w, _ := it.(map[string]any)["weight"].(float64)
			total += max(w, 0)
		}
		if total <= 0 {
			return nil
		}
		pick := rand.Float64() * total
		for _, it := range items {
			m := it.(map[string]any)
			w, _ := m["weight"].(float64)
			if pick < max(w, 0) {
				return toSlice(m["rrdatas"])
			}
			pick -= max(w, 0)
		}
		return toSlice(items[len(items)-1].(map[string]any)["rrdatas"])
	}
	if geo, ok := rp["geo"].(map[string]any); ok {
		if items := toSlice(geo["items"]); len(items) > 0 {
			m, _ := items[0].(map[string]any)
			return toSlice(m["rrdatas"])
		}
	}
	return nil
}

// rdata parses one rrdata in presentation format.
func rdata(typ, s string) (dnsmessage.ResourceBody, dnsmessage.Type, error) {
	f := strings.Fields(s)
	num := func(i int, bits int) uint64 {
		if i >= len(f) {
			return 0
		}
		n, _ := strconv.ParseUint(f[i], 10, bits)
		return n
	}
	name := func(i int) (dnsmessage.Name, error) {
		if i >= len(f) {
			return dnsmessage.Name{}, fmt.Errorf("%s rdata %q: missing field", typ, s)
		}
		return dnsmessage.NewName(f[i])
	}
	switch typ {
	case "A":
		ip := net.ParseIP(s).To4()
		if ip == nil {
			return nil, 0, fmt.Errorf("rdata %q is not an IPv4 address", s)
		}
		return &dnsmessage.AResource{A: [4]byte(ip)}, dnsmessage.TypeA, nil
	case "AAAA":
		ip := net.ParseIP(s)
		if ip == nil || ip.To4() != nil {
			return nil, 0, fmt.Errorf("rdata %q is not an IPv6 address", s)
		}
		return &dnsmessage.AAAAResource{AAAA: [16]byte(ip.To16())}, dnsmessage.TypeAAAA, nil
	case "CNAME", "NS", "PTR":
		n, err := name(0)
		if err != nil {
			return nil, 0, err
		}
		switch typ {
		case "CNAME":
			return &dnsmessage.CNAMEResource{CNAME: n}, dnsmessage.TypeCNAME, nil
		case "NS":
			return &dnsmessage.NSResource{NS: n}, dnsmessage.TypeNS, nil
		}
		return &dnsmessage.PTRResource{PTR: n}, dnsmessage.TypePTR, nil
	case "MX":
		n, err := name(1)
		if err != nil {
			return nil, 0, err
		}
		return &dnsmessage.MXResource{Pref: uint16(num(0, 16)), MX: n}, dnsmessage.TypeMX, nil
	case "SRV":
		n, err := name(3)
		if err != nil {
			return nil, 0, err
		}
		return &dnsmessage.SRVResource{Priority: uint16(num(0, 16)), Weight: uint16(num(1, 16)), Port: uint16(num(2, 16)), Target: n},
			dnsmessage.TypeSRV, nil
	case "SOA":
		ns, err := name(0)
		if err != nil {
			return nil, 0, err
		}
		mbox, err := name(1)
		if err != nil {
			return nil, 0, err
		}
		return &dnsmessage.SOAResource{NS: ns, MBox: mbox, Serial: uint32(num(2, 32)), Refresh: uint32(num(3, 32)),
			Retry: uint32(num(4, 32)), Expire: uint32(num(5, 32)), MinTTL: uint32(num(6, 32))}, dnsmessage.TypeSOA, nil
	case "TXT":
		var parts []string
		for _, x := range txtStrings(s) {
			for len(x) > 255 { // one character-string holds 255 bytes
				parts, x = append(parts, x[:255]), x[255:]
			}
			parts = append(parts, x)
		}
		return &dnsmessage.TXTResource{TXT: parts}, dnsmessage.TypeTXT, nil
	}
	return nil, 0, fmt.Errorf("type %s is not served", typ)
}

// txtStrings splits TXT rrdata: quoted strings (with \" and \\ escapes),
// or one unquoted string.
func txtStrings(s string) []string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, `"`) {
		return []string{s}
	}
	var out []string
	var cur strings.Builder
	in, esc := false, false
	for _, c := range s {
		switch {
		case esc:
			cur.WriteRune(c)
			esc = false
		case c == '\\' && in:
			esc = true
		case c == '"':
			if in {
				out = append(out, cur.String())
				cur.Reset()
			}
			in = !in
		case in:
			cur.WriteRune(c)
		}
	}
	return out
}

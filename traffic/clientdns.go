package traffic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"google.golang.org/api/dns/v1"

	"github.com/ferrymigrate/ferry/plan"
)

// Client names: the DNS names clients reach an app by today (the
// datacenter VIP's record), moved onto the new path at cutover. Prepare
// lowers their TTL and says how long clients may still hold the old one;
// PointAt publishes the app's serving addresses; Restore puts the original
// addresses back; Finalize returns the original TTL. Each makes at most
// one Cloud DNS change per name, and none when the record already is as
// wanted, so every operation can be retried.

// ClientDNSAPI is the part of Cloud DNS client names use.
type ClientDNSAPI interface {
	GetZone(ctx context.Context, project, zone string) (*dns.ManagedZone, error)
	ListRecordSets(ctx context.Context, project, zone, name string) ([]*dns.ResourceRecordSet, error)
	CreateChange(ctx context.Context, project, zone string, c *dns.Change) (*dns.Change, error)
	GetChange(ctx context.Context, project, zone, id string) (*dns.Change, error)
	// ListChanges calls f with each page of the zone's changes, newest
	// first where the service sorts.
	ListChanges(ctx context.Context, project, zone string, f func([]*dns.Change) error) error
}

var _ ClientDNSAPI = DNSService{}

// GetZone implements ClientDNSAPI.
func (d DNSService) GetZone(ctx context.Context, project, zone string) (*dns.ManagedZone, error) {
	return d.S.ManagedZones.Get(project, zone).Context(ctx).Do()
}

// ListRecordSets implements ClientDNSAPI: every record set named name.
func (d DNSService) ListRecordSets(ctx context.Context, project, zone, name string) ([]*dns.ResourceRecordSet, error) {
	var out []*dns.ResourceRecordSet
	err := d.S.ResourceRecordSets.List(project, zone).Name(name).Pages(ctx, func(r *dns.ResourceRecordSetsListResponse) error {
		out = append(out, r.Rrsets...)
		return nil
	})
	return out, err
}

// ListChanges implements ClientDNSAPI.
func (d DNSService) ListChanges(ctx context.Context, project, zone string, f func([]*dns.Change) error) error {
	return d.S.Changes.List(project, zone).SortBy("changeSequence").SortOrder("descending").Pages(ctx,
		func(r *dns.ChangesListResponse) error { return f(r.Changes) })
}

// DNSRecord is one record set of a client name as ferry keeps it in
// workflow payloads: its own type, not the API's.
type DNSRecord struct {
	Type    string   `json:"type"` // A, AAAA or CNAME
	TTL     int64    `json:"ttl"`
	Rrdatas []string `json:"rrdatas,omitempty"`
	// RoutingPolicy is Cloud DNS's routingPolicy (JSON) when the record
	// has one (weighted, geo, failover), kept as it was.
	RoutingPolicy json.RawMessage `json:"routingPolicy,omitempty"`
}

// ClientNameState is what Prepare found and did for one client name: the
// workflow keeps it, so a rollback puts back what clients used before.
type ClientNameState struct {
	Name     string      `json:"name"`
	Zone     string      `json:"zone,omitempty"`
	Project  string      `json:"project,omitempty"`
	Original []DNSRecord `json:"original"` // before ferry changed anything
	// TTLDuring is the TTL (seconds) from Prepare until Finalize.
	TTLDuring int64 `json:"ttlDuring"`
	// LoweredAt is when the low TTL took effect (zero: the TTL was
	// already low enough).
	LoweredAt time.Time `json:"loweredAt,omitzero"`
	// WaitUntil: until then resolvers may still hold an answer with the
	// old TTL; clients follow PointAt within TTLDuring only after it.
	WaitUntil time.Time `json:"waitUntil,omitzero"`
}

// addressTypes are the record types a client name's address is in.
var addressTypes = []string{"A", "AAAA", "CNAME"}

// ClientDNS moves one client name in Cloud DNS.
type ClientDNS struct {
	api     ClientDNSAPI
	c       plan.ClientDNS
	ttl     int64
	retries int
}

// NewClientDNS returns the mover of one client name of the plan.
func NewClientDNS(api ClientDNSAPI, cfg Config, c plan.ClientDNS) *ClientDNS {
	ttl := int64(c.TTLDuring / time.Second)
	if ttl <= 0 {
		ttl = int64(plan.DefaultClientDNSTTL / time.Second)
	}
	return &ClientDNS{api: api, c: c, ttl: ttl, retries: cfg.conflictRetries()}
}

func (d *ClientDNS) object() string {
	return fmt.Sprintf("client name %s (zone %s, project %s)", d.c.Name, d.c.Zone, d.c.Project)
}

// Prepare checks the zone holds the name, records the name's address
// records as they are and lowers their TTL to ttl_during. Run again after
// a crash, it finds the original in the zone's change history.
func (d *ClientDNS) Prepare(ctx context.Context) (ClientNameState, error) {
	const op = "lower the TTL"
	st := ClientNameState{Name: d.c.Name, Zone: d.c.Zone, Project: d.c.Project, TTLDuring: d.ttl}
	z, err := d.api.GetZone(ctx, d.c.Project, d.c.Zone)
	if err != nil {
		if httpCode(err) == http.StatusNotFound {
			return st, &Error{Op: op, Object: d.object(), Permanent: true,
				Err: fmt.Errorf("project %s has no managed zone %s: fix zone or project of this client_dns block in the plan", d.c.Project, d.c.Zone)}
		}
		return st, apiError(op, d.object(), err)
	}
	if !plan.InZone(d.c.Name, z.DnsName) {
		return st, &Error{Op: op, Object: d.object(), Permanent: true,
			Err: fmt.Errorf("zone %s holds %s and below, not %s: fix the plan's client_dns block", d.c.Zone, z.DnsName, d.c.Name)}
	}
	cur, err := d.current(ctx, op)
	if err != nil {
		return st, err
	}
	if len(cur) == 0 {
		return st, &Error{Op: op, Object: d.object(), Permanent: true,
			Err: fmt.Errorf("the zone has no A, AAAA or CNAME record %s: client_dns names the record clients use today; create it or fix the name", d.c.Name)}
	}
	if low, at, ok, err := d.lowering(ctx, op); err != nil {
		return st, err
	} else if ok && maxTTL(records(cur)) <= max(maxTTL(low.added), time.Duration(d.ttl)*time.Second) {
		// Still low since ferry lowered it (Finalize raises it again): an
		// earlier attempt did, and the original is in the history, whatever
		// the record points at now.
		st.Original, st.LoweredAt = low.deleted, at
		st.WaitUntil = at.Add(maxTTL(st.Original))
		return st, nil
	}
	st.Original = records(cur)
	if !slices.ContainsFunc(st.Original, func(r DNSRecord) bool { return r.TTL > d.ttl }) {
		return st, nil // already low: clients follow within it
	}
	want := make([]DNSRecord, len(st.Original))
	for i, r := range st.Original {
		want[i] = r
		want[i].TTL = min(r.TTL, d.ttl)
	}
	ch, err := d.apply(ctx, op, func([]DNSRecord) []DNSRecord { return want })
	if err != nil {
		return st, err
	}
	st.LoweredAt = time.Now().UTC()
	if ch != nil {
		if t, err := time.Parse(time.RFC3339, ch.StartTime); err == nil {
			st.LoweredAt = t.UTC()
		}
	}
	st.WaitUntil = st.LoweredAt.Add(maxTTL(st.Original))
	return st, nil
}

// PointAt publishes addrs (the load balancer's address, or the app's
// front-end instances') as the name's only address records, with the low
// TTL.
func (d *ClientDNS) PointAt(ctx context.Context, addrs []string) error {
	op := fmt.Sprintf("point at %v", addrs)
	var v4, v6 []string
	for _, a := range addrs {
		ip := net.ParseIP(a)
		switch {
		case ip == nil:
			return &Error{Op: op, Object: d.object(), Permanent: true, Err: fmt.Errorf("%q is not an IP address", a)}
		case ip.To4() != nil:
			v4 = append(v4, ip.String())
		default:
			v6 = append(v6, ip.String())
		}
	}
	slices.Sort(v4)
	slices.Sort(v6)
	var want []DNSRecord
	if len(v4) > 0 {
		want = append(want, DNSRecord{Type: "A", TTL: d.ttl, Rrdatas: slices.Compact(v4)})
	}
	if len(v6) > 0 {
		want = append(want, DNSRecord{Type: "AAAA", TTL: d.ttl, Rrdatas: slices.Compact(v6)})
	}
	if len(want) == 0 {
		return &Error{Op: op, Object: d.object(), Permanent: true, Err: fmt.Errorf("no address to publish")}
	}
	_, err := d.apply(ctx, op, func([]DNSRecord) []DNSRecord { return want })
	return err
}

// Restore puts the original address records back, still with the low TTL
// (so a retried cutover or a second rollback is followed fast); Finalize
// returns the original TTL. A nil original is read from the zone's change
// history.
func (d *ClientDNS) Restore(ctx context.Context, original []DNSRecord) error {
	const op = "restore the original addresses"
	original, err := d.original(ctx, op, original)
	if err != nil {
		return err
	}
	want := make([]DNSRecord, len(original))
	for i, r := range original {
		want[i] = r
		want[i].TTL = min(r.TTL, d.ttl)
	}
	_, err = d.apply(ctx, op, func([]DNSRecord) []DNSRecord { return want })
	return err
}

// Finalize gives the name's address records, as they are now (the new
// path after a bake, the original after a rollback), the original TTL.
func (d *ClientDNS) Finalize(ctx context.Context, original []DNSRecord) error {
	const op = "restore the original TTL"
	original, err := d.original(ctx, op, original)
	if err != nil {
		return err
	}
	_, err = d.apply(ctx, op, func(cur []DNSRecord) []DNSRecord {
		out := make([]DNSRecord, len(cur))
		for i, r := range cur {
			out[i] = r
			out[i].TTL = int64(maxTTL(original) / time.Second)
			if j := slices.IndexFunc(original, func(o DNSRecord) bool { return o.Type == r.Type }); j >= 0 {
				out[i].TTL = original[j].TTL
			}
		}
		return out
	})
	return err
}

func (d *ClientDNS) original(ctx context.Context, op string, original []DNSRecord) ([]DNSRecord, error) {
	if len(original) > 0 {
		if err := CheckRecords(original); err != nil {
			return nil, &Error{Op: op, Object: d.object(), Permanent: true, Err: err}
		}
		return original, nil
	}
	low, _, ok, err := d.lowering(ctx, op)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &Error{Op: op, Object: d.object(), Permanent: true,
			Err: fmt.Errorf("the original record is not known: the workflow kept none and the zone's history has no TTL lowering by ferry; set the record by hand")}
	}
	return low.deleted, nil
}

// CheckRecords refuses records a workflow payload may not put into DNS:
// other types than A, AAAA and CNAME, or data that is not of its type.
func CheckRecords(rs []DNSRecord) error {
	seen := map[string]bool{}
	for _, r := range rs {
		if !slices.Contains(addressTypes, r.Type) {
			return fmt.Errorf("record type %q is not an address type (A, AAAA, CNAME)", r.Type)
		}
		if seen[r.Type] {
			return fmt.Errorf("two %s records", r.Type)
		}
		seen[r.Type] = true
		if r.TTL < 0 || r.TTL > 1<<31-1 {
			return fmt.Errorf("%s record: TTL %d out of range", r.Type, r.TTL)
		}
		if len(r.Rrdatas) == 0 && len(r.RoutingPolicy) == 0 {
			return fmt.Errorf("%s record without data", r.Type)
		}
		for _, v := range r.Rrdatas {
			ip := net.ParseIP(v)
			ok := map[string]bool{"A": ip != nil && ip.To4() != nil, "AAAA": ip != nil && ip.To4() == nil, "CNAME": plan.CheckDNSName(v) == nil}[r.Type]
			if !ok {
				return fmt.Errorf("%s record: %q is not a valid %s value", r.Type, v, r.Type)
			}
		}
	}
	if seen["CNAME"] && len(rs) > 1 {
		return fmt.Errorf("a CNAME cannot stand beside other records")
	}
	return nil
}

// current reads the name's address record sets.
func (d *ClientDNS) current(ctx context.Context, op string) ([]*dns.ResourceRecordSet, error) {
	all, err := d.api.ListRecordSets(ctx, d.c.Project, d.c.Zone, d.c.Name)
	if err != nil {
		if httpCode(err) == http.StatusNotFound {
			return nil, &Error{Op: op, Object: d.object(), Permanent: true,
				Err: fmt.Errorf("project %s has no managed zone %s: fix the plan's client_dns block", d.c.Project, d.c.Zone)}
		}
		return nil, apiError(op, d.object(), err)
	}
	var out []*dns.ResourceRecordSet
	for _, rr := range all {
		if rr.Name == d.c.Name && slices.Contains(addressTypes, rr.Type) {
			out = append(out, rr)
		}
	}
	return out, nil
}

// apply makes the name's address records what want returns for the
// current ones, in one change that deletes exactly what it read: a
// concurrent writer makes it fail (412) and it is re-read and retried.
// It returns nil when nothing had to change.
func (d *ClientDNS) apply(ctx context.Context, op string, want func(cur []DNSRecord) []DNSRecord) (*dns.Change, error) {
	for attempt := 0; ; attempt++ {
		cur, err := d.current(ctx, op)
		if err != nil {
			return nil, err
		}
		w := want(records(cur))
		ch := &dns.Change{}
		for _, rr := range cur {
			if !slices.ContainsFunc(w, func(x DNSRecord) bool { return sameDNSRecord(record(rr), x) }) {
				ch.Deletions = append(ch.Deletions, rr)
			}
		}
		for _, x := range w {
			if !slices.ContainsFunc(cur, func(rr *dns.ResourceRecordSet) bool { return sameDNSRecord(record(rr), x) }) {
				rs, err := d.recordSet(x)
				if err != nil {
					return nil, &Error{Op: op, Object: d.object(), Permanent: true, Err: err}
				}
				ch.Additions = append(ch.Additions, rs)
			}
		}
		if len(ch.Additions) == 0 && len(ch.Deletions) == 0 {
			return nil, nil
		}
		done, err := d.api.CreateChange(ctx, d.c.Project, d.c.Zone, ch)
		c := httpCode(err)
		raced := c == http.StatusPreconditionFailed || c == http.StatusConflict || (c == http.StatusNotFound && len(ch.Deletions) > 0)
		if raced && attempt < d.retries {
			if err := backoff(ctx, attempt); err != nil {
				return nil, &Error{Op: op, Object: d.object(), Err: err}
			}
			continue
		}
		if err != nil {
			return nil, apiError(op, d.object(), err)
		}
		return done, d.wait(ctx, op, done)
	}
}

func (d *ClientDNS) wait(ctx context.Context, op string, c *dns.Change) error {
	delay := 20 * time.Millisecond
	for c.Status != "done" {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return &Error{Op: op, Object: d.object(), Err: fmt.Errorf("waiting for change %s: %w", c.Id, ctx.Err())}
		case <-t.C:
		}
		delay = min(delay*2, time.Second)
		next, err := d.api.GetChange(ctx, d.c.Project, d.c.Zone, c.Id)
		if err != nil {
			return apiError(op, d.object(), fmt.Errorf("change %s: %w", c.Id, err))
		}
		c = next
	}
	return nil
}

type lowering struct{ deleted, added []DNSRecord }

// lowering finds the latest change of the zone that lowered the name's
// TTL and changed nothing else: Prepare's. Its deletions are the original.
func (d *ClientDNS) lowering(ctx context.Context, op string) (lowering, time.Time, bool, error) {
	var best lowering
	var bestID int64 = -1
	var at time.Time
	err := d.api.ListChanges(ctx, d.c.Project, d.c.Zone, func(cs []*dns.Change) error {
		for _, c := range cs {
			del, add := d.named(c.Deletions), d.named(c.Additions)
			if len(del) == 0 || !isLowering(del, add) {
				continue
			}
			id, err := strconv.ParseInt(c.Id, 10, 64)
			if err != nil || id <= bestID {
				continue
			}
			best, bestID = lowering{deleted: del, added: add}, id
			at, _ = time.Parse(time.RFC3339, c.StartTime)
		}
		return nil
	})
	if err != nil {
		return best, at, false, apiError(op+" (read the zone's changes)", d.object(), err)
	}
	return best, at.UTC(), bestID >= 0, nil
}

func (d *ClientDNS) named(rs []*dns.ResourceRecordSet) []DNSRecord {
	var out []DNSRecord
	for _, rr := range rs {
		if rr.Name == d.c.Name && slices.Contains(addressTypes, rr.Type) {
			out = append(out, record(rr))
		}
	}
	return out
}

// isLowering: the same records with the same data, no TTL higher and at
// least one lower.
func isLowering(del, add []DNSRecord) bool {
	if len(del) != len(add) {
		return false
	}
	lower := false
	for _, a := range add {
		i := slices.IndexFunc(del, func(x DNSRecord) bool { return x.Type == a.Type })
		if i < 0 || !sameData(del[i], a) || a.TTL > del[i].TTL {
			return false
		}
		lower = lower || a.TTL < del[i].TTL
	}
	return lower
}

func (d *ClientDNS) recordSet(r DNSRecord) (*dns.ResourceRecordSet, error) {
	rs := &dns.ResourceRecordSet{Name: d.c.Name, Type: r.Type, Ttl: r.TTL, Rrdatas: r.Rrdatas}
	if len(r.RoutingPolicy) > 0 {
		rs.RoutingPolicy = &dns.RRSetRoutingPolicy{}
		if err := json.Unmarshal(r.RoutingPolicy, rs.RoutingPolicy); err != nil {
			return nil, fmt.Errorf("%s record: routing policy: %w", r.Type, err)
		}
	}
	return rs, nil
}

func record(rr *dns.ResourceRecordSet) DNSRecord {
	r := DNSRecord{Type: rr.Type, TTL: rr.Ttl, Rrdatas: slices.Clone(rr.Rrdatas)}
	if rr.RoutingPolicy != nil {
		if b, err := json.Marshal(rr.RoutingPolicy); err == nil {
			r.RoutingPolicy = b
		}
	}
	return r
}

func records(rs []*dns.ResourceRecordSet) []DNSRecord {
	out := make([]DNSRecord, len(rs))
	for i, rr := range rs {
		out[i] = record(rr)
	}
	return out
}

func sameData(a, b DNSRecord) bool {
	return a.Type == b.Type && slices.Equal(a.Rrdatas, b.Rrdatas) && jsonEqual(a.RoutingPolicy, b.RoutingPolicy)
}

func sameDNSRecord(a, b DNSRecord) bool { return sameData(a, b) && a.TTL == b.TTL }

func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y bytes.Buffer
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}

func maxTTL(rs []DNSRecord) time.Duration {
	var m int64
	for _, r := range rs {
		m = max(m, r.TTL)
	}
	return time.Duration(m) * time.Second
}

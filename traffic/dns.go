package traffic

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"google.golang.org/api/dns/v1"

	"github.com/ferrymigrate/ferry/plan"
)

// DNSAPI is the part of Cloud DNS the dns strategy uses.
type DNSAPI interface {
	GetRecordSet(ctx context.Context, project, zone, name, typ string) (*dns.ResourceRecordSet, error)
	CreateChange(ctx context.Context, project, zone string, c *dns.Change) (*dns.Change, error)
	GetChange(ctx context.Context, project, zone, id string) (*dns.Change, error)
}

// DNSService adapts *dns.Service to DNSAPI.
type DNSService struct{ S *dns.Service }

var _ DNSAPI = DNSService{}

// GetRecordSet implements DNSAPI.
func (d DNSService) GetRecordSet(ctx context.Context, project, zone, name, typ string) (*dns.ResourceRecordSet, error) {
	return d.S.ResourceRecordSets.Get(project, zone, name, typ).Context(ctx).Do()
}

// CreateChange implements DNSAPI.
func (d DNSService) CreateChange(ctx context.Context, project, zone string, c *dns.Change) (*dns.Change, error) {
	return d.S.Changes.Create(project, zone, c).Context(ctx).Do()
}

// GetChange implements DNSAPI.
func (d DNSService) GetChange(ctx context.Context, project, zone, id string) (*dns.Change, error) {
	return d.S.Changes.Get(project, zone, id).Context(ctx).Do()
}

// DNS moves traffic by rewriting the app's record set: the datacenter
// addresses at 0 %, the GCP addresses at 100 %, and a weighted round-robin
// routing policy in between. The TTL is low so clients follow quickly.
type DNS struct {
	api     DNSAPI
	gce     *GCE
	spec    plan.AppSpec
	project string
	zone    string
	name    string
	typ     string
	ttl     int64
	dc      []string
	retries int
	// gcpAddrs, when set, are the addresses published for GCP instead
	// of the instances' (a passthrough load balancer's; passthrough.go),
	// and oneStep refuses a split.
	gcpAddrs func(ctx context.Context) ([]string, error)
	oneStep  bool
}

// NewDNS returns the dns strategy for spec; gce resolves the GCP addresses.
func NewDNS(api DNSAPI, gce *GCE, cfg Config, project string, spec plan.AppSpec) (*DNS, error) {
	t := spec.Cutover.DNS
	d := &DNS{api: api, gce: gce, spec: spec, project: project, zone: t.ManagedZone, name: t.Name,
		ttl: t.TTL, retries: cfg.conflictRetries()}
	if d.ttl <= 0 {
		d.ttl = DefaultDNSTTL
	}
	for _, ep := range spec.Cutover.DCEndpoints {
		host := ep
		if h, _, err := net.SplitHostPort(ep); err == nil {
			host = h
		}
		if !slices.Contains(d.dc, host) {
			d.dc = append(d.dc, host)
		}
	}
	obj := fmt.Sprintf("app %s", spec.Name)
	switch {
	case d.zone == "" || d.name == "":
		return nil, &Error{Op: "configure dns", Object: obj, Permanent: true,
			Err: fmt.Errorf("cutover.dns needs managed_zone and name in the plan")}
	case len(d.dc) == 0:
		return nil, &Error{Op: "configure dns", Object: obj, Permanent: true,
			Err: fmt.Errorf("cutover.dc_endpoints is empty: the dns strategy needs the datacenter addresses to roll back to")}
	}
	d.typ = "A"
	if ip := net.ParseIP(d.dc[0]); ip != nil && ip.To4() == nil {
		d.typ = "AAAA"
	}
	return d, nil
}

func (d *DNS) object() string {
	return fmt.Sprintf("record %s %s (zone %s, project %s)", d.name, d.typ, d.zone, d.project)
}

// Current returns the GCP share of the record's answers.
func (d *DNS) Current(ctx context.Context) (int, error) {
	rr, err := d.api.GetRecordSet(ctx, d.project, d.zone, d.name, d.typ)
	if err != nil {
		return 0, apiError("read record", d.object(), err)
	}
	if wrr := rrWRR(rr); wrr != nil {
		var dcW, gcpW float64
		for _, it := range wrr.Items {
			if d.allDC(it.Rrdatas) {
				dcW += it.Weight
			} else {
				gcpW += it.Weight
			}
		}
		if dcW+gcpW == 0 {
			return 0, &Error{Op: "read record", Object: d.object(), Permanent: true, Err: fmt.Errorf("all routing weights are 0")}
		}
		return int(gcpW*100/(dcW+gcpW) + 0.5), nil
	}
	if d.allDC(rr.Rrdatas) {
		return 0, nil
	}
	return 100, nil
}

// ToDatacenter points the record at the datacenter addresses with one
// change; it needs no GCP lookup.
func (d *DNS) ToDatacenter(ctx context.Context) error {
	return d.apply(ctx, "shift to 0% GCP", d.recordSet(0, nil))
}

// Shift rewrites the record for percentToGCP.
func (d *DNS) Shift(ctx context.Context, percentToGCP int) error {
	op := fmt.Sprintf("shift to %d%% GCP", percentToGCP)
	if err := checkPercent(percentToGCP); err != nil {
		return &Error{Op: op, Object: d.object(), Permanent: true, Err: err}
	}
	if d.oneStep && percentToGCP != 0 && percentToGCP != 100 {
		return &Error{Op: op, Object: d.object(), Permanent: true, Err: errOneStep}
	}
	var gcp []string
	if percentToGCP > 0 && d.gcpAddrs != nil {
		addrs, err := d.gcpAddrs(ctx)
		if err != nil {
			return err
		}
		gcp = addrs
	} else if percentToGCP > 0 {
		insts, err := d.gce.List(ctx, d.spec)
		if err != nil {
			return err
		}
		for _, in := range insts {
			if in.Address == "" {
				return &Error{Op: op, Object: d.object(), Permanent: true,
					Err: fmt.Errorf("instance %s has no address to publish", in.Name)}
			}
			gcp = append(gcp, in.Address)
		}
		if len(gcp) == 0 {
			return &Error{Op: op, Object: d.object(), Permanent: true, Err: fmt.Errorf("the plan lists no VMs")}
		}
	}
	return d.apply(ctx, op, d.recordSet(percentToGCP, gcp))
}

func (d *DNS) recordSet(p int, gcp []string) *dns.ResourceRecordSet {
	rr := &dns.ResourceRecordSet{Name: d.name, Type: d.typ, Ttl: d.ttl}
	switch p {
	case 0:
		rr.Rrdatas = slices.Clone(d.dc)
	case 100:
		rr.Rrdatas = gcp
	default:
		rr.RoutingPolicy = &dns.RRSetRoutingPolicy{Wrr: &dns.RRSetRoutingPolicyWrrPolicy{Items: []*dns.RRSetRoutingPolicyWrrPolicyWrrPolicyItem{
			{Weight: float64(100 - p), Rrdatas: slices.Clone(d.dc)},
			{Weight: float64(p), Rrdatas: gcp},
		}}}
	}
	return rr
}

// apply replaces the record set in one change: the deletion must match the
// record as it is, so a concurrent writer makes it fail (412) and it is
// re-read and retried.
func (d *DNS) apply(ctx context.Context, op string, want *dns.ResourceRecordSet) error {
	for attempt := 0; ; attempt++ {
		cur, err := d.api.GetRecordSet(ctx, d.project, d.zone, d.name, d.typ)
		if err != nil && httpCode(err) != http.StatusNotFound {
			return apiError(op, d.object(), err)
		}
		ch := &dns.Change{Additions: []*dns.ResourceRecordSet{want}}
		if err == nil {
			if sameRecord(cur, want) {
				return nil
			}
			ch.Deletions = []*dns.ResourceRecordSet{cur}
		}
		done, err := d.api.CreateChange(ctx, d.project, d.zone, ch)
		// 412: the record changed since the read; 409: it was created
		// since; 404: it was deleted since. Re-read and try again.
		c := httpCode(err)
		raced := c == http.StatusPreconditionFailed || c == http.StatusConflict || (c == http.StatusNotFound && len(ch.Deletions) > 0)
		if raced && attempt < d.retries {
			if err := backoff(ctx, attempt); err != nil {
				return &Error{Op: op, Object: d.object(), Err: err}
			}
			continue
		}
		if err != nil {
			return apiError(op, d.object(), err)
		}
		return d.wait(ctx, op, done)
	}
}

func (d *DNS) wait(ctx context.Context, op string, c *dns.Change) error {
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
		next, err := d.api.GetChange(ctx, d.project, d.zone, c.Id)
		if err != nil {
			return apiError(op, d.object(), fmt.Errorf("change %s: %w", c.Id, err))
		}
		c = next
	}
	return nil
}

func (d *DNS) allDC(addrs []string) bool {
	for _, a := range addrs {
		if !slices.Contains(d.dc, a) {
			return false
		}
	}
	return len(addrs) > 0
}

func rrWRR(rr *dns.ResourceRecordSet) *dns.RRSetRoutingPolicyWrrPolicy {
	if rr.RoutingPolicy == nil {
		return nil
	}
	return rr.RoutingPolicy.Wrr
}

func sameRecord(a, b *dns.ResourceRecordSet) bool {
	if a.Ttl != b.Ttl || !slices.Equal(a.Rrdatas, b.Rrdatas) {
		return false
	}
	wa, wb := rrWRR(a), rrWRR(b)
	if (wa == nil) != (wb == nil) {
		return false
	}
	if wa == nil {
		return true
	}
	if len(wa.Items) != len(wb.Items) {
		return false
	}
	for i := range wa.Items {
		if wa.Items[i].Weight != wb.Items[i].Weight || !slices.Equal(wa.Items[i].Rrdatas, wb.Items[i].Rrdatas) {
			return false
		}
	}
	return true
}

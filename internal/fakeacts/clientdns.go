package fakeacts

import (
	"context"
	"time"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/traffic"
)

// ClientDNSFakes are the doubles of the client names' activities. Each
// name of the app's client_dns is prepared with one original A record
// (192.0.2.10, TTL 3600), and pointed at 203.0.113.1.
type ClientDNSFakes struct {
	// WaitUntil is what PrepareClientDNS says resolvers may hold the old
	// answer until (zero: no wait).
	WaitUntil time.Time

	// Restored and Finalized are the inputs of RestoreClientDNS and
	// FinalizeClientDNS, in order.
	Restored  []activities.RestoreClientDNSInput
	Finalized []activities.FinalizeClientDNSInput
}

func (f *Fakes) registerClientDNS(reg func(string, any)) {
	d := &f.ClientDNS
	reg(activities.PrepareClientDNSName, func(ctx context.Context, in activities.ClientDNSInput) (activities.PrepareClientDNSResult, error) {
		f.record(activities.PrepareClientDNSName)
		f.mu.Lock()
		res := activities.PrepareClientDNSResult{WaitUntil: d.WaitUntil}
		f.mu.Unlock()
		for _, c := range f.spec(ctx, in.Plan).Cutover.ClientDNS {
			res.Names = append(res.Names, traffic.ClientNameState{Name: c.Name, Zone: c.Zone, Project: c.Project,
				Original:  []traffic.DNSRecord{{Type: "A", TTL: 3600, Rrdatas: []string{"192.0.2.10"}}},
				TTLDuring: int64(c.TTLDuring / time.Second), WaitUntil: res.WaitUntil})
		}
		return res, nil
	})
	reg(activities.PointClientDNSName, func(ctx context.Context, in activities.ClientDNSInput) (activities.PointClientDNSResult, error) {
		f.record(activities.PointClientDNSName)
		var res activities.PointClientDNSResult
		for _, c := range f.spec(ctx, in.Plan).Cutover.ClientDNS {
			res.Names = append(res.Names, c.Name)
		}
		res.Serving = traffic.Serving{Addresses: []string{"203.0.113.1"}, Via: "load balancer (forwarding rule " + in.Plan.App + "-fr)"}
		res.At = time.Now().UTC()
		return res, nil
	})
	reg(activities.RestoreClientDNSName, func(ctx context.Context, in activities.RestoreClientDNSInput) (activities.ClientDNSResult, error) {
		f.record(activities.RestoreClientDNSName)
		f.mu.Lock()
		d.Restored = append(d.Restored, in)
		f.mu.Unlock()
		return activities.ClientDNSResult{At: time.Now().UTC()}, nil
	})
	reg(activities.FinalizeClientDNSName, func(ctx context.Context, in activities.FinalizeClientDNSInput) (activities.ClientDNSResult, error) {
		f.record(activities.FinalizeClientDNSName)
		f.mu.Lock()
		d.Finalized = append(d.Finalized, in)
		f.mu.Unlock()
		return activities.ClientDNSResult{At: time.Now().UTC()}, nil
	})
}

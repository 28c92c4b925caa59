package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/plan"
)

// Client names: the DNS names clients reach the app by today (the plan's
// cutover client_dns blocks) move onto the new path with the cutover.
//
//	client-dns-prepare  before the cutover gate: record each name's records
//	                    and lower its TTL, so the wait overlaps the approval
//	client-dns-ttl      after the gate (window, hold): wait until no resolver
//	                    holds an answer with the old TTL
//	client-dns-point    before the first traffic step when a load balancer
//	                    splits the traffic (at 0 % it still sends every
//	                    request to the datacenter); right after the 100 %
//	                    shift otherwise (no load balancer, or a passthrough
//	                    one that cannot split), so the last bake covers them
//	client-dns-finalize after the decommission approval: the original TTL
//
// Rollback: after traffic is back in the datacenter the names get their
// original records back (client-dns-restore), then their TTL
// (client-dns-finalize), before terraform destroys what they pointed at.
const (
	stepClientDNSPrepare  = "client-dns-prepare"
	stepClientDNSWait     = "client-dns-ttl"
	stepClientDNSPoint    = "client-dns-point"
	stepClientDNSRestore  = "client-dns-restore"
	stepClientDNSFinalize = "client-dns-finalize"
)

// clientNamesVersion: client names came after the first release. Asked
// only for apps whose plan has client_dns, so no other history carries
// the marker.
func (m *migration) clientNamesVersion(ctx workflow.Context) bool {
	if len(m.spec.Cutover.ClientDNS) == 0 {
		return false
	}
	return workflow.GetVersion(ctx, "client-dns", workflow.DefaultVersion, 1) != workflow.DefaultVersion
}

// pointBeforeShift: the names move before the first traffic step when a
// load balancer splits the traffic, else at the 100 % step.
func (m *migration) pointBeforeShift() bool {
	c := m.spec.Cutover
	return c.Strategy == "lb" && plan.Weighted(c.LoadBalancer())
}

func (m *migration) prepareClientNames(ctx workflow.Context) error {
	m.clientPrepared = true // from the first attempt on, a TTL may be lowered
	var res activities.PrepareClientDNSResult
	if err := m.exec(ctx, optsClientDNS, acts.PrepareClientDNS, activities.ClientDNSInput{Plan: m.ref()}, &res); err != nil {
		return err
	}
	m.clientNames = res.Names
	m.st.Evidence.ClientDNS = &ClientDNSEvidence{Names: clientNameList(res), WaitUntil: res.WaitUntil}
	m.publish(ctx)
	return nil
}

func (m *migration) waitClientNames(ctx workflow.Context) error {
	e := m.st.Evidence.ClientDNS
	if e == nil {
		return nil
	}
	return m.waitUntil(ctx, stepClientDNSWait, e.WaitUntil,
		fmt.Sprintf("waiting out the old TTL of %s: resolvers may hold the old answer until %s; clients follow the cutover within the lowered TTL after that",
			strings.Join(e.Names, ", "), e.WaitUntil.Format(time.RFC3339)))
}

func (m *migration) pointClientNames(ctx workflow.Context) error {
	m.clientPointed = true // from the first attempt on, a name may point at GCP
	var res activities.PointClientDNSResult
	if err := m.exec(ctx, optsClientDNS, acts.PointClientDNS, activities.ClientDNSInput{Plan: m.ref()}, &res); err != nil {
		return err
	}
	if e := m.st.Evidence.ClientDNS; e != nil {
		e.PointedAt, e.Addresses, e.Via = res.At, res.Serving.Addresses, res.Serving.Via
	}
	m.publish(ctx)
	return nil
}

// finalizeClientNames gives the names their original TTL back on the
// records they have now.
func (m *migration) finalizeClientNames(ctx workflow.Context, run func(workflow.Context, workflow.ActivityOptions, any, any, any) error) error {
	var res activities.ClientDNSResult
	if err := run(ctx, optsClientDNS, acts.FinalizeClientDNS, activities.FinalizeClientDNSInput{Plan: m.ref(), Original: m.clientNames}, &res); err != nil {
		return err
	}
	m.clientPrepared = false
	if e := m.st.Evidence.ClientDNS; e != nil {
		e.FinalizedAt = res.At
	}
	return nil
}

// clientNamesRollback adds the saga's steps for the client names: their
// original records back (when they may point at GCP), then their TTL.
func (m *migration) clientNamesRollback(saga []step) []step {
	if m.clientPointed {
		saga = append(saga, step{stage: StageRollingBack, name: stepClientDNSRestore, run: func(ctx workflow.Context) error {
			var res activities.ClientDNSResult
			err := m.run(ctx, optsClientDNS, acts.RestoreClientDNS, activities.RestoreClientDNSInput{Plan: m.ref(), Original: m.clientNames}, &res)
			if err != nil {
				return err
			}
			m.clientPointed = false
			if e := m.st.Evidence.ClientDNS; e != nil {
				e.RestoredAt = res.At
			}
			return nil
		}})
	}
	if m.clientPrepared || m.clientPointed {
		saga = append(saga, step{stage: StageRollingBack, name: stepClientDNSFinalize, run: func(ctx workflow.Context) error {
			return m.finalizeClientNames(ctx, m.run)
		}})
	}
	return saga
}

func clientNameList(res activities.PrepareClientDNSResult) []string {
	out := make([]string, 0, len(res.Names))
	for _, n := range res.Names {
		out = append(out, n.Name)
	}
	return out
}

// ClientDNSEvidence is where the app's client names stand.
type ClientDNSEvidence struct {
	Names []string `json:"names"`
	// WaitUntil: resolvers may hold an answer with the old TTL until then.
	WaitUntil time.Time `json:"waitUntil,omitzero"`
	// PointedAt: the names point at Addresses (what Via says they are).
	PointedAt   time.Time `json:"pointedAt,omitzero"`
	Addresses   []string  `json:"addresses,omitempty"`
	Via         string    `json:"via,omitempty"`
	RestoredAt  time.Time `json:"restoredAt,omitzero"`
	FinalizedAt time.Time `json:"finalizedAt,omitzero"`
}

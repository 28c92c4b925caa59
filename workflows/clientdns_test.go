package workflows

import (
	"slices"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/plan"
)

func clientNamesSpec(strategy string) plan.AppSpec {
	s := testSpec()
	s.Cutover.Strategy = strategy
	s.Cutover.ClientDNS = []plan.ClientDNS{{Name: "billing.corp.example.", Zone: "corp", Project: "acme", TTLDuring: 30 * time.Second}}
	return s
}

// indexes returns the positions of every call of name.
func indexes(calls []string, name string) []int {
	var out []int
	for i, c := range calls {
		if c == name {
			out = append(out, i)
		}
	}
	return out
}

// With a load balancer the names point at it before the first traffic
// step (at 0 % it still sends every request to the datacenter), after the
// old TTL was waited out; they get their TTL back after the decommission
// approval.
func TestClientNamesMoveWithTheCutover(t *testing.T) {
	h := newHarness(t)
	h.spec = clientNamesSpec("lb")
	start := h.env.Now()
	h.f.ClientDNS.WaitUntil = start.Add(3 * time.Hour) // the old TTL runs out an hour after the approval
	var waiting *Waiting
	var weights []int
	at(h.env, 2*time.Hour+30*time.Minute, func() {
		waiting = status(h.env).Waiting
		weights = h.f.Weights()
	})
	h.approveAll()
	res := h.run()
	if res.Outcome != StageDone {
		t.Fatalf("outcome %s, want Done; last error %+v", res.Outcome, res.Status.LastError)
	}
	if waiting == nil || waiting.Gate != stepClientDNSWait || !waiting.Until.Equal(start.Add(3*time.Hour)) {
		t.Errorf("half an hour after the approval: waiting %+v, want the %s wait until %s", waiting, stepClientDNSWait, start.Add(3*time.Hour))
	}
	if len(weights) != 0 {
		t.Errorf("traffic shifted before the old TTL ran out: %v", weights)
	}
	calls := h.f.Calls()
	for _, pair := range [][2]string{
		{activities.PrepareClientDNSName, activities.PointClientDNSName},
		{activities.PointClientDNSName, activities.ShiftTrafficName},
		{activities.ShiftTrafficName, activities.FinalizeClientDNSName},
		{activities.FinalizeClientDNSName, activities.PowerOffSourcesName},
	} {
		if !before(calls, pair[0], pair[1]) {
			t.Errorf("%s must run before %s: %v", pair[0], pair[1], calls)
		}
	}
	for _, name := range []string{activities.PrepareClientDNSName, activities.PointClientDNSName, activities.FinalizeClientDNSName} {
		if n := h.f.Count(name); n != 1 {
			t.Errorf("%s ran %d times, want once", name, n)
		}
	}
	if n := h.f.Count(activities.RestoreClientDNSName); n != 0 {
		t.Errorf("RestoreClientDNS ran %d times on the success path", n)
	}
	fin := h.f.ClientDNS.Finalized
	if len(fin) != 1 || len(fin[0].Original) != 1 || fin[0].Original[0].Name != "billing.corp.example." || fin[0].Original[0].Original[0].TTL != 3600 {
		t.Errorf("finalize got %+v, want the name's original records from Prepare", fin)
	}
	e := res.Status.Evidence.ClientDNS
	if e == nil || !slices.Equal(e.Names, []string{"billing.corp.example."}) || e.PointedAt.IsZero() || e.FinalizedAt.IsZero() ||
		!slices.Equal(e.Addresses, []string{"203.0.113.1"}) || e.Via == "" || !e.RestoredAt.IsZero() {
		t.Errorf("evidence %+v", e)
	}
}

// A rollback after the names moved puts their original records back once
// traffic is in the datacenter, before terraform destroys the load
// balancer they pointed at, then their TTL.
func TestClientNamesRestoredOnRollback(t *testing.T) {
	h := newHarness(t)
	h.spec = clientNamesSpec("lb")
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	at(h.env, 2*time.Hour+90*time.Second, func() {
		signal(h.env, SignalRollback, Action{By: "ana@example.com", Reason: "clients see errors"})
	})
	res := h.run()
	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s, want RolledBack", res.Outcome)
	}
	calls := h.f.Calls()
	for _, pair := range [][2]string{
		{activities.PointClientDNSName, activities.TrafficToDatacenterName},
		{activities.TrafficToDatacenterName, activities.RestoreClientDNSName},
		{activities.RestoreClientDNSName, activities.FinalizeClientDNSName},
		{activities.FinalizeClientDNSName, activities.TerraformDestroyName},
	} {
		if !before(calls, pair[0], pair[1]) {
			t.Errorf("rollback: %s must run before %s: %v", pair[0], pair[1], calls)
		}
	}
	r := h.f.ClientDNS.Restored
	if len(r) != 1 || len(r[0].Original) != 1 || r[0].Original[0].Original[0].Rrdatas[0] != "192.0.2.10" {
		t.Errorf("restore got %+v, want the original records", r)
	}
	if e := res.Status.Evidence.ClientDNS; e == nil || e.RestoredAt.IsZero() || e.FinalizedAt.IsZero() {
		t.Errorf("evidence %+v", e)
	}
}

// Without a load balancer there is nothing to send clients to before the
// instances take all the traffic: the names move right after the 100 %
// shift, so its bake covers them.
func TestClientNamesWithoutLoadBalancerMoveAtFullShift(t *testing.T) {
	h := newHarness(t)
	h.spec = clientNamesSpec("dns")
	h.approveAll()
	res := h.run()
	if res.Outcome != StageDone {
		t.Fatalf("outcome %s, want Done; last error %+v", res.Outcome, res.Status.LastError)
	}
	calls := h.f.Calls()
	shifts := indexes(calls, activities.ShiftTrafficName)
	point := slices.Index(calls, activities.PointClientDNSName)
	if len(shifts) != 3 || point < shifts[2] {
		t.Errorf("the names must move after the third (100 %%) shift: %v", calls)
	}
	for _, name := range []string{activities.WatchSLOName, activities.SLOGateName} {
		if i := indexes(calls, name); len(i) > 0 && point > i[len(i)-1] {
			t.Errorf("the names must move before the 100 %% step's SLO gate: %v", calls)
		}
	}
}

// A rejected cutover gives the lowered TTL back and touches no record.
func TestClientNamesRejectedCutoverFinalizes(t *testing.T) {
	h := newHarness(t)
	h.spec = clientNamesSpec("lb")
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 2*time.Hour, func() {
		signal(h.env, SignalReject, Approval{Stage: GateCutover, Approver: "bo@example.com", Comment: "not this quarter"})
	})
	res := h.run()
	if res.Outcome != StageRejected {
		t.Fatalf("outcome %s, want Rejected", res.Outcome)
	}
	if n := h.f.Count(activities.FinalizeClientDNSName); n != 1 {
		t.Errorf("FinalizeClientDNS ran %d times, want once", n)
	}
	for _, name := range []string{activities.PointClientDNSName, activities.RestoreClientDNSName} {
		if n := h.f.Count(name); n != 0 {
			t.Errorf("%s ran %d times after a rejected cutover", name, n)
		}
	}
}

// An app without client names runs none of their activities.
func TestNoClientNamesNoClientDNSActivities(t *testing.T) {
	h := newHarness(t)
	h.approveAll()
	if res := h.run(); res.Outcome != StageDone {
		t.Fatalf("outcome %s", res.Outcome)
	}
	for _, c := range h.f.Calls() {
		switch c {
		case activities.PrepareClientDNSName, activities.PointClientDNSName, activities.RestoreClientDNSName, activities.FinalizeClientDNSName:
			t.Errorf("%s ran for an app without client_dns", c)
		}
	}
}

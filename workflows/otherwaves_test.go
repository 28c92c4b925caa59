package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/runbooks"
)

// A dependency of another wave that is not yet cut over holds the app's
// cutover; once it is, the cutover goes on.
func TestCutoverHeldForDependenciesInOtherWaves(t *testing.T) {
	h := newHarness(t)
	h.spec.DependsOn = []string{"ledger"}
	n := 0
	h.f.Progress = func(in activities.DependencyProgressInput) activities.DependencyProgressResult {
		n++
		if n <= 3 { // 15 minutes of holding
			return activities.DependencyProgressResult{Watched: []string{"ledger"}, Pending: []string{"ledger (Provision)"}}
		}
		return activities.DependencyProgressResult{Watched: []string{"ledger"}, CutOver: []string{"ledger"}}
	}
	var held *Waiting
	var weights []int
	at(h.env, 2*time.Hour+7*time.Minute, func() { held, weights = status(h.env).Waiting, h.f.Weights() })
	h.approveAll()
	res := h.run()
	if res.Outcome != StageDone {
		t.Fatalf("outcome %s; last error %+v", res.Outcome, res.Status.LastError)
	}
	if held == nil || held.Gate != stepHoldOtherWaves || !strings.Contains(held.Hint, "ledger (Provision)") {
		t.Errorf("7 minutes after the approval: waiting %+v, want the hold naming ledger", held)
	}
	if len(weights) != 0 {
		t.Errorf("traffic moved while held: %v", weights)
	}
	if n != 4 {
		t.Errorf("asked %d times, want 4 (three pending, then cut over)", n)
	}
	if e := res.Status.Evidence.OtherWaves; e == nil || len(e.CutOver) != 1 {
		t.Errorf("evidence %+v", e)
	}
}

// A dependency of another wave that was rolled back parks the app at once
// (dependency-lost); skip cuts over without it.
func TestDependencyInOtherWaveLostParksThenSkip(t *testing.T) {
	h := newHarness(t)
	h.spec.DependsOn = []string{"ledger"}
	h.f.Progress = func(in activities.DependencyProgressInput) activities.DependencyProgressResult {
		return activities.DependencyProgressResult{Watched: []string{"ledger"}, Lost: []string{"ledger (RolledBack)"}}
	}
	var parked Status
	at(h.env, 2*time.Hour+time.Minute, func() {
		parked = status(h.env)
		signal(h.env, SignalSkip, Action{By: "bo@example.com", Reason: "ledger stays; cut over without it"})
	})
	h.approveAll()
	res := h.run()
	if parked.LastError == nil || parked.LastError.Reason != string(runbooks.ReasonDependencyLost) || !strings.Contains(parked.LastError.Message, "ledger (RolledBack)") {
		t.Fatalf("not parked as dependency-lost: %+v", parked.LastError)
	}
	if res.Outcome != StageDone || len(res.Status.Skipped) != 1 || res.Status.Skipped[0] != stepHoldOtherWaves {
		t.Errorf("outcome %s, skipped %v", res.Outcome, res.Status.Skipped)
	}
}

// A hold never waits forever: past hold_timeout it parks
// (dependency-hold-timeout).
func TestHoldForOtherWavesTimesOut(t *testing.T) {
	h := newHarness(t)
	h.spec.DependsOn = []string{"ledger"}
	h.spec.Cutover.HoldTimeout = time.Hour
	h.f.Progress = func(in activities.DependencyProgressInput) activities.DependencyProgressResult {
		return activities.DependencyProgressResult{Watched: []string{"ledger"}, Pending: []string{"ledger (Provision)"}}
	}
	var parked Status
	at(h.env, 3*time.Hour+5*time.Minute, func() {
		parked = status(h.env)
		signal(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "wait for next quarter"})
	})
	h.approveAll()
	res := h.run()
	if parked.LastError == nil || parked.LastError.Reason != string(runbooks.ReasonDependencyHoldTimeout) {
		t.Fatalf("not parked as dependency-hold-timeout: %+v (stage %s)", parked.LastError, parked.Stage)
	}
	if res.Outcome != StageRolledBack {
		t.Errorf("outcome %s", res.Outcome)
	}
}

// A dependency in an earlier wave with no migration started parks the
// app at once (dependency-not-started) instead of holding for nothing.
func TestDependencyNotStartedParks(t *testing.T) {
	h := newHarness(t)
	h.spec.DependsOn = []string{"ledger"}
	h.f.Progress = func(in activities.DependencyProgressInput) activities.DependencyProgressResult {
		return activities.DependencyProgressResult{Watched: []string{"ledger"}, NotStarted: []string{"ledger (wave-1)"}}
	}
	var parked Status
	at(h.env, 2*time.Hour+time.Minute, func() {
		parked = status(h.env)
		signal(h.env, SignalSkip, Action{By: "bo@example.com", Reason: "ledger moves next quarter"})
	})
	h.approveAll()
	res := h.run()
	if parked.LastError == nil || parked.LastError.Reason != string(runbooks.ReasonDependencyNotStarted) || !strings.Contains(parked.LastError.Message, "ledger (wave-1)") {
		t.Fatalf("not parked as dependency-not-started: %+v", parked.LastError)
	}
	if res.Outcome != StageDone {
		t.Errorf("outcome %s after the skip", res.Outcome)
	}
}

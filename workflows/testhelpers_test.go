package workflows

import (
	"encoding/json"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/plan"
)

func testSpec() plan.AppSpec {
	return plan.AppSpec{
		Name: "billing-api", Wave: "wave-1", Owner: "ana@example.com", Tier: "tier-1",
		VMs: []plan.VMSpec{{Ref: "vm-1", Name: "billing-api-1", NumCPU: 2, MemoryMB: 4096, DiskGB: 40}},
		Approvers: map[string][]string{
			GatePlan:         {"ana@example.com", "bo@example.com"},
			GateCutover:      {"ana@example.com", "bo@example.com"},
			GateDecommission: {"ana@example.com"},
		},
		Cutover: plan.CutoverSpec{Strategy: "lb", Steps: []plan.Step{{Percent: 10, Bake: time.Minute}, {Percent: 50, Bake: time.Minute}, {Percent: 100, Bake: time.Minute}}},
		Hooks: []plan.HookSpec{
			{Name: "final-sync", At: plan.HookPreCutover, Command: []string{"true"}, Timeout: time.Minute},
			{Name: "smoke", At: plan.HookSmokeTest, Command: []string{"true"}, Timeout: time.Minute},
		},
		Rollback:     plan.RollbackSpec{Policy: "destroy"},
		GateReminder: 4 * time.Hour,
		Bake:         24 * time.Hour,
		Decommission: plan.DecommissionSpec{Retention: 7 * 24 * time.Hour, FinalAction: "archive"},
	}
}

// signalJSON sends a signal the way the Temporal UI does: a JSON payload.
func signal(env *testsuite.TestWorkflowEnvironment, name string, v any) {
	b, _ := json.Marshal(v)
	env.SignalWorkflow(name, json.RawMessage(b))
}

func status(env *testsuite.TestWorkflowEnvironment) Status {
	v, err := env.QueryWorkflow(QueryStatus)
	if err != nil {
		panic(err)
	}
	var st Status
	if err := v.Get(&st); err != nil {
		panic(err)
	}
	return st
}

// at schedules fn at a point of workflow time.
func at(env *testsuite.TestWorkflowEnvironment, d time.Duration, fn func()) {
	env.RegisterDelayedCallback(fn, d)
}

type activityResult = activities.SLOGateResult

func registerOpts(name string) workflow.RegisterOptions { return workflow.RegisterOptions{Name: name} }

// updateCB adapts the test environment's update callbacks.
type updateCB struct {
	done func(v any, err error)
	out  any
}

func (u *updateCB) Accept()          {}
func (u *updateCB) Reject(err error) { u.done(nil, err) }
func (u *updateCB) Complete(success any, err error) {
	if err == nil && u.out != nil {
		if p, ok := success.(interface{ Get(any) error }); ok {
			_ = p.Get(u.out)
			u.done(u.out, nil)
			return
		}
		if r, ok := success.(ApprovalRecord); ok {
			*(u.out.(*ApprovalRecord)) = r
			u.done(u.out, nil)
			return
		}
	}
	u.done(success, err)
}

package workflows

import (
	"encoding/json"
	"strings"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/internal/testkeys"
	"github.com/ferrymigrate/ferry/plan"
)

// testDigest names the reviewed plan of the unit tests' static store.
const testDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000001"

func people(names ...string) map[string][]string {
	out := map[string][]string{}
	for _, n := range names {
		out[n] = []string{testkeys.AuthorizedKey(n)}
	}
	return out
}

func testSpec() plan.AppSpec {
	return plan.AppSpec{
		People:    people("ana@example.com", "bo@example.com", "carl@example.com"),
		Operators: []string{"carl@example.com"},
		Name:      "billing-api", Wave: "wave-1", Owner: "ana@example.com", Tier: "tier-1",
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

// signal sends a signal the way the Temporal UI does, a JSON payload,
// signed as the ferry CLI signs it (--print-signal) when it names no
// signature: with the test key of the approver, for the open gate.
func signal(env *testsuite.TestWorkflowEnvironment, name string, v any) {
	signalRaw(env, name, signed(env, name, v))
}

// signed fills in the signature of an Approval or Action as the CLI does.
func signed(env *testsuite.TestWorkflowEnvironment, name string, v any) any {
	name = strings.TrimSuffix(name, "-update")
	st := status(env)
	seq := 0
	if st.Waiting != nil {
		seq = st.Waiting.Seq
	}
	stmt := identity.Statement{WorkflowID: testWorkflowID, RunID: st.RunID, Seq: seq, IssuedAt: env.Now()}
	switch a := v.(type) {
	case Approval:
		if a.Signature == "" {
			stmt.Kind, stmt.Stage, stmt.By, stmt.Text = map[string]string{SignalApprove: "approve", SignalReject: "reject"}[name], a.Stage, a.Approver, a.Comment
			a.Seq, a.IssuedAt, a.Signature = seq, stmt.IssuedAt, mustSign(stmt)
		}
		v = a
	case Action:
		if a.Signature == "" {
			if name == SignalRollback {
				stmt.Seq = 0
			}
			stmt.Kind, stmt.By, stmt.Text = name, a.By, a.Reason
			a.Seq, a.IssuedAt, a.Signature = stmt.Seq, stmt.IssuedAt, mustSign(stmt)
		}
		v = a
	}
	return v
}

// signalRaw sends the payload as it is (unsigned, forged, malformed).
func signalRaw(env *testsuite.TestWorkflowEnvironment, name string, v any) {
	b, _ := json.Marshal(v)
	env.SignalWorkflow(name, json.RawMessage(b))
}

func mustSign(s identity.Statement) string {
	sig, err := identity.Sign(s, testkeys.Signer(identity.Normalize(s.By)))
	if err != nil {
		panic(err)
	}
	return sig
}

// testWorkflowID is the ID the harness starts MigrateApp under.
var testWorkflowID = AppWorkflowID("billing-api")

// signedStart is a migration start signed by who at t.
func signedStart(app, who string, t time.Time) MigrateAppInput {
	in := MigrateAppInput{App: app, PlanDigest: testDigest, StartedBy: who, IssuedAt: t}
	in.Signature = mustSign(identity.Statement{WorkflowID: AppWorkflowID(app), Kind: "start", Stage: app, By: who, Text: testDigest, IssuedAt: t})
	return in
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

package tracking

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/ferrymigrate/ferry/internal/fakevis"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/workflows"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func info(app, runID string, status enumspb.WorkflowExecutionStatus, start time.Time, sa map[string]any) *workflowpb.WorkflowExecutionInfo {
	return fakevis.Run(workflows.AppWorkflowID(app), runID, status, start, sa)
}

func specs() []plan.AppSpec {
	mk := func(name, wave, owner string, cpus ...int32) plan.AppSpec {
		s := plan.AppSpec{Name: name, Wave: wave, Owner: owner}
		for _, c := range cpus {
			s.VMs = append(s.VMs, plan.VMSpec{Name: name + "-vm", NumCPU: c, DiskGB: 100})
		}
		return s
	}
	return []plan.AppSpec{
		mk("billing-api", "wave-1", "ana@x", 2, 2), mk("crm", "wave-1", "bo@x", 4),
		mk("ledger", "wave-2", "ana@x", 8, 8, 8), mk("wiki", "wave-2", "cy@x", 1),
	}
}

func TestListAndRows(t *testing.T) {
	ctx := context.Background()
	running := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	f := &fakevis.Visibility{PageSize: 2, Execs: []*workflowpb.WorkflowExecutionInfo{
		info("billing-api", "old", enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, t0, map[string]any{"FerryApp": "billing-api", "FerryStage": "Provision"}),
		info("billing-api", "new", running, t0.Add(time.Hour), map[string]any{"FerryApp": "billing-api", "FerryStage": "ApproveCutover",
			"FerryWave": "wave-1", "FerryOwner": "ana@x", "FerryWaitingOn": "cutover: ana@x, dan@x", "FerryWaitingSince": t0.Add(2 * time.Hour), "FerryVMs": 2}),
		info("crm", "c1", running, t0, map[string]any{"FerryApp": "crm", "FerryStage": "Blocked", "FerryWaitingOn": "retry",
			"FerryLastError": "health-check-failed: 0 of 1 healthy"}),
		info("ledger", "l1", enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, t0, map[string]any{"FerryApp": "ledger", "FerryStage": "Provision"}),
		info("retired", "r1", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, t0, map[string]any{"FerryApp": "retired", "FerryStage": "Done", "FerryDoneAt": t0.Add(time.Hour)}),
	}, Answers: map[fakevis.Query]any{
		{WorkflowID: "ferry-app-billing-api", Type: workflows.QueryStatus}: workflows.Status{Audit: []workflows.AuditEntry{{Signal: "approve", By: "eve@x", Reason: "eve@x is not an approver"}}},
	}}
	execs, err := ListMigrations(ctx, f, "default")
	require.NoError(t, err)
	assert.Equal(t, []string{MigrationsQuery, MigrationsQuery, MigrationsQuery}, f.Asked, "three pages")
	require.Len(t, execs, 4)
	assert.Equal(t, "new", execs["billing-api"].RunID, "newest run per app")

	rows := Rows(specs(), execs)
	require.Len(t, rows, 5)
	by := map[string]Row{}
	for _, r := range rows {
		by[r.App] = r
	}
	b := by["billing-api"]
	assert.Equal(t, "ApproveCutover", b.Stage)
	assert.Equal(t, "cutover", b.Gate)
	assert.Equal(t, []string{"ana@x", "dan@x"}, b.Approvers)
	assert.Equal(t, t0.Add(2*time.Hour), b.WaitingSince.UTC())
	assert.Equal(t, "runbooks/gate-approve-cutover.md", b.Runbook)
	assert.Equal(t, 2, b.VMs, "sizes come from the plan")
	assert.Equal(t, 4, b.VCPU)

	assert.Equal(t, "runbooks/health-check-failed.md", by["crm"].Runbook)
	assert.Equal(t, "retry", by["crm"].Gate)
	assert.Equal(t, "Terminated", by["ledger"].Stage, "an ended run that never reached a terminal stage shows how it ended")
	assert.Equal(t, workflows.StageNotStarted, by["wiki"].Stage)
	assert.Empty(t, by["wiki"].WorkflowID)
	assert.False(t, by["retired"].InPlan)
	assert.Equal(t, "retired", rows[4].App, "apps outside the plan come last")

	err = AddRefusals(ctx, f, rows, time.Second)
	require.Error(t, err, "crm has no query answer")
	for _, r := range rows {
		switch r.App {
		case "billing-api":
			require.NotNil(t, r.Refused)
			assert.Equal(t, 1, *r.Refused)
			assert.Contains(t, r.LastRefusal, "eve@x")
		default:
			assert.Nil(t, r.Refused, r.App)
		}
	}

	assert.Len(t, Filter(rows, "wave-1", "", ""), 2)
	assert.Len(t, Filter(rows, "", "ana@x", ""), 2)
	assert.Len(t, Filter(rows, "", "", "notstarted"), 1)
	assert.Len(t, Filter(rows, "wave-2", "ana@x", "Blocked"), 0)
}

func doneRow(s plan.AppSpec, start, done time.Time) Row {
	r := Rows([]plan.AppSpec{s}, nil)[0]
	r.Stage, r.StartedAt, r.DoneAt, r.Status = workflows.StageDone, start, done, "Completed"
	return r
}

func TestBurndownPoisson(t *testing.T) {
	sp := specs()
	now := t0.Add(14 * 24 * time.Hour)
	rows := []Row{
		doneRow(sp[0], t0, t0.Add(3*24*time.Hour)),
		doneRow(sp[1], t0.Add(time.Hour), t0.Add(10*24*time.Hour)),
		Rows(sp[2:3], nil)[0], Rows(sp[3:4], nil)[0],
	}
	b := Compute(rows, t0.Add(60*24*time.Hour), now)
	assert.Equal(t, Amounts{Apps: 4, VMs: 7, VCPU: 33, DiskGB: 700}, b.Total)
	assert.Equal(t, Amounts{Apps: 2, VMs: 4, VCPU: 25, DiskGB: 400}, b.Remaining)
	assert.Equal(t, t0, b.Start)
	require.Len(t, b.Series, 4)
	assert.Equal(t, 3, b.Series[1].Remaining.Apps)
	assert.Equal(t, "crm", b.Series[2].App)
	f := b.Forecast
	assert.InDelta(t, 1.0, f.VelocityPerWeek, 1e-9, "2 apps in 2 weeks")
	assert.Equal(t, []int{1, 1}, f.Weekly)
	assert.Equal(t, MethodPoisson, f.Method)
	require.NotNil(t, f.Finish)
	assert.Equal(t, now.Add(2*Week), *f.Finish)
	require.NotNil(t, f.Early)
	assert.True(t, f.Early.Before(*f.Finish))
	require.NotNil(t, f.Late)
	assert.True(t, f.Late.After(*f.Finish))
	require.NotNil(t, f.OnTrack)
	assert.True(t, *f.OnTrack)

	late := Compute(rows, t0.Add(20*24*time.Hour), now)
	assert.False(t, *late.Forecast.OnTrack)
	assert.InDelta(t, 2/(6.0/7), late.Forecast.RequiredPerWeek, 1e-9)
	assert.Contains(t, late.Summary(), "LATE")
}

func TestBurndownBootstrap(t *testing.T) {
	var sp []plan.AppSpec
	for i := 0; i < 30; i++ {
		sp = append(sp, plan.AppSpec{Name: string(rune('a'+i%26)) + strings.Repeat("x", i/26), VMs: []plan.VMSpec{{NumCPU: 1}}})
	}
	// Weekly completions 1, 3, 2, 4, 0, 2 over six weeks: 12 done, 18 left.
	weekly := []int{1, 3, 2, 4, 0, 2}
	var rows []Row
	i := 0
	for w, n := range weekly {
		for k := 0; k < n; k++ {
			rows = append(rows, doneRow(sp[i], t0, t0.Add(time.Duration(w)*Week+time.Duration(k+1)*time.Hour)))
			i++
		}
	}
	for ; i < len(sp); i++ {
		rows = append(rows, Rows(sp[i:i+1], nil)[0])
	}
	b := Compute(rows, time.Time{}, t0.Add(6*Week))
	f := b.Forecast
	assert.Equal(t, weekly, f.Weekly)
	assert.Equal(t, MethodBootstrap, f.Method)
	assert.InDelta(t, 2.0, f.VelocityPerWeek, 1e-9)
	require.NotNil(t, f.Finish)
	assert.Equal(t, b.Now.Add(9*Week), *f.Finish)
	require.NotNil(t, f.Early)
	require.NotNil(t, f.Late)
	assert.True(t, f.Early.Before(*f.Finish) && f.Late.After(*f.Finish), "band %v..%v around %v", f.Early, f.Late, f.Finish)
	assert.Nil(t, f.OnTrack, "no target")
	again := Compute(rows, time.Time{}, t0.Add(6*Week))
	assert.Equal(t, f.Early, again.Forecast.Early, "seeded: same history, same band")

	p10, p90 := bootstrap([]int{0, 0, 0}, 5)
	assert.True(t, p10 > 1e9 && p90 > 1e9, "a pace of zero never finishes")
}

func TestBurndownEdges(t *testing.T) {
	sp := specs()
	none := Compute(Rows(sp, nil), t0, t0)
	assert.Equal(t, 4, none.Remaining.Apps)
	assert.Nil(t, none.Forecast.Finish)
	assert.Equal(t, MethodNone, none.Forecast.Method)
	assert.Contains(t, none.Summary(), "no forecast yet")

	var all []Row
	for i, s := range sp {
		all = append(all, doneRow(s, t0, t0.Add(time.Duration(i+1)*time.Hour)))
	}
	fin := Compute(all, t0.Add(Week), t0.Add(Week))
	assert.Equal(t, 0, fin.Remaining.Apps)
	require.NotNil(t, fin.Forecast.Finish)
	assert.Equal(t, t0.Add(4*time.Hour), *fin.Forecast.Finish)
	assert.True(t, *fin.Forecast.OnTrack)
}

func TestCharts(t *testing.T) {
	sp := specs()
	now := t0.Add(14 * 24 * time.Hour)
	rows := []Row{doneRow(sp[0], t0, t0.Add(3*24*time.Hour)), doneRow(sp[1], t0, t0.Add(10*24*time.Hour)), Rows(sp[2:3], nil)[0], Rows(sp[3:4], nil)[0]}
	b := Compute(rows, t0.Add(60*24*time.Hour), now)
	var txt bytes.Buffer
	require.NoError(t, b.WriteText(&txt, 40, 8))
	out := txt.String()
	assert.Contains(t, out, "█")
	assert.Contains(t, out, "░")
	assert.Contains(t, out, "|")
	assert.Contains(t, out, "2 of 4 apps remaining")
	assert.Contains(t, out, "remaining: 2/4 apps, 4/7 VMs, 25/33 vCPU, 0.4/0.7 TB")
	lines := strings.Split(out, "\n")
	assert.True(t, strings.HasPrefix(lines[1], "   4 ┤█"), "full height at the start: %q", lines[1])

	var svg bytes.Buffer
	require.NoError(t, b.WriteSVG(&svg))
	s := svg.String()
	for _, want := range []string{`data-total="4"`, `data-done="2"`, `data-remaining="2"`, `class="actual"`, `class="forecast"`, `class="band"`, `class="target"`, `class="ideal"`, "Remaining apps: 2 of 4"} {
		assert.Contains(t, s, want)
	}
	at, fc := b.RemainingAt(t0.Add(5 * 24 * time.Hour))
	assert.Equal(t, 3.0, at)
	assert.False(t, fc)
	at, fc = b.RemainingAt(now.Add(Week))
	assert.InDelta(t, 1.0, at, 1e-9)
	assert.True(t, fc)
}

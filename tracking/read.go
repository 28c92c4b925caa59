// Package tracking turns Temporal visibility into the migration's progress:
// one status row per app of the plan (read through ferry's search
// attributes, newest run per app), the burndown of apps, VMs, vCPU and TB
// with a forecast against the plan's target date, and its charts (text for
// the terminal, SVG for files and the dashboard).
package tracking

import (
	"context"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ferrymigrate/ferry/workflows"
)

// Visibility is the part of the Temporal client tracking reads with.
type Visibility interface {
	ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
}

var _ Visibility = (client.Client)(nil)

// MigrationsQuery selects every app migration in visibility.
const MigrationsQuery = "WorkflowType = '" + workflows.MigrateAppWorkflowName + "'"

// Execution is one MigrateApp run as visibility shows it.
type Execution struct {
	App          string    `json:"app"`
	WorkflowID   string    `json:"workflowID"`
	RunID        string    `json:"runID"`
	Status       string    `json:"status"` // Running, Completed, Failed, Terminated, ...
	Stage        string    `json:"stage"`
	Wave         string    `json:"wave,omitempty"`
	Owner        string    `json:"owner,omitempty"`
	Tier         string    `json:"tier,omitempty"`
	WaitingOn    string    `json:"waitingOn,omitempty"` // "gate: approver,approver"
	WaitingSince time.Time `json:"waitingSince,omitzero"`
	LastError    string    `json:"lastError,omitempty"` // a reason code (older runs: "reason: message")
	VMs          int64     `json:"vms"`
	VCPU         int64     `json:"vcpu"`
	DiskGB       int64     `json:"diskGB"`
	CutoverAt    time.Time `json:"cutoverAt,omitzero"`
	DoneAt       time.Time `json:"doneAt,omitzero"`
	StartTime    time.Time `json:"startTime"`
	CloseTime    time.Time `json:"closeTime,omitzero"`
}

// ListMigrations reads every MigrateApp run from visibility and keeps the
// newest run of each app (by start time), keyed by app name.
func ListMigrations(ctx context.Context, v Visibility, namespace string) (map[string]Execution, error) {
	out := map[string]Execution{}
	var token []byte
	for {
		resp, err := v.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace, Query: MigrationsQuery, PageSize: 1000, NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list migrations in namespace %s (visibility query %q): %w; check that ferry's search attributes are registered (ferry dev does it)", namespace, MigrationsQuery, err)
		}
		for _, info := range resp.GetExecutions() {
			e := fromInfo(info)
			if e.App == "" {
				continue
			}
			if old, ok := out[e.App]; ok && !e.StartTime.After(old.StartTime) {
				continue
			}
			out[e.App] = e
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return out, nil
		}
	}
}

func fromInfo(info *workflowpb.WorkflowExecutionInfo) Execution {
	e := Execution{WorkflowID: info.GetExecution().GetWorkflowId(), RunID: info.GetExecution().GetRunId()}
	if t := info.GetStartTime(); t != nil {
		e.StartTime = t.AsTime()
	}
	if t := info.GetCloseTime(); t != nil {
		e.CloseTime = t.AsTime()
	}
	e.Status = statusName(info.GetStatus())
	sa := info.GetSearchAttributes().GetIndexedFields()
	str := func(k string) string {
		var s string
		if p := sa[k]; p != nil {
			_ = converter.GetDefaultDataConverter().FromPayload(p, &s)
		}
		return s
	}
	num := func(k string) int64 {
		var n int64
		if p := sa[k]; p != nil {
			_ = converter.GetDefaultDataConverter().FromPayload(p, &n)
		}
		return n
	}
	tm := func(k string) time.Time {
		var t time.Time
		if p := sa[k]; p != nil {
			_ = converter.GetDefaultDataConverter().FromPayload(p, &t)
		}
		return t
	}
	e.App = str(workflows.SAApp.GetName())
	if e.App == "" {
		e.App = strings.TrimPrefix(e.WorkflowID, workflows.AppWorkflowID(""))
	}
	e.Stage = str(workflows.SAStage.GetName())
	e.Wave = str(workflows.SAWave.GetName())
	e.Owner = str(workflows.SAOwner.GetName())
	e.Tier = str(workflows.SATier.GetName())
	e.WaitingOn = str(workflows.SAWaitingOn.GetName())
	e.WaitingSince = tm(workflows.SAWaitingSince.GetName())
	e.LastError = str(workflows.SALastError.GetName())
	e.VMs = num(workflows.SAVMs.GetName())
	e.VCPU = num(workflows.SAVCPU.GetName())
	e.DiskGB = num(workflows.SADiskGB.GetName())
	e.CutoverAt = tm(workflows.SACutoverAt.GetName())
	e.DoneAt = tm(workflows.SADoneAt.GetName())
	return e
}

func statusName(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "Running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "Completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "Failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "Canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "Terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "ContinuedAsNew"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "TimedOut"
	}
	return "Unknown"
}

// Package fakevis is a fake of the part of the Temporal client that reads
// visibility (ListWorkflow) and queries workflows (QueryWorkflow), shared by
// the tests of the dashboard, tracking and the dependency check. It imports
// no ferry package, so in-package tests of any of them can use it.
package fakevis

import (
	"context"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Visibility lists Execs a page at a time and answers queries from
// Answers.
type Visibility struct {
	Execs    []*workflowpb.WorkflowExecutionInfo
	PageSize int   // executions per page; 0: all in one
	Err      error // ListWorkflow fails with it
	// Answers holds the workflows' answers to queries; any other query
	// fails as a workflow without a worker would.
	Answers map[Query]any
	// Asked records the query of every ListWorkflow call, page by page.
	Asked []string
}

// Query is a query of one workflow.
type Query struct{ WorkflowID, Type string }

// ListWorkflow returns the page of Execs the request's token points at.
func (v *Visibility) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	v.Asked = append(v.Asked, req.GetQuery())
	if v.Err != nil {
		return nil, v.Err
	}
	start := 0
	if t := req.GetNextPageToken(); len(t) > 0 {
		start = int(t[0])
	}
	end := len(v.Execs)
	if v.PageSize > 0 {
		end = min(start+v.PageSize, end)
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{Executions: v.Execs[start:end]}
	if end < len(v.Execs) {
		resp.NextPageToken = []byte{byte(end)}
	}
	return resp, nil
}

// QueryWorkflow answers from Answers.
func (v *Visibility) QueryWorkflow(_ context.Context, workflowID, _, queryType string, _ ...any) (converter.EncodedValue, error) {
	a, ok := v.Answers[Query{workflowID, queryType}]
	if !ok {
		return nil, errors.New("no worker")
	}
	p, err := converter.GetDefaultDataConverter().ToPayloads(a)
	if err != nil {
		return nil, err
	}
	return client.NewValue(p), nil
}

// Run is a run of workflowID as visibility lists it, with its search
// attributes encoded by the default data converter.
func Run(workflowID, runID string, status enumspb.WorkflowExecutionStatus, start time.Time, attrs map[string]any) *workflowpb.WorkflowExecutionInfo {
	fields := make(map[string]*commonpb.Payload, len(attrs))
	for k, a := range attrs {
		p, err := converter.GetDefaultDataConverter().ToPayload(a)
		if err != nil {
			panic("fakevis: search attribute " + k + ": " + err.Error())
		}
		fields[k] = p
	}
	return &workflowpb.WorkflowExecutionInfo{
		Execution:        &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: runID},
		Status:           status,
		StartTime:        timestamppb.New(start),
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields},
	}
}

package tracking

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/workflows"
)

// Row is one app of the plan in `ferry status` and on the dashboard.
type Row struct {
	App          string    `json:"app"`
	Stage        string    `json:"stage"`
	Wave         string    `json:"wave,omitempty"`
	Owner        string    `json:"owner,omitempty"`
	Tier         string    `json:"tier,omitempty"`
	Gate         string    `json:"gate,omitempty"` // what it waits on: plan, cutover, retry, change-window, ...
	Approvers    []string  `json:"approvers,omitempty"`
	WaitingSince time.Time `json:"waitingSince,omitzero"`
	LastError    string    `json:"lastError,omitempty"`
	// Runbook is the runbook of the last error or of the open gate.
	Runbook string `json:"runbook,omitempty"`
	// AppRunbook is the app's own runbook from the plan.
	AppRunbook string `json:"appRunbook,omitempty"`
	WorkflowID string `json:"workflowID,omitempty"`
	RunID      string `json:"runID,omitempty"`
	// Status is the run's Temporal status (Running, Completed, ...); empty
	// when no migration was started.
	Status string `json:"status,omitempty"`
	// Refused counts the attempts the workflow refused (unauthorized
	// approvers, malformed payloads, ...); nil when unknown (closed or not
	// started runs are not queried, or the query failed).
	Refused     *int      `json:"refused,omitempty"`
	LastRefusal string    `json:"lastRefusal,omitempty"`
	VMs         int       `json:"vms"`
	VCPU        int       `json:"vcpu"`
	DiskGB      int64     `json:"diskGB"`
	StartedAt   time.Time `json:"startedAt,omitzero"`
	CutoverAt   time.Time `json:"cutoverAt,omitzero"`
	DoneAt      time.Time `json:"doneAt,omitzero"`
	InPlan      bool      `json:"inPlan"`
}

// Done says whether the app finished its migration.
func (r Row) Done() bool { return r.Stage == workflows.StageDone }

// Size returns the plan's totals for one app (what FerryVMs, FerryVCPU
// and FerryDiskGB hold).
func Size(s plan.AppSpec) (vms, vcpu int, diskGB int64) {
	for _, v := range s.VMs {
		vcpu += int(v.NumCPU)
		diskGB += v.DiskGB
	}
	return len(s.VMs), vcpu, diskGB
}

// Rows joins the plan and visibility: one row per app of the plan (stage
// NotStarted when it has no migration), then migrations of apps the plan no
// longer lists, sorted by app within each part.
func Rows(specs []plan.AppSpec, execs map[string]Execution) []Row {
	rows := make([]Row, 0, len(specs))
	seen := map[string]bool{}
	for _, s := range specs {
		seen[s.Name] = true
		r := Row{App: s.Name, Stage: workflows.StageNotStarted, Wave: s.Wave, Owner: s.Owner, Tier: s.Tier, AppRunbook: s.RunbookURL, InPlan: true}
		r.VMs, r.VCPU, r.DiskGB = Size(s)
		if e, ok := execs[s.Name]; ok {
			apply(&r, e)
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b Row) int { return strings.Compare(a.App, b.App) })
	var extra []Row
	for app, e := range execs {
		if seen[app] {
			continue
		}
		r := Row{App: app, Wave: e.Wave, Owner: e.Owner, Tier: e.Tier, VMs: int(e.VMs), VCPU: int(e.VCPU), DiskGB: e.DiskGB}
		apply(&r, e)
		extra = append(extra, r)
	}
	slices.SortFunc(extra, func(a, b Row) int { return strings.Compare(a.App, b.App) })
	return append(rows, extra...)
}

func apply(r *Row, e Execution) {
	r.WorkflowID, r.RunID, r.Status = e.WorkflowID, e.RunID, e.Status
	r.Stage = e.Stage
	if r.Stage == "" {
		r.Stage = workflows.StageDiscover
	}
	// A run that ended without reaching a terminal stage (terminated,
	// timed out, failed) must not look alive.
	if e.Status != "Running" && !terminal(r.Stage) {
		r.Stage = e.Status
	}
	if e.Wave != "" {
		r.Wave = e.Wave
	}
	if e.Owner != "" {
		r.Owner = e.Owner
	}
	r.Gate, r.Approvers = parseWaitingOn(e.WaitingOn)
	r.WaitingSince = e.WaitingSince
	r.LastError = e.LastError
	// FerryLastError holds a reason code (redact.Reason); older runs wrote
	// "reason: message".
	reason, _, _ := strings.Cut(e.LastError, ":")
	if reason = strings.TrimSpace(reason); reason != "" && (runbooks.Known(runbooks.Reason(reason)) || strings.Contains(e.LastError, ":")) {
		r.Runbook = runbooks.Link(runbooks.Reason(reason))
	} else if r.Gate != "" {
		if link := gateRunbook(r.Gate); link != "" {
			r.Runbook = link
		}
	}
	r.StartedAt, r.CutoverAt, r.DoneAt = e.StartTime, e.CutoverAt, e.DoneAt
	if r.Done() && r.DoneAt.IsZero() {
		r.DoneAt = e.CloseTime
	}
}

func terminal(stage string) bool {
	switch stage {
	case workflows.StageDone, workflows.StageRolledBack, workflows.StageRejected:
		return true
	}
	return false
}

// parseWaitingOn splits FerryWaitingOn ("cutover: a@x,b@x") into the gate
// and its approvers.
func parseWaitingOn(s string) (gate string, approvers []string) {
	gate, list, ok := strings.Cut(s, ":")
	gate = strings.TrimSpace(gate)
	if !ok {
		return gate, nil
	}
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a != "" {
			approvers = append(approvers, a)
		}
	}
	return gate, approvers
}

func gateRunbook(gate string) string {
	r := map[string]runbooks.Reason{
		workflows.GatePlan:         runbooks.ReasonGateApprovePlan,
		workflows.GateCutover:      runbooks.ReasonGateApproveCutover,
		workflows.GateDecommission: runbooks.ReasonGateApproveDecommission,
		workflows.GateDependencies: runbooks.ReasonGateAckDependencies,
		"change-window":            runbooks.ReasonChangeWindow,
		"retention":                runbooks.ReasonRetention,
	}[gate]
	if r == "" {
		return ""
	}
	return runbooks.Link(r)
}

// AddRefusals asks each running migration for its status and fills
// Refused and LastRefusal from its audit list, a few queries at a time.
// A query that fails leaves the row's count unknown; the first error is
// returned so callers can say why.
func AddRefusals(ctx context.Context, v Visibility, rows []Row, timeout time.Duration) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 4)
	)
	for i := range rows {
		r := &rows[i]
		if r.Status != "Running" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			qctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			var st workflows.Status
			val, err := v.QueryWorkflow(qctx, r.WorkflowID, r.RunID, workflows.QueryStatus)
			if err == nil {
				err = val.Get(&st)
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				return
			}
			n := len(st.Audit)
			r.Refused = &n
			if n > 0 {
				a := st.Audit[n-1]
				r.LastRefusal = a.Signal + " by " + a.By + ": " + a.Reason
			}
		}()
	}
	wg.Wait()
	return first
}

// Filter keeps the rows matching every non-empty criterion (stage matches
// case-insensitively).
func Filter(rows []Row, wave, owner, stage string) []Row {
	var out []Row
	for _, r := range rows {
		if (wave == "" || r.Wave == wave) && (owner == "" || r.Owner == owner) && (stage == "" || strings.EqualFold(r.Stage, stage)) {
			out = append(out, r)
		}
	}
	return out
}

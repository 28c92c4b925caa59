package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

// DefaultShutdownTimeout is how long a guest gets to shut down before a
// hard power-off when the plan says nothing.
const DefaultShutdownTimeout = 5 * time.Minute

// sourcesProgress is the heartbeat of the source VM activities: a retried
// attempt resumes after the VMs already done.
type sourcesProgress struct {
	Done    int      `json:"done"`
	Actions []string `json:"actions"`
}

// PowerOffSources shuts the app's source VMs down (guest shutdown, hard
// power-off after the plan's timeout) and tags each ferry:decommissioned
// with the date. A VM whose reference and name no longer match the plan
// fails it without retry (reason vm-identity-mismatch).
func (a *Activities) PowerOffSources(ctx context.Context, in SourcesInput) (SourcesResult, error) {
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return SourcesResult{}, err
	}
	timeout := spec.Decommission.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	date := in.Date
	if date.IsZero() {
		date = time.Now()
	}
	return a.eachSource(ctx, spec, "power off", func(c *inventory.Client, vm inventory.SourceVM) ([]string, error) {
		off, err := c.PowerOffSource(ctx, vm, timeout)
		if err != nil {
			return nil, err
		}
		mark, err := c.MarkDecommissioned(ctx, vm, date)
		return []string{off, mark}, err
	})
}

// PowerOnSources powers the app's source VMs back on and removes their
// decommission mark: the rollback of PowerOffSources.
func (a *Activities) PowerOnSources(ctx context.Context, in SourcesInput) (SourcesResult, error) {
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return SourcesResult{}, err
	}
	return a.eachSource(ctx, spec, "power on", func(c *inventory.Client, vm inventory.SourceVM) ([]string, error) {
		did, err := c.RestoreSource(ctx, vm, !slices.Contains(in.WasOff, vm.Ref))
		return []string{did}, err
	})
}

// FinalizeDecommission applies the plan's final action to the source VMs
// after the retention period: keep-off, archive (move to the archive
// folder) or delete.
func (a *Activities) FinalizeDecommission(ctx context.Context, in SourcesInput) (SourcesResult, error) {
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return SourcesResult{}, err
	}
	d := spec.Decommission
	timeout := d.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	return a.eachSource(ctx, spec, "finalize ("+d.FinalAction+")", func(c *inventory.Client, vm inventory.SourceVM) ([]string, error) {
		did, err := c.FinalizeSource(ctx, vm, d.FinalAction, d.ArchiveFolder, timeout)
		return []string{did}, err
	})
}

// eachSource runs act on every planned VM in order, heartbeating the
// progress, and resumes after the VMs a previous attempt finished.
func (a *Activities) eachSource(ctx context.Context, spec plan.AppSpec, what string,
	act func(*inventory.Client, inventory.SourceVM) ([]string, error)) (SourcesResult, error) {
	log := activity.GetLogger(ctx)
	if len(spec.VMs) == 0 {
		return SourcesResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s of app %s: the plan lists no source VMs", what, spec.Name), string(runbooks.ReasonDecommission), nil)
	}
	var mu sync.Mutex
	var p sourcesProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &p); err != nil || p.Done > len(spec.VMs) {
			p = sourcesProgress{}
		}
	}
	snapshot := func() any {
		mu.Lock()
		defer mu.Unlock()
		return sourcesProgress{Done: p.Done, Actions: append([]string(nil), p.Actions...)}
	}
	c, err := inventory.Connect(ctx, a.VCenter)
	if err != nil {
		return SourcesResult{}, decommissionError(err)
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	stop := keepAlive(ctx, snapshot)
	defer stop()
	for i := p.Done; i < len(spec.VMs); i++ {
		vm := inventory.SourceVM{Ref: spec.VMs[i].Ref, Name: spec.VMs[i].Name}
		did, err := act(c, vm)
		if err != nil {
			log.Error(what+" failed", "app", spec.Name, "vm", vm.String(), "error", err)
			return SourcesResult{Actions: snapshot().(sourcesProgress).Actions}, decommissionError(err)
		}
		mu.Lock()
		p.Done = i + 1
		p.Actions = append(p.Actions, did...)
		mu.Unlock()
		activity.RecordHeartbeat(ctx, snapshot())
		log.Info(what, "app", spec.Name, "vm", vm.String(), "did", did)
	}
	return SourcesResult{Actions: snapshot().(sourcesProgress).Actions}, nil
}

// decommissionError keeps the inventory error's reason (vm-identity-mismatch,
// decommission-failed, vcenter-*) and retries only transient faults.
func decommissionError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ie *inventory.Error
	if errors.As(err, &ie) {
		if ie.Retryable() && ie.Reason != runbooks.ReasonVMIdentityMismatch {
			return temporal.NewApplicationError(ie.Error(), string(ie.Reason))
		}
		return temporal.NewNonRetryableApplicationError(ie.Error(), string(ie.Reason), nil)
	}
	return temporal.NewApplicationError(err.Error(), string(runbooks.ReasonDecommission))
}

package gcpfake

import (
	"context"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// newJobName is the name of a new job of v in collection coll
// ("cloneJobs"), refusing a malformed id (its request field is field) or a
// job of that name.
func newJobName[J any](v *m2VM, coll, field, id string, jobs []J, nameOf func(J) string) (string, error) {
	if !resourceIDRE.MatchString(id) {
		return "", status.Errorf(codes.InvalidArgument, "%s %q must match %s", field, id, resourceIDRE)
	}
	name := v.pb.Name + "/" + coll + "/" + id
	for _, j := range jobs {
		if nameOf(j) == name {
			return "", status.Errorf(codes.AlreadyExists, "Resource '%s' already exists", name)
		}
	}
	return name, nil
}

// freeTarget is the VM a clone or cutover job (what) of v would create,
// refused when it cannot be built or something of its names exists.
func (m *M2VM) freeTarget(v *m2VM, what string) (targetSpec, error) {
	t, err := m.target(v.pb, m.sources[v.source].vms[v.pb.SourceVmId], true)
	if err != nil {
		return targetSpec{}, status.Error(codes.FailedPrecondition, err.Error())
	}
	if k := m.conflicts(t); k != "" {
		return targetSpec{}, status.Errorf(codes.FailedPrecondition, "The resource '%s' already exists: the %s's target must not exist.", k, what)
	}
	return t, nil
}

func (c *m2Clone) jobName() string   { return c.name }
func (c *m2Cutover) jobName() string { return c.name }

// --- clone jobs

func (x *m2vmServer) CreateCloneJob(_ context.Context, r *vmmigrationpb.CreateCloneJobRequest) (*longrunningpb.Operation, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idempotent(r.GetRequestId(), func() (*longrunningpb.Operation, error) {
		v, err := m.vm(r.GetParent())
		if err != nil {
			return nil, err
		}
		name, err := newJobName(v, "cloneJobs", "clone_job_id", r.GetCloneJobId(), v.clones, (*m2Clone).jobName)
		if err != nil {
			return nil, err
		}
		if v.state != vmmigrationpb.MigratingVm_ACTIVE && v.state != vmmigrationpb.MigratingVm_PAUSED {
			return nil, status.Errorf(codes.FailedPrecondition, "Cannot clone migrating VM %s in state %s: a clone needs a completed replication cycle (ACTIVE or PAUSED).", v.pb.Name, v.state)
		}
		if c := m.activeClone(v); c != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "A clone job (%s) is already running for migrating VM %s; only one may run at a time.", c.name, v.pb.Name)
		}
		if m.activeCutover(v) != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "Cannot clone migrating VM %s while a cutover job runs.", v.pb.Name)
		}
		t, err := m.freeTarget(v, "clone")
		if err != nil {
			return nil, err
		}
		now := m.now()
		c := &m2Clone{name: name, created: now, end: now.Add(m.opts.Clone), state: vmmigrationpb.CloneJob_ACTIVE, target: t,
			targetPB: proto.Clone(v.pb).(*vmmigrationpb.MigratingVm)}
		v.clones = append(v.clones, c)
		return m.operation(name, "create", name, m.cloneView(c))
	})
}

func (m *M2VM) clone(name string) (*m2VM, *m2Clone, error) {
	return child(m, name, "/cloneJobs/", func(v *m2VM) []*m2Clone { return v.clones }, func(_ *m2VM, c *m2Clone) string { return c.name })
}

func (x *m2vmServer) GetCloneJob(_ context.Context, r *vmmigrationpb.GetCloneJobRequest) (*vmmigrationpb.CloneJob, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	_, c, err := m.clone(r.GetName())
	if err != nil {
		return nil, err
	}
	return m.cloneView(c), nil
}

func (x *m2vmServer) ListCloneJobs(_ context.Context, r *vmmigrationpb.ListCloneJobsRequest) (*vmmigrationpb.ListCloneJobsResponse, error) {
	m := x.m
	items, next, err := listChildren(m, r, func(v *m2VM) []*m2Clone { return v.clones }, func(_ *m2VM, c *m2Clone) *vmmigrationpb.CloneJob { return m.cloneView(c) })
	if err != nil {
		return nil, err
	}
	return &vmmigrationpb.ListCloneJobsResponse{CloneJobs: items, NextPageToken: next}, nil
}

func (x *m2vmServer) CancelCloneJob(_ context.Context, r *vmmigrationpb.CancelCloneJobRequest) (*longrunningpb.Operation, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	_, c, err := m.clone(r.GetName())
	if err != nil {
		return nil, err
	}
	if c.state != vmmigrationpb.CloneJob_ACTIVE && c.state != vmmigrationpb.CloneJob_PENDING {
		return nil, status.Errorf(codes.FailedPrecondition, "Cannot cancel clone job %s in state %s.", c.name, c.state)
	}
	c.state, c.end = vmmigrationpb.CloneJob_CANCELLED, m.now()
	m.removeProducts(c.products)
	c.products = nil
	return m.operation(c.name, "cancel", c.name, &vmmigrationpb.CancelCloneJobResponse{})
}

// --- cutover jobs

func (x *m2vmServer) CreateCutoverJob(_ context.Context, r *vmmigrationpb.CreateCutoverJobRequest) (*longrunningpb.Operation, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idempotent(r.GetRequestId(), func() (*longrunningpb.Operation, error) {
		v, err := m.vm(r.GetParent())
		if err != nil {
			return nil, err
		}
		name, err := newJobName(v, "cutoverJobs", "cutover_job_id", r.GetCutoverJobId(), v.cutovers, (*m2Cutover).jobName)
		if err != nil {
			return nil, err
		}
		if v.state != vmmigrationpb.MigratingVm_ACTIVE {
			return nil, status.Errorf(codes.FailedPrecondition, "Cannot cut over migrating VM %s in state %s: it must be ACTIVE (first sync done, not paused).", v.pb.Name, v.state)
		}
		if c := m.activeClone(v); c != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "Cannot cut over migrating VM %s while clone job %s runs.", v.pb.Name, c.name)
		}
		t, err := m.freeTarget(v, "cutover")
		if err != nil {
			return nil, err
		}
		now := m.now()
		c := &m2Cutover{name: name, created: now, state: vmmigrationpb.CutoverJob_PENDING, target: t,
			targetPB: proto.Clone(v.pb).(*vmmigrationpb.MigratingVm)}
		v.cutovers = append(v.cutovers, c)
		m.setState(v, vmmigrationpb.MigratingVm_CUTTING_OVER, now)
		var shut [][2]string
		m.cutoverStep(v, c, now, &shut) // schedule its steps
		return m.operation(name, "create", name, m.cutoverView(v, c))
	})
}

func (m *M2VM) cutover(name string) (*m2VM, *m2Cutover, error) {
	return child(m, name, "/cutoverJobs/", func(v *m2VM) []*m2Cutover { return v.cutovers }, func(_ *m2VM, c *m2Cutover) string { return c.name })
}

func (x *m2vmServer) GetCutoverJob(_ context.Context, r *vmmigrationpb.GetCutoverJobRequest) (*vmmigrationpb.CutoverJob, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	v, c, err := m.cutover(r.GetName())
	if err != nil {
		return nil, err
	}
	return m.cutoverView(v, c), nil
}

func (x *m2vmServer) ListCutoverJobs(_ context.Context, r *vmmigrationpb.ListCutoverJobsRequest) (*vmmigrationpb.ListCutoverJobsResponse, error) {
	m := x.m
	items, next, err := listChildren(m, r, func(v *m2VM) []*m2Cutover { return v.cutovers }, m.cutoverView)
	if err != nil {
		return nil, err
	}
	return &vmmigrationpb.ListCutoverJobsResponse{CutoverJobs: items, NextPageToken: next}, nil
}

func (x *m2vmServer) CancelCutoverJob(_ context.Context, r *vmmigrationpb.CancelCutoverJobRequest) (*longrunningpb.Operation, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	v, c, err := m.cutover(r.GetName())
	if err != nil {
		return nil, err
	}
	if c.state != vmmigrationpb.CutoverJob_ACTIVE && c.state != vmmigrationpb.CutoverJob_PENDING {
		return nil, status.Errorf(codes.FailedPrecondition, "Cannot cancel cutover job %s in state %s.", c.name, c.state)
	}
	now := m.now()
	c.state, c.end = vmmigrationpb.CutoverJob_CANCELLED, now
	if cur := m.running(v); cur != nil {
		cur.state, cur.end = vmmigrationpb.ReplicationCycle_FAILED, now
	}
	m.setState(v, vmmigrationpb.MigratingVm_ACTIVE, now)
	v.nextAt = now
	return m.operation(c.name, "cancel", c.name, &vmmigrationpb.CancelCutoverJobResponse{})
}

// --- views (called with m.mu held)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func errStatus(msg string) *statuspb.Status {
	if msg == "" {
		return nil
	}
	return &statuspb.Status{Code: int32(codes.FailedPrecondition), Message: msg}
}

// forecast is the cutover job's expected length if it started now: the
// rest of a running cycle, shutting down, the final sync of what changed
// since the last copy, preparing disks.
func (m *M2VM) forecast(v *m2VM, now time.Time) time.Duration {
	oh := m.opts.StepOverhead
	d := 4*oh + m.copyTime(m.changed(v, v.lastCopy, now))
	if cur := m.running(v); cur != nil && cur.end.After(now) {
		d += cur.end.Sub(now)
	}
	return d
}

func (m *M2VM) view(v *m2VM, full bool) *vmmigrationpb.MigratingVm {
	now := m.now()
	pb := proto.Clone(v.pb).(*vmmigrationpb.MigratingVm)
	pb.State, pb.StateTime = v.state, ts(v.since)
	if cur := m.running(v); cur != nil {
		pb.CurrentSyncInfo = m.cycleView(v, cur)
	}
	for i := len(v.cycles) - 1; i >= 0; i-- {
		if c := v.cycles[i]; c.state == vmmigrationpb.ReplicationCycle_SUCCEEDED {
			pb.LastReplicationCycle = m.cycleView(v, c)
			pb.LastSync = &vmmigrationpb.ReplicationSync{LastSyncTime: ts(c.start)}
			break
		}
	}
	pb.Expiration = &vmmigrationpb.MigratingVm_Expiration{ExpireTime: ts(v.expire), ExtensionCount: v.extended, Extendable: v.extended < maxExtensions}
	pb.Error = errStatus(v.errMsg)
	if v.state == vmmigrationpb.MigratingVm_ACTIVE || v.state == vmmigrationpb.MigratingVm_PAUSED {
		pb.CutoverForecast = &vmmigrationpb.CutoverForecast{EstimatedCutoverJobDuration: durationpb.New(m.forecast(v, now))}
	}
	if full {
		for _, c := range lastN(v.clones, 5) {
			pb.RecentCloneJobs = append(pb.RecentCloneJobs, m.cloneView(c))
		}
		for _, c := range lastN(v.cutovers, 5) {
			pb.RecentCutoverJobs = append(pb.RecentCutoverJobs, m.cutoverView(v, c))
		}
	}
	return pb
}

func lastN[T any](l []T, n int) []T {
	if len(l) > n {
		return l[len(l)-n:]
	}
	return l
}

func (m *M2VM) cycleName(v *m2VM, c *m2Cycle) string {
	return fmt.Sprintf("%s/replicationCycles/cycle-%d", v.pb.Name, c.n)
}

func (m *M2VM) cycleView(v *m2VM, c *m2Cycle) *vmmigrationpb.ReplicationCycle {
	now := m.now()
	if c.state == vmmigrationpb.ReplicationCycle_PAUSED {
		now = c.pausedAt
	}
	oh := m.opts.StepOverhead
	span := c.end.Sub(c.start)
	frac := 1.0
	if c.state != vmmigrationpb.ReplicationCycle_SUCCEEDED && span > 0 {
		frac = min(max(float64(now.Sub(c.start))/float64(span), 0), 1)
	}
	out := &vmmigrationpb.ReplicationCycle{Name: m.cycleName(v, c), CycleNumber: c.n, StartTime: ts(c.start),
		TotalPauseDuration: durationpb.New(c.paused), ProgressPercent: int32(frac * 100), State: c.state}
	if c.state == vmmigrationpb.ReplicationCycle_SUCCEEDED || c.state == vmmigrationpb.ReplicationCycle_FAILED {
		out.EndTime = ts(c.end)
	}
	copyStart, copyEnd := c.start.Add(oh), c.end.Add(-oh)
	replicated := c.total
	if now.Before(copyEnd) && c.state != vmmigrationpb.ReplicationCycle_SUCCEEDED {
		replicated = int64(float64(c.total) * min(max(float64(now.Sub(copyStart))/float64(max(copyEnd.Sub(copyStart), 1)), 0), 1))
	}
	step := func(s *vmmigrationpb.CycleStep, from, to time.Time) {
		if now.Before(from) && c.state != vmmigrationpb.ReplicationCycle_SUCCEEDED {
			return
		}
		s.StartTime = ts(from)
		if !now.Before(to) || c.state == vmmigrationpb.ReplicationCycle_SUCCEEDED {
			s.EndTime = ts(to)
		}
		out.Steps = append(out.Steps, s)
	}
	step(&vmmigrationpb.CycleStep{Step: &vmmigrationpb.CycleStep_InitializingReplication{InitializingReplication: &vmmigrationpb.InitializingReplicationStep{}}}, c.start, copyStart)
	step(&vmmigrationpb.CycleStep{Step: &vmmigrationpb.CycleStep_Replicating{Replicating: &vmmigrationpb.ReplicatingStep{
		TotalBytes: c.total, ReplicatedBytes: replicated,
		LastTwoMinutesAverageBytesPerSecond: m.opts.BytesPerSecond, LastThirtyMinutesAverageBytesPerSecond: m.opts.BytesPerSecond}}}, copyStart, copyEnd)
	step(&vmmigrationpb.CycleStep{Step: &vmmigrationpb.CycleStep_PostProcessing{PostProcessing: &vmmigrationpb.PostProcessingStep{}}}, copyEnd, c.end)
	return out
}

func (m *M2VM) disksDetails(t targetSpec, products []string) *vmmigrationpb.ComputeEngineDisksTargetDetails {
	d := &vmmigrationpb.ComputeEngineDisksTargetDetails{}
	for _, k := range products {
		for _, ds := range t.disks {
			if strings.HasSuffix(k, "/disks/"+ds.name) {
				d.Disks = append(d.Disks, &vmmigrationpb.PersistentDisk{SourceDiskNumber: ds.source, DiskUri: computeBase + k})
			}
		}
	}
	if t.vmName != "" {
		uri := ""
		if len(products) > 0 {
			uri = computeBase + fmt.Sprintf("projects/%s/zones/%s/instances/%s", t.project, t.zone, t.vmName)
		}
		d.VmTarget = &vmmigrationpb.ComputeEngineDisksTargetDetails_VmTargetDetails{VmTargetDetails: &vmmigrationpb.DisksMigrationVmTargetDetails{VmUri: uri}}
	} else {
		d.VmTarget = &vmmigrationpb.ComputeEngineDisksTargetDetails_DisksTargetDetails{DisksTargetDetails: &vmmigrationpb.DisksMigrationDisksTargetDetails{}}
	}
	return d
}

func (m *M2VM) cloneView(c *m2Clone) *vmmigrationpb.CloneJob {
	out := &vmmigrationpb.CloneJob{Name: c.name, CreateTime: ts(c.created), State: c.state, Error: errStatus(c.errMsg),
		TargetVmDetails: &vmmigrationpb.CloneJob_ComputeEngineDisksTargetDetails{ComputeEngineDisksTargetDetails: m.disksDetails(c.target, c.products)}}
	out.StateTime = ts(c.created)
	if c.state != vmmigrationpb.CloneJob_ACTIVE && c.state != vmmigrationpb.CloneJob_PENDING {
		out.EndTime, out.StateTime = ts(c.end), ts(c.end)
	}
	now := m.now()
	third := c.end.Sub(c.created) / 3
	for i, s := range []*vmmigrationpb.CloneStep{
		{Step: &vmmigrationpb.CloneStep_AdaptingOs{AdaptingOs: &vmmigrationpb.AdaptingOSStep{}}},
		{Step: &vmmigrationpb.CloneStep_PreparingVmDisks{PreparingVmDisks: &vmmigrationpb.PreparingVMDisksStep{}}},
		{Step: &vmmigrationpb.CloneStep_InstantiatingMigratedVm{InstantiatingMigratedVm: &vmmigrationpb.InstantiatingMigratedVMStep{}}},
	} {
		from := c.created.Add(time.Duration(i) * third)
		if now.Before(from) || from.After(c.end) {
			break
		}
		s.StartTime = ts(from)
		if to := from.Add(third); !now.Before(to) {
			s.EndTime = ts(to)
		}
		out.Steps = append(out.Steps, s)
	}
	return out
}

func (m *M2VM) cutoverView(v *m2VM, c *m2Cutover) *vmmigrationpb.CutoverJob {
	now := m.now()
	out := &vmmigrationpb.CutoverJob{Name: c.name, CreateTime: ts(c.created), State: c.state, StateTime: ts(c.created),
		Error:           errStatus(c.errMsg),
		TargetVmDetails: &vmmigrationpb.CutoverJob_ComputeEngineDisksTargetDetails{ComputeEngineDisksTargetDetails: m.disksDetails(c.target, c.products)}}
	switch c.state {
	case vmmigrationpb.CutoverJob_SUCCEEDED, vmmigrationpb.CutoverJob_FAILED, vmmigrationpb.CutoverJob_CANCELLED:
		out.EndTime, out.StateTime, out.ProgressPercent = ts(c.end), ts(c.end), 100
		if c.state != vmmigrationpb.CutoverJob_SUCCEEDED {
			out.ProgressPercent = 0
		}
	default:
		if !c.end.IsZero() && c.end.After(c.created) {
			out.ProgressPercent = int32(min(max(float64(now.Sub(c.created))/float64(c.end.Sub(c.created)), 0), 0.99) * 100)
		}
	}
	add := func(s *vmmigrationpb.CutoverStep, from, to time.Time) {
		if from.IsZero() || now.Before(from) {
			return
		}
		s.StartTime = ts(from)
		if !to.IsZero() && !now.Before(to) {
			s.EndTime = ts(to)
		}
		out.Steps = append(out.Steps, s)
	}
	if c.prevEnd.After(c.created) {
		for _, cy := range v.cycles {
			if cy.end.Equal(c.prevEnd) {
				add(&vmmigrationpb.CutoverStep{Step: &vmmigrationpb.CutoverStep_PreviousReplicationCycle{PreviousReplicationCycle: m.cycleView(v, cy)}}, c.created, c.prevEnd)
			}
		}
	}
	add(&vmmigrationpb.CutoverStep{Step: &vmmigrationpb.CutoverStep_ShuttingDownSourceVm{ShuttingDownSourceVm: &vmmigrationpb.ShuttingDownSourceVMStep{}}}, c.prevEnd, c.shutEnd)
	if !c.syncStart.IsZero() {
		fc := &vmmigrationpb.ReplicationCycle{}
		for _, cy := range v.cycles {
			if cy.start.Equal(c.syncStart) {
				fc = m.cycleView(v, cy)
			}
		}
		add(&vmmigrationpb.CutoverStep{Step: &vmmigrationpb.CutoverStep_FinalSync{FinalSync: fc}}, c.syncStart, c.syncEnd)
		add(&vmmigrationpb.CutoverStep{Step: &vmmigrationpb.CutoverStep_PreparingVmDisks{PreparingVmDisks: &vmmigrationpb.PreparingVMDisksStep{}}}, c.syncEnd, c.end)
	}
	if c.state == vmmigrationpb.CutoverJob_ACTIVE || c.state == vmmigrationpb.CutoverJob_PENDING {
		out.StateMessage = fmt.Sprintf("%d steps of the cutover started", len(out.Steps))
	}
	return out
}

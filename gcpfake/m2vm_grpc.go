package gcpfake

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type m2vmServer struct {
	vmmigrationpb.UnimplementedVmMigrationServer
	m *M2VM
}

type m2opsServer struct {
	longrunningpb.UnimplementedOperationsServer
	m *M2VM
}

// intercept counts calls, brings the clock's events up to date and applies
// injected faults: a Fault's PathRegexp matches the full gRPC method
// ("/google.cloud.vmmigration.v1.VmMigration/StartMigration"), its Status
// maps to the gRPC code a Google front end returns for it (429 →
// RESOURCE_EXHAUSTED, 503 → UNAVAILABLE, other 5xx → INTERNAL).
func (m *M2VM) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	short := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
	m.mu.Lock()
	m.calls[short]++
	m.mu.Unlock()
	if err := m.s.grpcFault(ctx, info.FullMethod, "Rate Limit Exceeded", ""); err != nil {
		return nil, err
	}
	m.tick()
	resp, err := h(ctx, req)
	if err == nil && !strings.HasPrefix(short, "Get") && !strings.HasPrefix(short, "List") {
		m.mu.Lock()
		m.save()
		m.mu.Unlock()
	}
	return resp, err
}

var (
	uuidRE       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	resourceIDRE = regexp.MustCompile(`^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$`)
)

// idempotent returns the operation of an earlier request with the same
// request_id (the service keeps them at least 60 minutes), or runs f.
func (m *M2VM) idempotent(reqID string, f func() (*longrunningpb.Operation, error)) (*longrunningpb.Operation, error) {
	if reqID != "" {
		if !uuidRE.MatchString(reqID) || reqID == "00000000-0000-0000-0000-000000000000" {
			return nil, status.Errorf(codes.InvalidArgument, "request_id %q must be a valid non-zero UUID", reqID)
		}
		if name, ok := m.requests[reqID]; ok {
			return m.ops[name], nil
		}
	}
	op, err := f()
	if err == nil && reqID != "" {
		m.requests[reqID] = op.Name
	}
	return op, err
}

func notFound(name string) error {
	return status.Errorf(codes.NotFound, "Resource '%s' was not found", name)
}

func (m *M2VM) vm(name string) (*m2VM, error) {
	v := m.vms[name]
	if v == nil {
		return nil, notFound(name)
	}
	return v, nil
}

// onVM runs op, a method of the service on one migrating VM, on the VM
// called name with the lock held.
func (m *M2VM) onVM(name string, op func(m *M2VM, v *m2VM) (*longrunningpb.Operation, error)) (*longrunningpb.Operation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, err := m.vm(name)
	if err != nil {
		return nil, err
	}
	return op(m, v)
}

// listRequest is what every List method of the service takes.
type listRequest interface {
	GetParent() string
	GetFilter() string
	GetPageSize() int32
	GetPageToken() string
}

// listChildren is one page of the views of a migrating VM's jobs or cycles,
// as every List method under a migrating VM serves them, read under the
// lock.
func listChildren[J, V any](m *M2VM, r listRequest, jobs func(*m2VM) []J, view func(*m2VM, J) V) ([]V, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, err := m.vm(r.GetParent())
	if err != nil {
		return nil, "", err
	}
	if err := checkFilter(r.GetFilter()); err != nil {
		return nil, "", err
	}
	var out []V
	for _, j := range jobs(v) {
		out = append(out, view(v, j))
	}
	return page(out, r.GetPageSize(), r.GetPageToken())
}

// child finds the job or cycle called name ("<migrating VM><sep><id>")
// among its migrating VM's.
func child[J any](m *M2VM, name, sep string, jobs func(*m2VM) []J, nameOf func(*m2VM, J) string) (*m2VM, J, error) {
	var none J
	i := strings.Index(name, sep)
	if i < 0 {
		return nil, none, notFound(name)
	}
	v, err := m.vm(name[:i])
	if err != nil {
		return nil, none, err
	}
	for _, j := range jobs(v) {
		if nameOf(v, j) == name {
			return v, j, nil
		}
	}
	return nil, none, notFound(name)
}

func page[T any](items []T, size int32, token string) ([]T, string, error) {
	off := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", status.Errorf(codes.InvalidArgument, "invalid page_token %q", token)
		}
		off = n
	}
	if size <= 0 || size > 1000 {
		size = 500
	}
	end := min(off+int(size), len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[off:end], next, nil
}

func checkFilter(f string) error {
	if f != "" {
		return status.Errorf(codes.InvalidArgument, "gcpfake does not evaluate list filters (got %q): list without one", f)
	}
	return nil
}

// --- sources and target projects

func (x *m2vmServer) ListSources(_ context.Context, r *vmmigrationpb.ListSourcesRequest) (*vmmigrationpb.ListSourcesResponse, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := checkFilter(r.GetFilter()); err != nil {
		return nil, err
	}
	var out []*vmmigrationpb.Source
	for name, s := range m.sources {
		if strings.HasPrefix(name, r.GetParent()+"/sources/") {
			out = append(out, proto.Clone(s.pb).(*vmmigrationpb.Source))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	items, next, err := page(out, r.GetPageSize(), r.GetPageToken())
	return &vmmigrationpb.ListSourcesResponse{Sources: items, NextPageToken: next}, err
}

func (x *m2vmServer) GetSource(_ context.Context, r *vmmigrationpb.GetSourceRequest) (*vmmigrationpb.Source, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sources[r.GetName()]
	if s == nil {
		return nil, notFound(r.GetName())
	}
	return proto.Clone(s.pb).(*vmmigrationpb.Source), nil
}

func (x *m2vmServer) GetTargetProject(_ context.Context, r *vmmigrationpb.GetTargetProjectRequest) (*vmmigrationpb.TargetProject, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.targets[r.GetName()]
	if !ok {
		return nil, notFound(r.GetName())
	}
	return &vmmigrationpb.TargetProject{Name: r.GetName(), Project: p}, nil
}

// --- migrating VMs

func (x *m2vmServer) CreateMigratingVm(_ context.Context, r *vmmigrationpb.CreateMigratingVmRequest) (*longrunningpb.Operation, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idempotent(r.GetRequestId(), func() (*longrunningpb.Operation, error) {
		src := m.sources[r.GetParent()]
		if src == nil {
			return nil, notFound(r.GetParent())
		}
		if !resourceIDRE.MatchString(r.GetMigratingVmId()) {
			return nil, status.Errorf(codes.InvalidArgument, "migrating_vm_id %q must match %s", r.GetMigratingVmId(), resourceIDRE)
		}
		name := r.GetParent() + "/migratingVms/" + r.GetMigratingVmId()
		if m.vms[name] != nil {
			return nil, status.Errorf(codes.AlreadyExists, "Resource '%s' already exists", name)
		}
		in := r.GetMigratingVm()
		if in.GetSourceVmId() == "" {
			return nil, status.Error(codes.InvalidArgument, "migrating_vm.source_vm_id is required")
		}
		svm, known := src.vms[in.GetSourceVmId()]
		t, err := m.target(in, svm, known)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		now := m.now()
		pb := proto.Clone(in).(*vmmigrationpb.MigratingVm)
		pb.Name, pb.CreateTime, pb.UpdateTime = name, timestamppb.New(now), timestamppb.New(now)
		if pb.DisplayName == "" {
			pb.DisplayName = svm.Name
		}
		v := &m2VM{pb: pb, source: r.GetParent(), project: t.project, state: vmmigrationpb.MigratingVm_PENDING,
			since: now, expire: now.Add(expiryAfter)}
		for _, gb := range svm.DisksGB {
			v.bytes += gb << 30
		}
		m.vms[name] = v
		return m.operation(name, "create", name, m.view(v, true))
	})
}

func (x *m2vmServer) GetMigratingVm(_ context.Context, r *vmmigrationpb.GetMigratingVmRequest) (*vmmigrationpb.MigratingVm, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	v, err := m.vm(r.GetName())
	if err != nil {
		return nil, err
	}
	return m.view(v, r.GetView() == vmmigrationpb.MigratingVmView_MIGRATING_VM_VIEW_FULL), nil
}

func (x *m2vmServer) ListMigratingVms(_ context.Context, r *vmmigrationpb.ListMigratingVmsRequest) (*vmmigrationpb.ListMigratingVmsResponse, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := checkFilter(r.GetFilter()); err != nil {
		return nil, err
	}
	parent := r.GetParent()
	if m.sources[parent] == nil && !strings.HasSuffix(parent, "/sources/-") {
		return nil, notFound(parent)
	}
	var out []*vmmigrationpb.MigratingVm
	for _, v := range m.vms {
		if v.source == parent || strings.HasSuffix(parent, "/sources/-") && strings.HasPrefix(v.source, strings.TrimSuffix(parent, "-")) {
			out = append(out, m.view(v, r.GetView() == vmmigrationpb.MigratingVmView_MIGRATING_VM_VIEW_FULL))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	items, next, err := page(out, r.GetPageSize(), r.GetPageToken())
	return &vmmigrationpb.ListMigratingVmsResponse{MigratingVms: items, NextPageToken: next}, err
}

// busy refuses changes while the service itself is changing the VM.
func busy(v *m2VM, what string) error {
	switch v.state {
	case vmmigrationpb.MigratingVm_CUTTING_OVER, vmmigrationpb.MigratingVm_FINAL_SYNC, vmmigrationpb.MigratingVm_FINALIZING,
		vmmigrationpb.MigratingVm_FINALIZED, vmmigrationpb.MigratingVm_FINALIZED_EXPIRED:
		return status.Errorf(codes.FailedPrecondition, "Cannot %s migrating VM %s in state %s.", what, v.pb.Name, v.state)
	}
	return nil
}

func (x *m2vmServer) UpdateMigratingVm(_ context.Context, r *vmmigrationpb.UpdateMigratingVmRequest) (*longrunningpb.Operation, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idempotent(r.GetRequestId(), func() (*longrunningpb.Operation, error) {
		v, err := m.vm(r.GetMigratingVm().GetName())
		if err != nil {
			return nil, err
		}
		if err := busy(v, "update"); err != nil {
			return nil, err
		}
		allowed := map[string]bool{"display_name": true, "description": true, "policy": true, "labels": true,
			"compute_engine_target_defaults": true, "compute_engine_disks_target_defaults": true}
		next := proto.Clone(v.pb).(*vmmigrationpb.MigratingVm)
		dst, src := next.ProtoReflect(), r.GetMigratingVm().ProtoReflect()
		if len(r.GetUpdateMask().GetPaths()) == 0 {
			return nil, status.Error(codes.InvalidArgument, "update_mask is required")
		}
		for _, p := range r.GetUpdateMask().GetPaths() {
			top := strings.SplitN(p, ".", 2)[0]
			if !allowed[top] {
				return nil, status.Errorf(codes.InvalidArgument, "update_mask path %q cannot be updated", p)
			}
			fd := dst.Descriptor().Fields().ByName(protoName(top))
			if src.Has(fd) {
				dst.Set(fd, src.Get(fd))
			} else {
				dst.Clear(fd)
			}
		}
		svm, known := m.sources[v.source].vms[v.pb.SourceVmId]
		t, err := m.target(next, svm, known)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		next.UpdateTime = timestamppb.New(m.now())
		v.pb, v.project = next, t.project
		return m.operation(v.pb.Name, "update", v.pb.Name, m.view(v, true))
	})
}

func (x *m2vmServer) DeleteMigratingVm(_ context.Context, r *vmmigrationpb.DeleteMigratingVmRequest) (*longrunningpb.Operation, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	v, err := m.vm(r.GetName())
	if err != nil {
		return nil, err
	}
	if err := busy(v, "delete"); err != nil && v.state != vmmigrationpb.MigratingVm_FINALIZED {
		return nil, err
	}
	if m.activeClone(v) != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "Cannot delete migrating VM %s while a clone job is running; cancel it first.", v.pb.Name)
	}
	delete(m.vms, r.GetName())
	return m.operation(r.GetName(), "delete", r.GetName(), &emptypb.Empty{})
}

func (x *m2vmServer) StartMigration(_ context.Context, r *vmmigrationpb.StartMigrationRequest) (*longrunningpb.Operation, error) {
	return x.m.onVM(r.GetMigratingVm(), func(m *M2VM, v *m2VM) (*longrunningpb.Operation, error) {
		if v.state != vmmigrationpb.MigratingVm_READY {
			return nil, status.Errorf(codes.FailedPrecondition, "Cannot start migration of %s in state %s: it must be READY.", v.pb.Name, v.state)
		}
		host := strings.SplitN(v.pb.Name, "/", 3)[1]
		if n := m.activeIn(host); n >= m.opts.ActiveLimit {
			st, _ := status.New(codes.ResourceExhausted, fmt.Sprintf(
				"Quota exceeded for quota metric 'Active migrating VMs' and limit 'Active migrating VMs per project' of service 'vmmigration.googleapis.com' for consumer 'project_number:%s': %d of %d in use.",
				host, n, m.opts.ActiveLimit)).WithDetails(&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{
				Subject: "project:" + host, Description: fmt.Sprintf("Active migrating VMs per project (limit %d)", m.opts.ActiveLimit)}}},
				&errdetails.ErrorInfo{Reason: "RATE_LIMIT_EXCEEDED", Domain: "googleapis.com",
					Metadata: map[string]string{"quota_limit_value": strconv.Itoa(m.opts.ActiveLimit), "service": "vmmigration.googleapis.com"}})
			return nil, st.Err()
		}
		now := m.now()
		m.setState(v, vmmigrationpb.MigratingVm_FIRST_SYNC, now)
		m.startCycle(v, now)
		return m.operation(v.pb.Name, "startMigration", v.pb.Name, &vmmigrationpb.StartMigrationResponse{})
	})
}

func (x *m2vmServer) PauseMigration(_ context.Context, r *vmmigrationpb.PauseMigrationRequest) (*longrunningpb.Operation, error) {
	return x.m.onVM(r.GetMigratingVm(), func(m *M2VM, v *m2VM) (*longrunningpb.Operation, error) {
		if v.state != vmmigrationpb.MigratingVm_ACTIVE && v.state != vmmigrationpb.MigratingVm_FIRST_SYNC {
			return nil, status.Errorf(codes.FailedPrecondition, "Cannot pause migration of %s in state %s.", v.pb.Name, v.state)
		}
		if m.activeCutover(v) != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "Cannot pause migration of %s while a cutover job runs.", v.pb.Name)
		}
		now := m.now()
		if cur := m.running(v); cur != nil {
			cur.state = vmmigrationpb.ReplicationCycle_PAUSED
			cur.pausedAt = now
		}
		m.setState(v, vmmigrationpb.MigratingVm_PAUSED, now)
		return m.operation(v.pb.Name, "pauseMigration", v.pb.Name, &vmmigrationpb.PauseMigrationResponse{})
	})
}

func (x *m2vmServer) ResumeMigration(_ context.Context, r *vmmigrationpb.ResumeMigrationRequest) (*longrunningpb.Operation, error) {
	return x.m.onVM(r.GetMigratingVm(), func(m *M2VM, v *m2VM) (*longrunningpb.Operation, error) {
		if v.state != vmmigrationpb.MigratingVm_PAUSED {
			return nil, status.Errorf(codes.FailedPrecondition, "Cannot resume migration of %s in state %s.", v.pb.Name, v.state)
		}
		now := m.now()
		st := vmmigrationpb.MigratingVm_FIRST_SYNC
		for _, c := range v.cycles {
			if c.state == vmmigrationpb.ReplicationCycle_SUCCEEDED {
				st = vmmigrationpb.MigratingVm_ACTIVE
			}
		}
		if cur := m.running(v); cur != nil {
			cur.end = now.Add(cur.end.Sub(cur.pausedAt))
			cur.paused += now.Sub(cur.pausedAt)
			cur.state = vmmigrationpb.ReplicationCycle_RUNNING
		} else {
			v.nextAt = now
		}
		m.setState(v, st, now)
		return m.operation(v.pb.Name, "resumeMigration", v.pb.Name, &vmmigrationpb.ResumeMigrationResponse{})
	})
}

func (x *m2vmServer) FinalizeMigration(_ context.Context, r *vmmigrationpb.FinalizeMigrationRequest) (*longrunningpb.Operation, error) {
	return x.m.onVM(r.GetMigratingVm(), func(m *M2VM, v *m2VM) (*longrunningpb.Operation, error) {
		if v.state != vmmigrationpb.MigratingVm_CUTOVER {
			return nil, status.Errorf(codes.FailedPrecondition, "Cannot finalize migration of %s in state %s: it must be CUTOVER.", v.pb.Name, v.state)
		}
		m.setState(v, vmmigrationpb.MigratingVm_FINALIZING, m.now())
		return m.operation(v.pb.Name, "finalizeMigration", v.pb.Name, &vmmigrationpb.FinalizeMigrationResponse{})
	})
}

func (x *m2vmServer) ExtendMigration(_ context.Context, r *vmmigrationpb.ExtendMigrationRequest) (*longrunningpb.Operation, error) {
	return x.m.onVM(r.GetMigratingVm(), func(m *M2VM, v *m2VM) (*longrunningpb.Operation, error) {
		switch v.state {
		case vmmigrationpb.MigratingVm_FINALIZING, vmmigrationpb.MigratingVm_FINALIZED, vmmigrationpb.MigratingVm_FINALIZED_EXPIRED, vmmigrationpb.MigratingVm_ERROR:
			return nil, status.Errorf(codes.FailedPrecondition, "Cannot extend migration of %s in state %s.", v.pb.Name, v.state)
		}
		if v.extended >= maxExtensions {
			return nil, status.Errorf(codes.FailedPrecondition, "Migration %s was extended %d times already and is not extendable.", v.pb.Name, v.extended)
		}
		now := m.now()
		v.extended++
		v.expire = maxTime(v.expire, now).Add(extendBy)
		if v.state == vmmigrationpb.MigratingVm_EXPIRED {
			st := vmmigrationpb.MigratingVm_READY
			if len(v.cycles) > 0 {
				st, v.nextAt = vmmigrationpb.MigratingVm_ACTIVE, now
			}
			m.setState(v, st, now)
		}
		return m.operation(v.pb.Name, "extendMigration", v.pb.Name, &vmmigrationpb.ExtendMigrationResponse{})
	})
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// --- replication cycles

func (x *m2vmServer) ListReplicationCycles(_ context.Context, r *vmmigrationpb.ListReplicationCyclesRequest) (*vmmigrationpb.ListReplicationCyclesResponse, error) {
	m := x.m
	items, next, err := listChildren(m, r, func(v *m2VM) []*m2Cycle { return v.cycles }, m.cycleView)
	if err != nil {
		return nil, err
	}
	return &vmmigrationpb.ListReplicationCyclesResponse{ReplicationCycles: items, NextPageToken: next}, nil
}

func (x *m2vmServer) GetReplicationCycle(_ context.Context, r *vmmigrationpb.GetReplicationCycleRequest) (*vmmigrationpb.ReplicationCycle, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	v, c, err := child(m, r.GetName(), "/replicationCycles/", func(v *m2VM) []*m2Cycle { return v.cycles }, m.cycleName)
	if err != nil {
		return nil, err
	}
	return m.cycleView(v, c), nil
}

// --- operations

func (x *m2opsServer) GetOperation(_ context.Context, r *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	op := m.ops[r.GetName()]
	if op == nil {
		return nil, notFound(r.GetName())
	}
	return op, nil
}

func (x *m2opsServer) ListOperations(_ context.Context, r *longrunningpb.ListOperationsRequest) (*longrunningpb.ListOperationsResponse, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*longrunningpb.Operation
	for name, op := range m.ops {
		if strings.HasPrefix(name, r.GetName()+"/") {
			out = append(out, op)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	items, next, err := page(out, r.GetPageSize(), r.GetPageToken())
	return &longrunningpb.ListOperationsResponse{Operations: items, NextPageToken: next}, err
}

func (x *m2opsServer) DeleteOperation(_ context.Context, r *longrunningpb.DeleteOperationRequest) (*emptypb.Empty, error) {
	m := x.m
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.ops, r.GetName())
	return &emptypb.Empty{}, nil
}

func (x *m2opsServer) CancelOperation(context.Context, *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil // every operation is done when returned
}

func (x *m2opsServer) WaitOperation(ctx context.Context, r *longrunningpb.WaitOperationRequest) (*longrunningpb.Operation, error) {
	return x.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: r.GetName()})
}

// protoName maps an update_mask path segment to its proto field name.
func protoName(s string) protoreflect.Name { return protoreflect.Name(s) }

package gcpfake

// The Migrate to Virtual Machines API (vmmigration.googleapis.com v1),
// served over gRPC on its own listener as the cloud.google.com/go/vmmigration
// client speaks it by default. The model follows the real service:
//
//   - a MigratingVm is PENDING while its source VM is verified, then READY;
//     StartMigration runs the first sync (FIRST_SYNC), after which it is
//     ACTIVE and a replication cycle runs every policy.idle_duration;
//   - a clone job copies the latest cycle into Compute Engine (disks, and a
//     VM when the target names one); the clone's products are the
//     caller's to delete once it succeeded — the service deletes them only
//     when the job is cancelled or fails;
//   - a cutover job waits for a running cycle, shuts the source down
//     (CUTTING_OVER), runs the final sync (FINAL_SYNC), creates the disks
//     (and VM) and leaves the MigratingVm in CUTOVER; FinalizeMigration
//     then frees the replication (FINALIZING → FINALIZED);
//   - it refuses what the service refuses: starting a VM that is not READY,
//     a second concurrent clone, a cutover of a VM that is not ACTIVE, an
//     unknown source or target project, a disks target without zone, more
//     than 200 active replications in one project.
//
// Time is the fake's own clock (wall time plus whatever a test added with
// M2VM().Advance), so a test can run hours of replication in a millisecond;
// cycle lengths follow the bytes to copy at Options.M2VM.BytesPerSecond.

import (
	"fmt"
	"net"
	"sort"
	"sync"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// M2VMOptions tune the fake Migrate to Virtual Machines service. Zero
// values take the defaults in brackets.
type M2VMOptions struct {
	// BytesPerSecond is the replication throughput of one VM [50 MiB/s].
	BytesPerSecond int64
	// ChangePerHour is the share of a VM's disk bytes its guest rewrites
	// per hour, which the next cycle (or the final sync) copies [0.02].
	ChangePerHour float64
	// Verify is how long a new MigratingVm stays PENDING [30s].
	Verify time.Duration
	// IdleDuration between cycles when the MigratingVm's policy sets none [1h].
	IdleDuration time.Duration
	// StepOverhead is the fixed length of the non-copying steps of a cycle
	// or job (initialising, post-processing, shutting down, preparing
	// disks, instantiating) [20s each].
	StepOverhead time.Duration
	// Clone is how long a clone job runs [3m].
	Clone time.Duration
	// Finalize is how long FINALIZING lasts [30s].
	Finalize time.Duration
	// ActiveLimit is the per-project cap on active replications [200].
	ActiveLimit int
	// OnSourceShutdown is called (without locks held) when a cutover job
	// shuts a source VM down, with the source's name and the VM's id, so a
	// dev stack can power the vcsim VM off as the real connector would.
	OnSourceShutdown func(source, vmID string)
}

func (o M2VMOptions) withDefaults() M2VMOptions {
	if o.BytesPerSecond <= 0 {
		o.BytesPerSecond = 50 << 20
	}
	if o.ChangePerHour <= 0 {
		o.ChangePerHour = 0.02
	}
	if o.Verify <= 0 {
		o.Verify = 30 * time.Second
	}
	if o.IdleDuration <= 0 {
		o.IdleDuration = time.Hour
	}
	if o.StepOverhead <= 0 {
		o.StepOverhead = 20 * time.Second
	}
	if o.Clone <= 0 {
		o.Clone = 3 * time.Minute
	}
	if o.Finalize <= 0 {
		o.Finalize = 30 * time.Second
	}
	if o.ActiveLimit <= 0 {
		o.ActiveLimit = 200
	}
	return o
}

// SourceVM is a VM the fake's vCenter source offers for migration.
type SourceVM struct {
	ID      string  // the vCenter VM id (M2VM's source_vm_id), e.g. vm-42
	Name    string  // display name
	DisksGB []int64 // provisioned size of each disk, boot disk first
}

// M2VM is the fake Migrate to Virtual Machines service.
type M2VM struct {
	s    *Server
	opts M2VMOptions
	ln   net.Listener
	grpc *grpc.Server
	stop chan struct{}

	mu       sync.Mutex
	offset   time.Duration
	seq      int
	sources  map[string]*m2Source // by resource name
	targets  map[string]string    // target project resource name -> GCP project
	vms      map[string]*m2VM     // by resource name
	ops      map[string]*longrunningpb.Operation
	requests map[string]string // request_id -> operation name
	calls    map[string]int    // RPC method -> count
	dirty    bool              // changed since the last save (StateDir)
}

type m2Source struct {
	pb  *vmmigrationpb.Source
	vms map[string]SourceVM
}

type m2VM struct {
	pb       *vmmigrationpb.MigratingVm // the stored fields as created/updated
	source   string
	project  string // GCP project of the target
	state    vmmigrationpb.MigratingVm_State
	since    time.Time
	bytes    int64 // total disk bytes of the source VM
	cycles   []*m2Cycle
	nextAt   time.Time // when the next cycle starts (ACTIVE)
	lastCopy time.Time // start of the last cycle that copied: changes since then are pending
	clones   []*m2Clone
	cutovers []*m2Cutover
	expire   time.Time
	extended int32
	errMsg   string
}

type m2Cycle struct {
	n          int32
	start, end time.Time // end: when it finishes (in the future while running)
	total      int64
	state      vmmigrationpb.ReplicationCycle_State
	pausedAt   time.Time     // while PAUSED
	paused     time.Duration // total time paused
}

type m2Clone struct {
	name     string
	created  time.Time
	end      time.Time
	state    vmmigrationpb.CloneJob_State
	errMsg   string
	target   targetSpec
	targetPB *vmmigrationpb.MigratingVm // the target defaults the job read
	products []string                   // compute keys created (disks, instance)
}

type m2Cutover struct {
	name      string
	created   time.Time
	prevEnd   time.Time // a running cycle finishes
	shutEnd   time.Time // the source is shut down
	syncStart time.Time
	syncEnd   time.Time // final sync copied
	end       time.Time // disks (and VM) created
	syncBytes int64
	state     vmmigrationpb.CutoverJob_State
	errMsg    string
	target    targetSpec
	targetPB  *vmmigrationpb.MigratingVm
	products  []string
	shutDone  bool
}

// startM2VM listens on a second loopback port and serves the API.
func (s *Server) startM2VM() error {
	host, _, err := net.SplitHostPort(s.opts.Addr)
	if err != nil {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, "0")
	if s.opts.M2VMAddr != "" {
		addr = s.opts.M2VMAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("gcpfake: listen for the vmmigration API on %s (pick another Options.M2VMAddr): %w", addr, err)
	}
	m := &M2VM{s: s, opts: s.opts.M2VM.withDefaults(), ln: ln, stop: make(chan struct{}),
		sources: map[string]*m2Source{}, targets: map[string]string{}, vms: map[string]*m2VM{},
		ops: map[string]*longrunningpb.Operation{}, requests: map[string]string{}, calls: map[string]int{}}
	m.grpc = grpc.NewServer(grpc.UnaryInterceptor(m.intercept))
	vmmigrationpb.RegisterVmMigrationServer(m.grpc, &m2vmServer{m: m})
	longrunningpb.RegisterOperationsServer(m.grpc, &m2opsServer{m: m})
	s.m2 = m
	if err := m.load(); err != nil {
		ln.Close()
		return err
	}
	go func() { _ = m.grpc.Serve(ln) }()
	// Jobs finish (and create their disks) even when nobody polls.
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.tick()
			}
		}
	}()
	return nil
}

func (m *M2VM) close() {
	select {
	case <-m.stop:
		return // closed already
	default:
	}
	close(m.stop)
	m.grpc.Stop()
	m.mu.Lock()
	m.save()
	m.mu.Unlock()
}

// M2VM returns the fake Migrate to Virtual Machines service.
func (s *Server) M2VM() *M2VM { return s.m2 }

// M2VMEndpoint is the host:port of the vmmigration gRPC API, for
// option.WithEndpoint with option.WithoutAuthentication() and
// option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())).
func (s *Server) M2VMEndpoint() string { return s.m2.ln.Addr().String() }

// Now is the service's clock.
func (m *M2VM) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now()
}

func (m *M2VM) now() time.Time { return time.Now().Add(m.offset) }

// Advance moves the service's clock forward: cycles, jobs and expirations
// that fall in between happen, in order.
func (m *M2VM) Advance(d time.Duration) {
	m.mu.Lock()
	m.offset += d
	m.mu.Unlock()
	m.tick()
}

// AddSource registers a vCenter source (as `gcloud migration vms sources
// create` and its connector would) in project/location with the VMs it can
// replicate, and the project itself as a target project of the same id.
// It returns the source's resource name. Adding VMs to an existing source
// adds them.
func (m *M2VM) AddSource(project, location, id string, vms ...SourceVM) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := fmt.Sprintf("projects/%s/locations/%s/sources/%s", project, location, id)
	src := m.sources[name]
	if src == nil {
		ts := timestamppb.New(m.now())
		src = &m2Source{pb: &vmmigrationpb.Source{Name: name, CreateTime: ts, UpdateTime: ts,
			SourceDetails: &vmmigrationpb.Source_Vmware{Vmware: &vmmigrationpb.VmwareSourceDetails{
				VcenterIp: "127.0.0.1", ResolvedVcenterHost: "vcenter.local"}}}, vms: map[string]SourceVM{}}
		m.sources[name] = src
	}
	for _, v := range vms {
		src.vms[v.ID] = v
	}
	m.targets[fmt.Sprintf("projects/%s/locations/global/targetProjects/%s", project, project)] = project
	return name
}

// AddTargetProject registers a target project (another GCP project that
// migrated disks may be created in) under the host project.
func (m *M2VM) AddTargetProject(hostProject, id, gcpProject string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := fmt.Sprintf("projects/%s/locations/global/targetProjects/%s", hostProject, id)
	m.targets[name] = gcpProject
	return name
}

// M2VMState is a snapshot of one MigratingVm for test assertions.
type M2VMState struct {
	Name        string
	SourceVMID  string
	State       string
	Cycles      int      // finished cycles
	CloneJobs   []string // "name STATE"
	CutoverJobs []string // "name STATE"
}

// MigratingVMs lists every MigratingVm (of every source), sorted by name.
func (m *M2VM) MigratingVMs() []M2VMState {
	m.tick()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []M2VMState
	for _, v := range m.vms {
		st := M2VMState{Name: v.pb.Name, SourceVMID: v.pb.SourceVmId, State: v.state.String()}
		for _, c := range v.cycles {
			if c.state == vmmigrationpb.ReplicationCycle_SUCCEEDED {
				st.Cycles++
			}
		}
		for _, c := range v.clones {
			st.CloneJobs = append(st.CloneJobs, lastSegment(c.name)+" "+c.state.String())
		}
		for _, c := range v.cutovers {
			st.CutoverJobs = append(st.CutoverJobs, lastSegment(c.name)+" "+c.state.String())
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Calls returns how many times each RPC (short method name, e.g.
// "CreateMigratingVm") was served.
func (m *M2VM) Calls() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for k, v := range m.calls {
		out[k] = v
	}
	return out
}

// tick advances every MigratingVm to the clock; source shutdowns are
// reported after the lock is released.
func (m *M2VM) tick() {
	m.mu.Lock()
	var shut [][2]string
	now := m.now()
	for _, v := range m.vms {
		shut = append(shut, m.advance(v, now)...)
	}
	if m.dirty {
		m.save()
	}
	m.mu.Unlock()
	if f := m.opts.OnSourceShutdown; f != nil {
		for _, x := range shut {
			f(x[0], x[1])
		}
	}
}

func (m *M2VM) nextName(prefix string) string {
	m.seq++
	return fmt.Sprintf("%s-%d", prefix, m.seq)
}

// done wraps a finished operation's response.
func (m *M2VM) operation(parent, verb, target string, resp proto.Message) (*longrunningpb.Operation, error) {
	loc := parent
	if i := indexOfN(parent, '/', 4); i > 0 {
		loc = parent[:i]
	}
	name := loc + "/operations/" + m.nextName("operation")
	ts := timestamppb.New(m.now())
	md, err := anypb.New(&vmmigrationpb.OperationMetadata{CreateTime: ts, EndTime: ts, Target: target, Verb: verb, ApiVersion: "v1"})
	if err != nil {
		return nil, err
	}
	op := &longrunningpb.Operation{Name: name, Done: true, Metadata: md}
	if resp != nil {
		a, err := anypb.New(resp)
		if err != nil {
			return nil, err
		}
		op.Result = &longrunningpb.Operation_Response{Response: a}
	}
	m.ops[name] = op
	return op, nil
}

// indexOfN is the index of the n-th occurrence of c in s, or -1.
func indexOfN(s string, c byte, n int) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n--
			if n == 0 {
				return i
			}
		}
	}
	return -1
}

// SetStepOverhead changes the length of the non-copying steps of cycles and
// jobs scheduled from now on (a slow shutdown, say); restore puts the
// previous value back.
func (m *M2VM) SetStepOverhead(d time.Duration) (restore func()) {
	m.mu.Lock()
	old := m.opts.StepOverhead
	m.opts.StepOverhead = d
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		m.opts.StepOverhead = old
		m.mu.Unlock()
	}
}

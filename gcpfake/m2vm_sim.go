package gcpfake

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
)

// The simulation: everything below is called with m.mu held.

const (
	expiryAfter   = 180 * 24 * time.Hour
	extendBy      = 90 * 24 * time.Hour
	maxExtensions = 3
)

func (m *M2VM) setState(v *m2VM, st vmmigrationpb.MigratingVm_State, at time.Time) {
	v.state, v.since = st, at
	m.dirty = true
}

// active reports whether the MigratingVm counts against the per-project
// cap: started and not yet finalized (or failed or expired).
func active(st vmmigrationpb.MigratingVm_State) bool {
	switch st {
	case vmmigrationpb.MigratingVm_FIRST_SYNC, vmmigrationpb.MigratingVm_ACTIVE, vmmigrationpb.MigratingVm_PAUSED,
		vmmigrationpb.MigratingVm_CUTTING_OVER, vmmigrationpb.MigratingVm_FINAL_SYNC, vmmigrationpb.MigratingVm_CUTOVER,
		vmmigrationpb.MigratingVm_FINALIZING:
		return true
	}
	return false
}

func (m *M2VM) activeIn(project string) int {
	n := 0
	for name, v := range m.vms {
		if strings.HasPrefix(name, "projects/"+project+"/") && active(v.state) {
			n++
		}
	}
	return n
}

func (m *M2VM) running(v *m2VM) *m2Cycle {
	if n := len(v.cycles); n > 0 && v.cycles[n-1].state != vmmigrationpb.ReplicationCycle_SUCCEEDED &&
		v.cycles[n-1].state != vmmigrationpb.ReplicationCycle_FAILED {
		return v.cycles[n-1]
	}
	return nil
}

func (m *M2VM) activeCutover(v *m2VM) *m2Cutover {
	for _, c := range v.cutovers {
		if c.state == vmmigrationpb.CutoverJob_PENDING || c.state == vmmigrationpb.CutoverJob_ACTIVE {
			return c
		}
	}
	return nil
}

func (m *M2VM) activeClone(v *m2VM) *m2Clone {
	for _, c := range v.clones {
		if c.state == vmmigrationpb.CloneJob_PENDING || c.state == vmmigrationpb.CloneJob_ACTIVE {
			return c
		}
	}
	return nil
}

// changed is what the guest rewrote between from and to, which the next
// copy must move.
func (m *M2VM) changed(v *m2VM, from, to time.Time) int64 {
	b := int64(float64(v.bytes) * m.opts.ChangePerHour * to.Sub(from).Hours())
	return min(max(b, 1<<20), v.bytes)
}

func (m *M2VM) copyTime(b int64) time.Duration {
	return time.Duration(float64(b) / float64(m.opts.BytesPerSecond) * float64(time.Second))
}

func (m *M2VM) startCycle(v *m2VM, at time.Time) {
	b := v.bytes
	if len(v.cycles) > 0 {
		b = m.changed(v, v.lastCopy, at)
	}
	v.lastCopy, m.dirty = at, true
	v.cycles = append(v.cycles, &m2Cycle{n: int32(len(v.cycles) + 1), start: at,
		end: at.Add(2*m.opts.StepOverhead + m.copyTime(b)), total: b, state: vmmigrationpb.ReplicationCycle_RUNNING})
}

func (m *M2VM) idle(v *m2VM) time.Duration {
	if p := v.pb.GetPolicy().GetIdleDuration(); p != nil && p.AsDuration() > 0 {
		return p.AsDuration()
	}
	return m.opts.IdleDuration
}

// advance moves v to now, event by event; it returns the sources shut down.
func (m *M2VM) advance(v *m2VM, now time.Time) (shut [][2]string) {
	for i := 0; i < 100000; i++ {
		if !m.step(v, now, &shut) {
			break
		}
	}
	for _, c := range v.clones {
		if c.state == vmmigrationpb.CloneJob_ACTIVE && !now.Before(c.end) {
			m.finishClone(v, c)
		}
	}
	return shut
}

// step applies the earliest pending event at or before now.
func (m *M2VM) step(v *m2VM, now time.Time, shut *[][2]string) bool {
	switch v.state {
	case vmmigrationpb.MigratingVm_PENDING:
		at := v.since.Add(m.opts.Verify)
		if now.Before(at) {
			return false
		}
		src := m.sources[v.source]
		if _, ok := src.vms[v.pb.SourceVmId]; !ok {
			v.errMsg = fmt.Sprintf("The source VM %q was not found in source %s.", v.pb.SourceVmId, v.source)
			m.setState(v, vmmigrationpb.MigratingVm_ERROR, at)
			return true
		}
		m.setState(v, vmmigrationpb.MigratingVm_READY, at)
		return true
	case vmmigrationpb.MigratingVm_FIRST_SYNC, vmmigrationpb.MigratingVm_ACTIVE:
		if cur := m.running(v); cur != nil {
			if cur.state == vmmigrationpb.ReplicationCycle_PAUSED || now.Before(cur.end) {
				return false
			}
			cur.state = vmmigrationpb.ReplicationCycle_SUCCEEDED
			if v.state == vmmigrationpb.MigratingVm_FIRST_SYNC {
				m.setState(v, vmmigrationpb.MigratingVm_ACTIVE, cur.end)
			}
			v.nextAt = cur.end.Add(m.idle(v))
			return true
		}
		if c := m.activeCutover(v); c != nil {
			return m.cutoverStep(v, c, now, shut)
		}
		if !v.expire.IsZero() && !now.Before(v.expire) && v.expire.Before(v.nextAt) {
			m.setState(v, vmmigrationpb.MigratingVm_EXPIRED, v.expire)
			return true
		}
		if v.nextAt.IsZero() || now.Before(v.nextAt) {
			return false
		}
		m.startCycle(v, v.nextAt)
		return true
	case vmmigrationpb.MigratingVm_CUTTING_OVER, vmmigrationpb.MigratingVm_FINAL_SYNC:
		if c := m.activeCutover(v); c != nil {
			return m.cutoverStep(v, c, now, shut)
		}
	case vmmigrationpb.MigratingVm_FINALIZING:
		at := v.since.Add(m.opts.Finalize)
		if now.Before(at) {
			return false
		}
		m.setState(v, vmmigrationpb.MigratingVm_FINALIZED, at)
		return true
	case vmmigrationpb.MigratingVm_READY, vmmigrationpb.MigratingVm_PAUSED:
		if !v.expire.IsZero() && !now.Before(v.expire) {
			m.setState(v, vmmigrationpb.MigratingVm_EXPIRED, v.expire)
			return true
		}
	}
	return false
}

// cutoverStep moves a cutover job through its steps: wait for the running
// cycle, shut the source down, final sync, create the disks (and VM).
func (m *M2VM) cutoverStep(v *m2VM, c *m2Cutover, now time.Time, shut *[][2]string) bool {
	oh := m.opts.StepOverhead
	switch {
	case c.prevEnd.IsZero():
		// The previous cycle ended (the caller completes it first).
		c.prevEnd = c.created
		if n := len(v.cycles); n > 0 && v.cycles[n-1].end.After(c.created) {
			c.prevEnd = v.cycles[n-1].end
		}
		c.shutEnd = c.prevEnd.Add(oh)
		c.state = vmmigrationpb.CutoverJob_ACTIVE
		return true
	case !c.shutDone:
		if now.Before(c.prevEnd) {
			return false
		}
		c.shutDone = true
		*shut = append(*shut, [2]string{v.source, v.pb.SourceVmId})
		return true
	case c.syncStart.IsZero():
		if now.Before(c.shutEnd) {
			return false
		}
		c.syncStart = c.shutEnd
		c.syncBytes = m.changed(v, v.lastCopy, c.syncStart)
		c.syncEnd = c.syncStart.Add(2*oh + m.copyTime(c.syncBytes))
		c.end = c.syncEnd.Add(oh)
		if c.target.vmName != "" {
			c.end = c.end.Add(oh)
		}
		v.lastCopy = c.syncStart
		v.cycles = append(v.cycles, &m2Cycle{n: int32(len(v.cycles) + 1), start: c.syncStart, end: c.syncEnd,
			total: c.syncBytes, state: vmmigrationpb.ReplicationCycle_RUNNING})
		m.setState(v, vmmigrationpb.MigratingVm_FINAL_SYNC, c.syncStart)
		return true
	case m.running(v) != nil:
		cur := m.running(v)
		if now.Before(cur.end) {
			return false
		}
		cur.state = vmmigrationpb.ReplicationCycle_SUCCEEDED
		return true
	default:
		if now.Before(c.end) {
			return false
		}
		keys, err := m.createProducts(c.target, v, lastSegment(c.name))
		if err != nil {
			c.state, c.errMsg = vmmigrationpb.CutoverJob_FAILED, err.Error()
			v.errMsg = err.Error()
			m.setState(v, vmmigrationpb.MigratingVm_ACTIVE, c.end)
			v.nextAt = c.end.Add(m.idle(v))
			return true
		}
		c.products, m.dirty = keys, true
		c.state = vmmigrationpb.CutoverJob_SUCCEEDED
		m.setState(v, vmmigrationpb.MigratingVm_CUTOVER, c.end)
		return true
	}
}

func (m *M2VM) finishClone(v *m2VM, c *m2Clone) {
	keys, err := m.createProducts(c.target, v, lastSegment(c.name))
	if err != nil {
		c.state, c.errMsg, m.dirty = vmmigrationpb.CloneJob_FAILED, err.Error(), true
		return
	}
	c.products, m.dirty = keys, true
	c.state = vmmigrationpb.CloneJob_SUCCEEDED
}

// targetSpec is what a job creates, read from the MigratingVm's target
// defaults when the job is created (as the service does).
type targetSpec struct {
	project, zone string
	disks         []diskSpec
	vmName        string // "" for a disks-only target
	machineType   string
	nics          []*vmmigrationpb.NetworkInterface
	tags          []string
	labels        map[string]string
}

type diskSpec struct {
	name   string
	source int32
	typ    string
	sizeGB int64
	labels map[string]string
}

var diskTypes = map[vmmigrationpb.ComputeEngineDiskType]string{
	vmmigrationpb.ComputeEngineDiskType_COMPUTE_ENGINE_DISK_TYPE_UNSPECIFIED:        "pd-standard",
	vmmigrationpb.ComputeEngineDiskType_COMPUTE_ENGINE_DISK_TYPE_STANDARD:           "pd-standard",
	vmmigrationpb.ComputeEngineDiskType_COMPUTE_ENGINE_DISK_TYPE_SSD:                "pd-ssd",
	vmmigrationpb.ComputeEngineDiskType_COMPUTE_ENGINE_DISK_TYPE_BALANCED:           "pd-balanced",
	vmmigrationpb.ComputeEngineDiskType_COMPUTE_ENGINE_DISK_TYPE_HYPERDISK_BALANCED: "hyperdisk-balanced",
}

var gceNameRE = regexp.MustCompile(`^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$`)

// target reads and checks the MigratingVm's target defaults against its
// source VM; the message of an error is the service's InvalidArgument text.
func (m *M2VM) target(mv *vmmigrationpb.MigratingVm, svm SourceVM, known bool) (targetSpec, error) {
	var t targetSpec
	switch d := mv.GetTargetVmDefaults().(type) {
	case *vmmigrationpb.MigratingVm_ComputeEngineDisksTargetDefaults:
		x := d.ComputeEngineDisksTargetDefaults
		t.zone = x.GetZone()
		if t.zone == "" {
			return t, fmt.Errorf("compute_engine_disks_target_defaults.zone is required")
		}
		p, ok := m.targets[x.GetTargetProject()]
		if !ok {
			return t, fmt.Errorf("compute_engine_disks_target_defaults.target_project %q is not a target project of this project (projects/P/locations/global/targetProjects/T)", x.GetTargetProject())
		}
		t.project = p
		seen := map[int32]bool{}
		for i, pd := range x.GetDisks() {
			if seen[pd.GetSourceDiskNumber()] {
				return t, fmt.Errorf("compute_engine_disks_target_defaults.disks[%d]: source disk %d is listed twice", i, pd.GetSourceDiskNumber())
			}
			seen[pd.GetSourceDiskNumber()] = true
			if known && int(pd.GetSourceDiskNumber()) >= len(svm.DisksGB) {
				return t, fmt.Errorf("compute_engine_disks_target_defaults.disks[%d]: the source VM has no disk %d (it has %d)", i, pd.GetSourceDiskNumber(), len(svm.DisksGB))
			}
			name := pd.GetDiskName()
			if !gceNameRE.MatchString(name) {
				return t, fmt.Errorf("compute_engine_disks_target_defaults.disks[%d].disk_name %q is not a valid Compute Engine name", i, name)
			}
			ds := diskSpec{name: name, source: pd.GetSourceDiskNumber(), typ: diskTypes[pd.GetDiskType()], labels: pd.GetAdditionalLabels()}
			if int(ds.source) < len(svm.DisksGB) {
				ds.sizeGB = svm.DisksGB[ds.source]
			}
			t.disks = append(t.disks, ds)
		}
		if len(t.disks) == 0 {
			return t, fmt.Errorf("compute_engine_disks_target_defaults.disks: at least one disk is required")
		}
		switch vt := x.GetVmTarget().(type) {
		case *vmmigrationpb.ComputeEngineDisksTargetDefaults_VmTargetDefaults:
			y := vt.VmTargetDefaults
			if !gceNameRE.MatchString(y.GetVmName()) {
				return t, fmt.Errorf("vm_target_defaults.vm_name %q is not a valid Compute Engine name", y.GetVmName())
			}
			t.vmName, t.machineType, t.nics, t.tags, t.labels = y.GetVmName(), y.GetMachineType(), y.GetNetworkInterfaces(), y.GetNetworkTags(), y.GetLabels()
		case *vmmigrationpb.ComputeEngineDisksTargetDefaults_DisksTargetDefaults:
		default:
			return t, fmt.Errorf("compute_engine_disks_target_defaults needs disks_target_defaults or vm_target_defaults")
		}
	case *vmmigrationpb.MigratingVm_ComputeEngineTargetDefaults:
		x := d.ComputeEngineTargetDefaults
		if x.GetZone() == "" {
			return t, fmt.Errorf("compute_engine_target_defaults.zone is required")
		}
		p, ok := m.targets[x.GetTargetProject()]
		if !ok {
			return t, fmt.Errorf("compute_engine_target_defaults.target_project %q is not a target project of this project", x.GetTargetProject())
		}
		if !gceNameRE.MatchString(x.GetVmName()) {
			return t, fmt.Errorf("compute_engine_target_defaults.vm_name %q is not a valid Compute Engine name", x.GetVmName())
		}
		t.project, t.zone, t.vmName, t.machineType = p, x.GetZone(), x.GetVmName(), x.GetMachineType()
		t.nics, t.tags, t.labels = x.GetNetworkInterfaces(), x.GetNetworkTags(), x.GetLabels()
		for i, gb := range svm.DisksGB {
			name := x.GetVmName()
			if i > 0 {
				name = fmt.Sprintf("%s-%d", x.GetVmName(), i)
			}
			t.disks = append(t.disks, diskSpec{name: name, source: int32(i), typ: diskTypes[x.GetDiskType()], sizeGB: gb})
		}
	default:
		return t, fmt.Errorf("migrating_vm needs compute_engine_target_defaults or compute_engine_disks_target_defaults")
	}
	return t, nil
}

// conflicts names the first product of t that already exists in Compute
// Engine, or "".
func (m *M2VM) conflicts(t targetSpec) string {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	m.s.ensureProject(t.project)
	for _, d := range t.disks {
		k := fmt.Sprintf("projects/%s/zones/%s/disks/%s", t.project, t.zone, d.name)
		if m.s.state.Objects[k] != nil {
			return k
		}
	}
	if t.vmName != "" {
		k := fmt.Sprintf("projects/%s/zones/%s/instances/%s", t.project, t.zone, t.vmName)
		if m.s.state.Objects[k] != nil {
			return k
		}
	}
	return ""
}

// createProducts creates the job's disks (and VM) in the fake's Compute
// Engine state; on failure it removes what it created, as the service does.
func (m *M2VM) createProducts(t targetSpec, v *m2VM, job string) ([]string, error) {
	keys, err := m.insertProducts(t, v, job)
	if err == nil && t.vmName != "" {
		m.s.reconcile() // the data plane serves the new VM
	}
	return keys, err
}

func (m *M2VM) insertProducts(t targetSpec, v *m2VM, job string) ([]string, error) {
	s := m.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureProject(t.project)
	var keys []string
	undo := func() {
		for i := len(keys) - 1; i >= 0; i-- {
			delete(s.state.Objects, keys[i])
		}
	}
	scope := opScope{Project: t.project, Zone: t.zone}
	var attached []any
	for i, d := range t.disks {
		body := map[string]any{"name": d.name, "sizeGb": fmt.Sprint(max(d.sizeGB, 1)), "type": d.typ,
			"description": fmt.Sprintf("Migrated by Migrate to Virtual Machines from %s disk %d (%s)", v.pb.SourceVmId, d.source, job)}
		if len(d.labels) > 0 {
			l := map[string]any{}
			for k, x := range d.labels {
				l[k] = x
			}
			body["labels"] = l
		}
		c := &creq{project: t.project, scope: scope, coll: "disks", body: body}
		if _, aerr := s.insert(c, kinds["disks"]); aerr != nil {
			undo()
			return nil, fmt.Errorf("create disk %s: %s", c.key(), aerr.Message)
		}
		keys = append(keys, c.key())
		attached = append(attached, map[string]any{"source": computeBase + c.key(), "boot": i == 0 && d.source == 0, "autoDelete": true})
	}
	if t.vmName != "" {
		mt := t.machineType
		if mt == "" {
			mt = "n2-standard-2"
		}
		var nics []any
		for _, n := range t.nics {
			net := fullRef(t.project, "global/networks", n.GetNetwork())
			if s.state.Objects[strings.TrimPrefix(net, computeBase)] == nil {
				undo()
				return nil, fmt.Errorf("create VM %s: the network %s was not found", t.vmName, strings.TrimPrefix(net, computeBase))
			}
			ni := map[string]any{"network": net}
			if n.GetSubnetwork() != "" {
				ni["subnetwork"] = fullRef(t.project, "regions/"+regionOf(t.zone)+"/subnetworks", n.GetSubnetwork())
			}
			nics = append(nics, ni)
		}
		if len(nics) == 0 {
			nics = []any{map[string]any{}}
		}
		body := map[string]any{"name": t.vmName, "machineType": mt, "disks": attached, "networkInterfaces": nics}
		if len(t.labels) > 0 {
			l := map[string]any{}
			for k, x := range t.labels {
				l[k] = x
			}
			body["labels"] = l
		}
		if len(t.tags) > 0 {
			var items []any
			for _, x := range t.tags {
				items = append(items, x)
			}
			body["tags"] = map[string]any{"items": items}
		}
		c := &creq{project: t.project, scope: scope, coll: "instances", body: body}
		if _, aerr := s.insert(c, kinds["instances"]); aerr != nil {
			undo()
			return nil, fmt.Errorf("create VM %s: %s", c.key(), aerr.Message)
		}
		keys = append(keys, c.key())
	}
	s.save()
	return keys, nil
}

// removeProducts deletes what a cancelled job created (the VM first, then
// its disks).
func (m *M2VM) removeProducts(keys []string) {
	s := m.s
	s.mu.Lock()
	for i := len(keys) - 1; i >= 0; i-- {
		delete(s.state.Objects, keys[i])
	}
	s.save()
	s.mu.Unlock()
	s.reconcile()
}

// fullRef turns a name, a relative path or a selfLink into a selfLink.
func fullRef(project, coll, ref string) string {
	switch {
	case strings.HasPrefix(ref, computeBase):
		return ref
	case strings.HasPrefix(ref, "projects/"):
		return computeBase + ref
	case ref == "":
		ref = "default"
	}
	return fmt.Sprintf("%sprojects/%s/%s/%s", computeBase, project, coll, ref)
}

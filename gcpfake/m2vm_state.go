package gcpfake

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The Migrate to Virtual Machines state in StateDir/gcpfake-m2vm.json, so a
// restarted fake (ferry dev) still holds its replications. Times are
// absolute: a restarted fake catches up on what happened meanwhile.

type m2File struct {
	Offset   time.Duration              `json:"offset"`
	Seq      int                        `json:"seq"`
	Sources  map[string]m2SourceFile    `json:"sources"`
	Targets  map[string]string          `json:"targets"`
	VMs      []m2VMFile                 `json:"vms"`
	Ops      map[string]json.RawMessage `json:"ops"`
	Requests map[string]string          `json:"requests"`
}

type m2SourceFile struct {
	PB  json.RawMessage     `json:"pb"`
	VMs map[string]SourceVM `json:"vms"`
}

type m2VMFile struct {
	PB       json.RawMessage `json:"pb"`
	Source   string          `json:"source"`
	Project  string          `json:"project"`
	State    int32           `json:"state"`
	Since    time.Time       `json:"since"`
	Bytes    int64           `json:"bytes"`
	Cycles   []m2CycleFile   `json:"cycles"`
	NextAt   time.Time       `json:"nextAt"`
	LastCopy time.Time       `json:"lastCopy"`
	Expire   time.Time       `json:"expire"`
	Extended int32           `json:"extended"`
	ErrMsg   string          `json:"errMsg,omitempty"`
	Clones   []m2JobFile     `json:"clones,omitempty"`
	Cutovers []m2JobFile     `json:"cutovers,omitempty"`
}

type m2CycleFile struct {
	N        int32         `json:"n"`
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	Total    int64         `json:"total"`
	State    int32         `json:"state"`
	PausedAt time.Time     `json:"pausedAt"`
	Paused   time.Duration `json:"paused"`
}

// m2JobFile holds a clone or a cutover job (the cutover's times too).
type m2JobFile struct {
	Name      string          `json:"name"`
	Created   time.Time       `json:"created"`
	End       time.Time       `json:"end"`
	State     int32           `json:"state"`
	ErrMsg    string          `json:"errMsg,omitempty"`
	TargetPB  json.RawMessage `json:"targetPB"`
	Products  []string        `json:"products,omitempty"`
	PrevEnd   time.Time       `json:"prevEnd"`
	ShutEnd   time.Time       `json:"shutEnd"`
	SyncStart time.Time       `json:"syncStart"`
	SyncEnd   time.Time       `json:"syncEnd"`
	SyncBytes int64           `json:"syncBytes"`
	ShutDone  bool            `json:"shutDone"`
}

func (m *M2VM) path() string { return filepath.Join(m.s.opts.StateDir, "gcpfake-m2vm.json") }

// save writes the state file when one is configured; called with m.mu held.
func (m *M2VM) save() {
	m.dirty = false
	if m.s.opts.StateDir == "" {
		return
	}
	f := m2File{Offset: m.offset, Seq: m.seq, Sources: map[string]m2SourceFile{}, Targets: m.targets,
		Ops: map[string]json.RawMessage{}, Requests: m.requests}
	pj := func(x proto.Message) json.RawMessage { b, _ := protojson.Marshal(x); return b }
	for name, s := range m.sources {
		f.Sources[name] = m2SourceFile{PB: pj(s.pb), VMs: s.vms}
	}
	for name, op := range m.ops {
		f.Ops[name] = pj(op)
	}
	for _, v := range m.vms {
		vf := m2VMFile{PB: pj(v.pb), Source: v.source, Project: v.project, State: int32(v.state), Since: v.since, Bytes: v.bytes,
			NextAt: v.nextAt, LastCopy: v.lastCopy, Expire: v.expire, Extended: v.extended, ErrMsg: v.errMsg}
		for _, c := range v.cycles {
			vf.Cycles = append(vf.Cycles, m2CycleFile{N: c.n, Start: c.start, End: c.end, Total: c.total, State: int32(c.state), PausedAt: c.pausedAt, Paused: c.paused})
		}
		for _, c := range v.clones {
			vf.Clones = append(vf.Clones, m2JobFile{Name: c.name, Created: c.created, End: c.end, State: int32(c.state), ErrMsg: c.errMsg,
				TargetPB: pj(c.targetPB), Products: c.products})
		}
		for _, c := range v.cutovers {
			vf.Cutovers = append(vf.Cutovers, m2JobFile{Name: c.name, Created: c.created, End: c.end, State: int32(c.state), ErrMsg: c.errMsg,
				TargetPB: pj(c.targetPB), Products: c.products, PrevEnd: c.prevEnd, ShutEnd: c.shutEnd, SyncStart: c.syncStart,
				SyncEnd: c.syncEnd, SyncBytes: c.syncBytes, ShutDone: c.shutDone})
		}
		f.VMs = append(f.VMs, vf)
	}
	b, err := json.Marshal(&f)
	if err != nil {
		m.s.logf("gcpfake: cannot encode vmmigration state: %v", err)
		return
	}
	tmp := m.path() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		m.s.logf("gcpfake: cannot write %s: %v", tmp, err)
		return
	}
	if err := os.Rename(tmp, m.path()); err != nil {
		m.s.logf("gcpfake: cannot write %s: %v", m.path(), err)
	}
}

// load reads the state file, if there is one.
func (m *M2VM) load() error {
	if m.s.opts.StateDir == "" {
		return nil
	}
	b, err := os.ReadFile(m.path())
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("gcpfake: read %s: %w", m.path(), err)
	}
	corrupt := func(err error) error {
		return fmt.Errorf("gcpfake: %s is corrupt (delete it to start without replications): %w", m.path(), err)
	}
	var f m2File
	if err := json.Unmarshal(b, &f); err != nil {
		return corrupt(err)
	}
	m.offset, m.seq = f.Offset, f.Seq
	for k, v := range f.Targets {
		m.targets[k] = v
	}
	for k, v := range f.Requests {
		m.requests[k] = v
	}
	for name, raw := range f.Ops {
		op := &longrunningpb.Operation{}
		if err := protojson.Unmarshal(raw, op); err != nil {
			return corrupt(err)
		}
		m.ops[name] = op
	}
	for name, sf := range f.Sources {
		pb := &vmmigrationpb.Source{}
		if err := protojson.Unmarshal(sf.PB, pb); err != nil {
			return corrupt(err)
		}
		if sf.VMs == nil {
			sf.VMs = map[string]SourceVM{}
		}
		m.sources[name] = &m2Source{pb: pb, vms: sf.VMs}
	}
	for _, vf := range f.VMs {
		pb := &vmmigrationpb.MigratingVm{}
		if err := protojson.Unmarshal(vf.PB, pb); err != nil {
			return corrupt(err)
		}
		v := &m2VM{pb: pb, source: vf.Source, project: vf.Project, state: vmmigrationpb.MigratingVm_State(vf.State), since: vf.Since,
			bytes: vf.Bytes, nextAt: vf.NextAt, lastCopy: vf.LastCopy, expire: vf.Expire, extended: vf.Extended, errMsg: vf.ErrMsg}
		for _, c := range vf.Cycles {
			v.cycles = append(v.cycles, &m2Cycle{n: c.N, start: c.Start, end: c.End, total: c.Total,
				state: vmmigrationpb.ReplicationCycle_State(c.State), pausedAt: c.PausedAt, paused: c.Paused})
		}
		src := m.sources[v.source]
		if src == nil {
			return corrupt(fmt.Errorf("migrating VM %s of unknown source %s", pb.Name, v.source))
		}
		svm, known := src.vms[pb.SourceVmId]
		target := func(raw json.RawMessage) (targetSpec, *vmmigrationpb.MigratingVm, error) {
			tpb := &vmmigrationpb.MigratingVm{}
			if err := protojson.Unmarshal(raw, tpb); err != nil {
				return targetSpec{}, nil, err
			}
			t, err := m.target(tpb, svm, known)
			return t, tpb, err
		}
		for _, c := range vf.Clones {
			t, tpb, err := target(c.TargetPB)
			if err != nil {
				return corrupt(err)
			}
			v.clones = append(v.clones, &m2Clone{name: c.Name, created: c.Created, end: c.End, state: vmmigrationpb.CloneJob_State(c.State),
				errMsg: c.ErrMsg, target: t, targetPB: tpb, products: c.Products})
		}
		for _, c := range vf.Cutovers {
			t, tpb, err := target(c.TargetPB)
			if err != nil {
				return corrupt(err)
			}
			v.cutovers = append(v.cutovers, &m2Cutover{name: c.Name, created: c.Created, end: c.End, state: vmmigrationpb.CutoverJob_State(c.State),
				errMsg: c.ErrMsg, target: t, targetPB: tpb, products: c.Products, prevEnd: c.PrevEnd, shutEnd: c.ShutEnd,
				syncStart: c.SyncStart, syncEnd: c.SyncEnd, syncBytes: c.SyncBytes, shutDone: c.ShutDone})
		}
		m.vms[pb.Name] = v
	}
	return nil
}

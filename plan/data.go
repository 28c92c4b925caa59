package plan

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/ferrymigrate/ferry/inventory"
)

// Data strategies: how an app's data reaches GCP (docs/plan.md "Data").
const (
	// DataNone: instances start from images with empty data disks; data is
	// whatever the app's hooks move. The default.
	DataNone = "none"
	// DataReplicate: Migrate to Virtual Machines replicates every disk of
	// every VM; the instances boot from the replicated disks.
	DataReplicate = "replicate"
	// DataSync: the app's own tools (database replication, rsync) keep a
	// copy in sync; a lag probe gates the cutover.
	DataSync = "sync"
)

// DataStrategies lists the values of an app's data attribute.
var DataStrategies = []string{DataNone, DataReplicate, DataSync}

// Defaults of the data settings.
var (
	DefaultMaxLag         = 30 * time.Second
	DefaultSyncTimeout    = 2 * time.Minute
	DefaultLagEvery       = time.Minute
	DefaultReplicaPerProj = 200 // Migrate to Virtual Machines' own cap
)

// DataSpec is how the app's data moves.
type DataSpec struct {
	Strategy  string         `json:"strategy"` // none | replicate | sync
	Replicate *ReplicateSpec `json:"replicate,omitempty"`
	Sync      *SyncSpec      `json:"sync,omitempty"`
}

// ReplicateSpec is the app's Migrate to Virtual Machines settings.
type ReplicateSpec struct {
	// Location is the M2VM location of the sources (e.g. europe-west1);
	// HostProject the project the M2VM service runs in.
	Location    string `json:"location"`
	HostProject string `json:"hostProject"`
	// TargetProject is the M2VM target project resource
	// (projects/H/locations/global/targetProjects/T) whose GCP project
	// the disks are created in: the app's project.
	TargetProject string `json:"targetProject"`
	// TestClone runs a clone into TestNetwork before the cutover gate.
	TestClone      bool   `json:"testClone"`
	TestNetwork    string `json:"testNetwork,omitempty"`
	TestSubnetwork string `json:"testSubnetwork,omitempty"`
	// Limits are estate-wide caps on active replications.
	Limits ReplicationLimits `json:"limits"`
	VMs    []ReplicaVM       `json:"vms"`
}

// ReplicationLimits cap active replications across every wave; 0 means
// no cap at that level (PerProject is always set).
type ReplicationLimits struct {
	PerProject   int `json:"perProject"`
	PerSource    int `json:"perSource,omitempty"` // per vCenter (M2VM source)
	PerHost      int `json:"perHost,omitempty"`   // per ESXi host
	PerDatastore int `json:"perDatastore,omitempty"`
}

// ReplicaVM is one VM to replicate: where it runs in the datacenter (for
// the caps) and which M2VM source reads it.
type ReplicaVM struct {
	Ref        string   `json:"ref"` // vCenter id, M2VM's source_vm_id
	Name       string   `json:"name"`
	GCEName    string   `json:"gceName"`
	Datacenter string   `json:"datacenter"`
	Source     string   `json:"source"` // projects/H/locations/L/sources/S
	Host       string   `json:"host,omitempty"`
	Datastores []string `json:"datastores,omitempty"`
	Disks      int      `json:"disks"` // boot disk first
}

// SyncSpec is the app-level sync: commands from the reviewed plan only.
type SyncSpec struct {
	Start   []string          `json:"start,omitempty"`   // starts (or confirms) the sync; idempotent
	Lag     []string          `json:"lag"`               // prints the lag in seconds
	CatchUp []string          `json:"catchUp,omitempty"` // final catch-up inside the cutover
	Reverse []string          `json:"reverse,omitempty"` // reverse sync for a rollback after writes moved
	MaxLag  time.Duration     `json:"maxLag"`
	Every   time.Duration     `json:"every"`   // how often the lag is probed
	Timeout time.Duration     `json:"timeout"` // per command
	Env     map[string]string `json:"env,omitempty"`
	Dir     string            `json:"dir,omitempty"`
}

type m2vmConf struct {
	Location       string          `hcl:"location,optional"`
	TargetProject  string          `hcl:"target_project,optional"`
	TestNetwork    string          `hcl:"test_network,optional"`
	TestSubnetwork string          `hcl:"test_subnetwork,optional"`
	Datacenters    []*m2vmDCConf   `hcl:"datacenter,block"`
	Limits         *replLimitsConf `hcl:"limits,block"`
}

type m2vmDCConf struct {
	Name   string `hcl:"name,label"`
	Source string `hcl:"source"`
}

type replLimitsConf struct {
	PerProject   *int `hcl:"per_project,optional"`
	PerSource    *int `hcl:"per_source,optional"`
	PerHost      *int `hcl:"per_host,optional"`
	PerDatastore *int `hcl:"per_datastore,optional"`
}

type replicateConf struct {
	TestClone      *bool  `hcl:"test_clone,optional"`
	TestNetwork    string `hcl:"test_network,optional"`
	TestSubnetwork string `hcl:"test_subnetwork,optional"`
}

type syncConf struct {
	Start   []string          `hcl:"start_command,optional"`
	Lag     []string          `hcl:"lag_command"`
	CatchUp []string          `hcl:"catch_up_command,optional"`
	Reverse []string          `hcl:"reverse_command,optional"`
	MaxLag  string            `hcl:"max_lag,optional"`
	Every   string            `hcl:"probe_every,optional"`
	Timeout string            `hcl:"timeout,optional"`
	Env     map[string]string `hcl:"env,optional"`
	Dir     string            `hcl:"dir,optional"`
}

var sourceRE = regexp.MustCompile(`^projects/([a-z][-a-z0-9]{4,28}[a-z0-9])/locations/([a-z0-9-]+)/sources/([a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)$`)

// data resolves the app's data attribute and blocks; VMs must be resolved.
func (r *resolver) data(s *AppSpec, ia inventory.App, c *AppConf, body *hclsyntax.Body) DataSpec {
	d := DataSpec{Strategy: or(c.Data, DataNone)}
	if !containsStr(DataStrategies, d.Strategy) {
		r.diags = append(r.diags, errAttr(body, "data", "Unknown data strategy",
			fmt.Sprintf("App %q: data = %q; use \"replicate\" (Migrate to Virtual Machines copies the disks), \"sync\" (the app's own replication, gated on its lag) or \"none\" (the default: fresh disks).", s.Name, c.Data)))
		return DataSpec{Strategy: DataNone}
	}
	if c.Replicate != nil && d.Strategy != DataReplicate {
		r.diags = append(r.diags, errAt(body, []string{"replicate"}, "", "replicate block without data = \"replicate\"",
			fmt.Sprintf("App %q has a replicate block but data = %q: set data = \"replicate\" or remove the block.", s.Name, d.Strategy)))
	}
	if c.Sync != nil && d.Strategy != DataSync {
		r.diags = append(r.diags, errAt(body, []string{"sync"}, "", "sync block without data = \"sync\"",
			fmt.Sprintf("App %q has a sync block but data = %q: set data = \"sync\" or remove the block.", s.Name, d.Strategy)))
	}
	switch d.Strategy {
	case DataReplicate:
		d.Replicate = r.replicate(s, ia, c, body)
	case DataSync:
		d.Sync = r.sync(s, c, body)
	}
	return d
}

func (r *resolver) replicate(s *AppSpec, ia inventory.App, c *AppConf, body *hclsyntax.Body) *ReplicateSpec {
	var top *hclsyntax.Body
	var m *m2vmConf
	if r.p.Config != nil {
		top, m = r.p.Config.body, r.p.Config.MigrateToVM
	}
	if m == nil {
		r.diags = append(r.diags, errAttr(body, "data", "No migrate_to_vm block",
			fmt.Sprintf("App %q replicates with Migrate to Virtual Machines, but the plan has no migrate_to_vm block naming the source of each datacenter, e.g.\n  migrate_to_vm {\n    datacenter \"DC-Paris\" { source = \"projects/%s/locations/%s/sources/vcenter-paris\" }\n  }", s.Name, r.p.GCP.Project, r.p.GCP.Region)))
		return nil
	}
	rc := c.Replicate
	if rc == nil {
		rc = &replicateConf{}
	}
	out := &ReplicateSpec{TestClone: rc.TestClone == nil || *rc.TestClone,
		TestNetwork: or(rc.TestNetwork, m.TestNetwork), TestSubnetwork: or(rc.TestSubnetwork, m.TestSubnetwork),
		Limits: resolveLimits(m.Limits)}
	sources := map[string]string{}
	for _, dc := range m.Datacenters {
		sources[dc.Name] = dc.Source
		if sm := sourceRE.FindStringSubmatch(dc.Source); sm != nil && out.HostProject == "" {
			out.HostProject, out.Location = sm[1], sm[2]
		}
	}
	out.Location = or(m.Location, out.Location)
	if out.HostProject == "" {
		out.HostProject = s.Project
	}
	out.TargetProject = or(m.TargetProject, fmt.Sprintf("projects/%s/locations/global/targetProjects/%s", out.HostProject, s.Project))
	path := []string{"replicate"}
	if tierNumber(s.Tier) == 1 && !out.TestClone {
		r.diags = append(r.diags, errAt(body, path, "test_clone", "Tier-1 app without a test clone",
			fmt.Sprintf("App %q is tier-1 and replicates its disks: it must pass a test clone before its cutover gate. Remove test_clone = false.", s.Name)))
	}
	if out.TestClone && out.TestNetwork == "" {
		at := rangeOf(top, []string{"migrate_to_vm"}, "test_network")
		if rc.TestClone != nil {
			at = rangeOf(body, path, "test_clone")
		}
		r.diags = append(r.diags, diagAt(hcl.DiagError, at, "No test network for the test clone",
			fmt.Sprintf("App %q runs a test clone, which needs an isolated network: set test_network in migrate_to_vm (or in the app's replicate block).", s.Name)))
	}
	missing := map[string][]string{}
	for _, v := range s.VMs {
		inv := r.vms[v.Ref]
		rv := ReplicaVM{Ref: v.Ref, Name: v.Name, GCEName: v.GCEName, Datacenter: inv.Datacenter, Host: inv.Host, Disks: len(inv.Disks)}
		if rv.Disks == 0 {
			rv.Disks = 1
		}
		seen := map[string]bool{}
		for _, d := range inv.Disks {
			if d.Datastore != "" && !seen[d.Datastore] {
				seen[d.Datastore] = true
				rv.Datastores = append(rv.Datastores, d.Datastore)
			}
		}
		sort.Strings(rv.Datastores)
		rv.Source = sources[inv.Datacenter]
		if rv.Source == "" {
			missing[inv.Datacenter] = append(missing[inv.Datacenter], v.Name)
		}
		out.VMs = append(out.VMs, rv)
	}
	dcs := make([]string, 0, len(missing))
	for dc := range missing {
		dcs = append(dcs, dc)
	}
	sort.Strings(dcs)
	for _, dc := range dcs {
		r.diags = append(r.diags, errAttr(body, "data", "No Migrate to Virtual Machines source for a datacenter",
			fmt.Sprintf("App %q replicates VMs in datacenter %q (%s), but migrate_to_vm has no datacenter %q { source = \"projects/…/locations/…/sources/…\" } block.", s.Name, dc, strings.Join(missing[dc], ", "), dc)))
	}
	if policy := or(c.Rollback, "keep"); len(s.Cutover.Steps) > 1 || policy == "keep" {
		d := errAttr(body, "data", "Replication changes the cutover",
			fmt.Sprintf("App %q replicates its disks: the cutover job shuts its source VMs down, so traffic moves in one 100 %% step (the plan's steps are not used; the last step's bake is), and a rollback leaves replicated disks that are stale once the sources run again. With rollback = %q they stay and block a later migration's cutover: prefer rollback = \"destroy\".", s.Name, policy))
		d.Severity = hcl.DiagWarning
		r.diags = append(r.diags, d)
	}
	_ = ia
	return out
}

func resolveLimits(l *replLimitsConf) ReplicationLimits {
	out := ReplicationLimits{PerProject: DefaultReplicaPerProj}
	if l == nil {
		return out
	}
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	set(&out.PerProject, l.PerProject)
	set(&out.PerSource, l.PerSource)
	set(&out.PerHost, l.PerHost)
	set(&out.PerDatastore, l.PerDatastore)
	return out
}

func (r *resolver) sync(s *AppSpec, c *AppConf, body *hclsyntax.Body) *SyncSpec {
	sc := c.Sync
	if sc == nil {
		r.diags = append(r.diags, errAttr(body, "data", "No sync block",
			fmt.Sprintf("App %q has data = \"sync\" but no sync block saying how its lag is measured, e.g.\n  sync {\n    lag_command = [\"./hooks/pg-lag.sh\"]   # prints the lag in seconds\n    max_lag     = \"30s\"\n  }", s.Name)))
		return nil
	}
	path := []string{"sync"}
	out := &SyncSpec{Start: sc.Start, Lag: sc.Lag, CatchUp: sc.CatchUp, Reverse: sc.Reverse, Env: sc.Env, Dir: sc.Dir,
		MaxLag:  r.dur(body, path, "max_lag", sc.MaxLag, DefaultMaxLag),
		Every:   r.dur(body, path, "probe_every", sc.Every, DefaultLagEvery),
		Timeout: r.dur(body, path, "timeout", sc.Timeout, DefaultSyncTimeout)}
	for attr, cmd := range map[string][]string{"lag_command": sc.Lag, "start_command": sc.Start, "catch_up_command": sc.CatchUp, "reverse_command": sc.Reverse} {
		if cmd != nil && (len(cmd) == 0 || cmd[0] == "") {
			r.diags = append(r.diags, errAt(body, path, attr, "Empty sync command",
				fmt.Sprintf("App %q sync %s needs at least the program, e.g. [\"./hooks/pg-lag.sh\"].", s.Name, attr)))
		}
	}
	if out.MaxLag <= 0 {
		r.diags = append(r.diags, errAt(body, path, "max_lag", "Invalid max_lag",
			fmt.Sprintf("App %q: max_lag must be above zero, or no cutover ever passes the lag gate.", s.Name)))
	}
	return out
}

// checkMigrateToVM validates the plan-wide migrate_to_vm block.
func checkMigrateToVM(cfg *Config) hcl.Diagnostics {
	m := cfg.MigrateToVM
	if m == nil {
		return nil
	}
	var diags hcl.Diagnostics
	blocks := blocksOf(firstBody(cfg.body, "migrate_to_vm"), "datacenter")
	seen := map[string]bool{}
	for i, dc := range m.Datacenters {
		var b *hclsyntax.Body
		var rng *hcl.Range
		if i < len(blocks) {
			b, rng = blocks[i].Body, blockRange(blocks[i])
		}
		if seen[dc.Name] {
			diags = append(diags, diagAt(hcl.DiagError, rng, "Duplicate datacenter",
				fmt.Sprintf("migrate_to_vm names datacenter %q twice; keep one block.", dc.Name)))
		}
		seen[dc.Name] = true
		if !sourceRE.MatchString(dc.Source) {
			diags = append(diags, errAttr(b, "source", "Invalid Migrate to Virtual Machines source",
				fmt.Sprintf("Datacenter %q: source = %q; write the source's resource name, projects/PROJECT/locations/REGION/sources/SOURCE (`gcloud migration vms sources list`).", dc.Name, dc.Source)))
		}
	}
	if l := m.Limits; l != nil {
		path := []string{"migrate_to_vm", "limits"}
		for attr, v := range map[string]*int{"per_project": l.PerProject, "per_source": l.PerSource, "per_host": l.PerHost, "per_datastore": l.PerDatastore} {
			if v != nil && *v < 1 {
				diags = append(diags, errAt(cfg.body, path, attr, "Invalid replication limit",
					fmt.Sprintf("migrate_to_vm limits %s = %d: a cap must be at least 1 (leave it out for no cap).", attr, *v)))
			}
		}
		if l.PerProject != nil && *l.PerProject > DefaultReplicaPerProj {
			diags = append(diags, errAt(cfg.body, path, "per_project", "Replication limit above the service's",
				fmt.Sprintf("per_project = %d: Migrate to Virtual Machines allows at most %d active replications per project.", *l.PerProject, DefaultReplicaPerProj)))
		}
	}
	return diags
}

func firstBody(body *hclsyntax.Body, typ string) *hclsyntax.Body {
	if b := firstBlock(body, typ); b != nil {
		return b.Body
	}
	return nil
}

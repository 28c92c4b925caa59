package plan

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Config is ferry.hcl as written, before defaults and the inventory are
// applied. It keeps each block's body so diagnostics can point at the exact
// attribute or list item. It is never serialised.
type Config struct {
	TargetDate string        `hcl:"target_date,optional"`
	Operators  []string      `hcl:"operators,optional"`
	GCP        *gcpConfig    `hcl:"gcp,block"`
	Identity   *identityConf `hcl:"identity,block"`
	Persons    []*personConf `hcl:"person,block"`
	// MigrateToVM names the Migrate to Virtual Machines source of each
	// datacenter (data.go).
	MigrateToVM *m2vmConf   `hcl:"migrate_to_vm,block"`
	Waves       []*waveConf `hcl:"wave,block"`
	Apps        []*AppConf  `hcl:"app,block"`

	body  *hclsyntax.Body
	files map[string]*hcl.File
}

type gcpConfig struct {
	Project    string            `hcl:"project"`
	Region     string            `hcl:"region"`
	Zones      []string          `hcl:"zones,optional"`
	Network    string            `hcl:"network,optional"`
	Subnetwork string            `hcl:"subnetwork,optional"`
	Labels     map[string]string `hcl:"labels,optional"`
	Backend    *backendConf      `hcl:"backend,block"`
}

type backendConf struct {
	Type   string `hcl:"type,label"`
	Bucket string `hcl:"bucket,optional"`
	Prefix string `hcl:"prefix,optional"`
}

type waveConf struct {
	Name               string   `hcl:"name,label"`
	Apps               []string `hcl:"apps"`
	NotBefore          string   `hcl:"not_before,optional"`
	Concurrency        *int     `hcl:"concurrency,optional"`
	HoldCutoverForDeps bool     `hcl:"hold_cutover_for_deps,optional"`

	block *hclsyntax.Block
}

// AppConf is one app block as written.
type AppConf struct {
	Name         string            `hcl:"name,label"`
	Owner        string            `hcl:"owner,optional"`
	Squad        string            `hcl:"squad,optional"`
	Tier         string            `hcl:"tier,optional"`
	Runbook      string            `hcl:"runbook,optional"`
	Zone         string            `hcl:"zone,optional"`
	NetworkTags  []string          `hcl:"network_tags,optional"`
	Labels       map[string]string `hcl:"labels,optional"`
	Images       map[string]string `hcl:"images,optional"`
	DiskType     string            `hcl:"disk_type,optional"`
	Rollback     string            `hcl:"rollback,optional"`
	Skippable    []string          `hcl:"skippable,optional"`
	GateReminder string            `hcl:"gate_reminder,optional"`
	Bake         string            `hcl:"bake,optional"`
	Operators    []string          `hcl:"operators,optional"`
	// AcceptReadiness names readiness checks (docs/readiness.md) the
	// app's reviewers accept for every VM of the app.
	AcceptReadiness []string `hcl:"accept_readiness,optional"`
	// Data is how the app's data moves: none | replicate | sync (data.go).
	Data string `hcl:"data,optional"`

	VMs          []*vmConf         `hcl:"vm,block"`
	Cutover      *cutoverConf      `hcl:"cutover,block"`
	Approvers    *approversConf    `hcl:"approvers,block"`
	Hooks        []*hookConf       `hcl:"hook,block"`
	Decommission *decommissionConf `hcl:"decommission,block"`
	Identity     *identityConf     `hcl:"identity,block"`
	Replicate    *replicateConf    `hcl:"replicate,block"`
	Sync         *syncConf         `hcl:"sync,block"`

	block *hclsyntax.Block
}

type vmConf struct {
	Name        string  `hcl:"name,label"`
	MachineType string  `hcl:"machine_type,optional"`
	Zone        string  `hcl:"zone,optional"`
	Image       string  `hcl:"image,optional"`
	BootDiskGB  *int64  `hcl:"boot_disk_gb,optional"`
	DataDisksGB []int64 `hcl:"data_disks_gb,optional"`
	// AcceptReadiness: readiness checks accepted for this VM only.
	AcceptReadiness []string `hcl:"accept_readiness,optional"`
}

type cutoverConf struct {
	Strategy    string        `hcl:"strategy,optional"`
	Steps       []int         `hcl:"steps,optional"`
	StepBake    string        `hcl:"step_bake,optional"`
	StepTimeout string        `hcl:"step_timeout,optional"`
	PublicURL   string        `hcl:"public_url,optional"`
	DCEndpoints []string      `hcl:"dc_endpoints,optional"`
	Step        []*stepConf   `hcl:"step,block"`
	HealthCheck *healthConf   `hcl:"health_check,block"`
	SLO         *sloConf      `hcl:"slo,block"`
	Windows     []*windowConf `hcl:"window,block"`
	// OutsideWindow: what a traffic step does when the change window has
	// closed before it starts: "wait" (default) or "rollback".
	OutsideWindow string `hcl:"outside_window,optional"`
	// HoldTimeout: how long a wave app's cutover waits for its
	// dependencies before it parks (default 72h).
	HoldTimeout string   `hcl:"hold_timeout,optional"`
	DNS         *dnsConf `hcl:"dns,block"`
	// ClientDNS are the names clients use today (plan/clientdns.go).
	ClientDNS []*clientDNSConf `hcl:"client_dns,block"`
	// The kind of load balancer and what it needs (plan/cutover_lb.go).
	LoadBalancer    string   `hcl:"load_balancer,optional"`
	Port            int      `hcl:"port,optional"`
	TLS             *tlsConf `hcl:"tls,block"`
	ProxyOnlySubnet string   `hcl:"proxy_only_subnet,optional"`
}

type stepConf struct {
	Percent int    `hcl:"percent"`
	Bake    string `hcl:"bake,optional"`
}

type healthConf struct {
	Protocol string `hcl:"protocol,optional"`
	Port     int    `hcl:"port,optional"`
	Path     string `hcl:"path,optional"`
}

type sloConf struct {
	Requests        *int     `hcl:"requests,optional"`
	MaxErrorRatio   *float64 `hcl:"max_error_ratio,optional"`
	MaxP95          string   `hcl:"max_p95,optional"`
	PrometheusURL   string   `hcl:"prometheus_url,optional"`
	PrometheusQuery string   `hcl:"prometheus_query,optional"`
	PrometheusMax   *float64 `hcl:"prometheus_max,optional"`
	// Watch is the rest: the evaluation through each bake (plan/slo.go).
	Watch hcl.Body `hcl:",remain"`
}

type windowConf struct {
	Days     []string `hcl:"days,optional"`
	Start    string   `hcl:"start"`
	Duration string   `hcl:"duration"`
	TimeZone string   `hcl:"timezone,optional"`
}

type dnsConf struct {
	ManagedZone string `hcl:"managed_zone"`
	Name        string `hcl:"name"`
	TTL         *int64 `hcl:"ttl,optional"`
}

// approversConf keeps each gate's expression: a gate is either a list of
// people or { approvers = [...], required = N } (see gateApprovers).
type approversConf struct {
	Plan         hcl.Expression `hcl:"plan,optional"`
	Cutover      hcl.Expression `hcl:"cutover,optional"`
	Decommission hcl.Expression `hcl:"decommission,optional"`
}

type hookConf struct {
	Name    string            `hcl:"name,label"`
	At      string            `hcl:"at"`
	Command []string          `hcl:"command"`
	Timeout string            `hcl:"timeout,optional"`
	Env     map[string]string `hcl:"env,optional"`
	Dir     string            `hcl:"dir,optional"`
}

type decommissionConf struct {
	ShutdownTimeout string `hcl:"shutdown_timeout,optional"`
	Retention       string `hcl:"retention,optional"`
	FinalAction     string `hcl:"final_action,optional"`
	ArchiveFolder   string `hcl:"archive_folder,optional"`
}

// Load reads and parses a ferry.hcl file.
func Load(path string) (*Plan, hcl.Diagnostics) {
	src, err := readLimited(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read plan file",
			Detail:   fmt.Sprintf("%v. Create one with `ferry plan init > %s`.", err, path),
		}}
	}
	return Parse(path, src)
}

// Parse parses ferry.hcl source. The returned Plan has GCP defaults, target
// date and waves filled; Resolve turns its app blocks into AppSpecs. Parse
// returns a nil Plan only when the file is not valid HCL.
func Parse(filename string, src []byte) (*Plan, hcl.Diagnostics) {
	if diags := checkLimits(filename, src); diags.HasErrors() {
		return nil, diags
	}
	parser := hclparse.NewParser()
	f, diags := parser.ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, diags
	}
	var cfg Config
	diags = append(diags, gohcl.DecodeBody(f.Body, nil, &cfg)...)
	cfg.body = f.Body.(*hclsyntax.Body)
	cfg.files = parser.Files()
	// Attach each block's syntax so later checks can point at attributes.
	waves, apps := blocksOf(cfg.body, "wave"), blocksOf(cfg.body, "app")
	for i, w := range cfg.Waves {
		if i < len(waves) {
			w.block = waves[i]
		}
	}
	for i, a := range cfg.Apps {
		if i < len(apps) {
			a.block = apps[i]
		}
	}
	p := &Plan{File: filename, Config: &cfg}
	people, pdiags := parsePeople(&cfg)
	diags = append(diags, pdiags...)
	p.People = people
	ops, odiags := identityList(cfg.body, "operators", "operators", cfg.Operators)
	diags = append(diags, odiags...)
	for _, o := range ops {
		p.Operators = append(p.Operators, o.ID)
	}
	if cfg.Identity != nil && cfg.Identity.AllowUnverified != nil {
		p.AllowUnverified = *cfg.Identity.AllowUnverified
	}
	if cfg.GCP == nil {
		if !diags.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing gcp block",
				Detail:   `The plan needs a gcp block with at least project and region, e.g. gcp { project = "acme-migration" region = "europe-west1" }.`,
				Subject:  cfg.body.MissingItemRange().Ptr(),
			})
		}
	} else {
		p.GCP = resolveGCP(cfg.GCP)
		if b := cfg.GCP.Backend; b != nil && b.Type != "gcs" && b.Type != "local" {
			diags = append(diags, errAt(cfg.body, []string{"gcp", "backend"}, "", "Unknown state backend",
				fmt.Sprintf("Backend %q is not supported: use \"gcs\" (with a bucket) or \"local\".", b.Type)))
		}
		if b := cfg.GCP.Backend; b != nil && b.Type == "gcs" && b.Bucket == "" {
			diags = append(diags, errAt(cfg.body, []string{"gcp", "backend"}, "", "Missing state bucket",
				`A gcs backend needs bucket = "NAME" (the GCS bucket holding every app's terraform state).`))
		}
	}
	diags = append(diags, checkMigrateToVM(&cfg)...)
	if cfg.TargetDate != "" {
		t, err := parseDate(cfg.TargetDate)
		if err != nil {
			diags = append(diags, errAt(cfg.body, nil, "target_date", "Invalid target date", err.Error()))
		}
		p.Target = t
	}
	for _, w := range cfg.Waves {
		wave := Wave{Name: w.Name, Apps: w.Apps, Concurrency: 3, HoldCutoverForDeps: w.HoldCutoverForDeps}
		if w.Concurrency != nil {
			wave.Concurrency = *w.Concurrency
			if wave.Concurrency < 1 && w.block != nil {
				diags = append(diags, errAttr(w.block.Body, "concurrency", "Invalid wave concurrency",
					fmt.Sprintf("Wave %q has concurrency %d: it must be at least 1 or the wave never starts an app.", w.Name, wave.Concurrency)))
			}
		}
		if w.NotBefore != "" {
			t, err := parseDate(w.NotBefore)
			if err != nil && w.block != nil {
				diags = append(diags, errAttr(w.block.Body, "not_before", "Invalid not_before date", err.Error()))
			}
			wave.NotBefore = t
		}
		p.Waves = append(p.Waves, wave)
	}
	return p, diags
}

func resolveGCP(g *gcpConfig) GCPDefaults {
	d := GCPDefaults{
		Project: g.Project, Region: g.Region, Zones: g.Zones, Network: g.Network,
		Subnetwork: g.Subnetwork, Labels: g.Labels, Backend: Backend{Type: "local"},
	}
	if d.Network == "" {
		d.Network = "default"
	}
	if len(d.Zones) == 0 && d.Region != "" {
		d.Zones = []string{d.Region + "-b"}
	}
	if g.Backend != nil {
		d.Backend = Backend{Type: g.Backend.Type, Bucket: g.Backend.Bucket, Prefix: g.Backend.Prefix}
		if d.Backend.Type == "gcs" && d.Backend.Prefix == "" {
			d.Backend.Prefix = "ferry"
		}
	}
	return d
}

// readLimited reads a plan file of at most MaxPlanBytes (one byte more
// tells Parse it is too large, without reading a huge file whole).
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxPlanBytes+1))
}

// parseDate accepts 2027-06-30 or an RFC 3339 time.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date: write YYYY-MM-DD (e.g. 2027-06-30) or an RFC 3339 time", s)
}

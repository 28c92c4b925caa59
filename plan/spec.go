// Package plan is the migration plan as code: ferry.hcl parsed with
// hashicorp/hcl/v2, validated against the inventory, and resolved into one
// serialisable AppSpec per app. The AppSpec is what a MigrateApp workflow
// carries, so every field must survive JSON.
package plan

import (
	"slices"
	"time"

	"github.com/ferrymigrate/ferry/plan/catalog"
)

// Plan is a whole parsed and resolved ferry.hcl.
type Plan struct {
	File   string      `json:"file"`
	GCP    GCPDefaults `json:"gcp"`
	Target time.Time   `json:"target"` // when the last app must be done
	Waves  []Wave      `json:"waves"`
	Apps   []AppSpec   `json:"apps"` // resolved: defaults applied

	// People is every person block: normalised identity -> canonical
	// authorized_keys lines.
	People map[string][]string `json:"people,omitempty"`
	// Operators are the plan-level operators (normalised), who may retry,
	// skip and roll back any app.
	Operators []string `json:"operators,omitempty"`
	// AllowUnverified is the plan-level identity { allow_unverified }.
	AllowUnverified bool `json:"allowUnverified,omitempty"`

	// Config is the file as written (for diagnostics); nil once decoded
	// from JSON.
	Config *Config `json:"-"`
	// Catalog is the GCE catalogue machine types are sized, validated and
	// priced with: nil is the committed snapshot; the CLI sets the
	// Compute API's view (catalog.FromCompute) when credentials allow.
	Catalog *catalog.Catalog `json:"-"`
	// DNSZones are the Cloud DNS managed zones each project really has
	// (project -> zones), when the caller could read them: client_dns
	// blocks are checked against them. A project absent here is not
	// checked online.
	DNSZones map[string][]DNSZone `json:"-"`
}

// catalog returns the catalogue the plan is checked against.
func (p *Plan) catalog() *catalog.Catalog {
	if p != nil && p.Catalog != nil {
		return p.Catalog
	}
	return catalog.Default()
}

// GCPDefaults are the plan-wide Google Cloud settings.
type GCPDefaults struct {
	Project    string            `json:"project"`
	Region     string            `json:"region"`
	Zones      []string          `json:"zones"`
	Network    string            `json:"network"`
	Subnetwork string            `json:"subnetwork,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	// Backend for terraform state: "gcs" (Bucket, per-app prefix) or "local".
	Backend Backend `json:"backend"`
}

// Backend says where terraform keeps each app's state.
type Backend struct {
	Type   string `json:"type"` // gcs | local
	Bucket string `json:"bucket,omitempty"`
	Prefix string `json:"prefix,omitempty"` // state path = Prefix/<app>
}

// Wave groups apps that move together.
type Wave struct {
	Name        string    `json:"name"`
	Apps        []string  `json:"apps"`
	NotBefore   time.Time `json:"notBefore,omitempty"`
	Concurrency int       `json:"concurrency"`
	// HoldCutoverForDeps holds a dependant's cutover until the apps it
	// depends on (in this wave) are cut over.
	HoldCutoverForDeps bool `json:"holdCutoverForDeps,omitempty"`
}

// AppSpec is one app's resolved plan.
type AppSpec struct {
	Name       string   `json:"name"`
	Wave       string   `json:"wave"`
	Owner      string   `json:"owner,omitempty"`
	Squad      string   `json:"squad,omitempty"`
	Tier       string   `json:"tier,omitempty"`
	RunbookURL string   `json:"runbookURL,omitempty"` // the app's own runbook
	DependsOn  []string `json:"dependsOn,omitempty"`

	Project     string            `json:"project"`
	Region      string            `json:"region"`
	Zone        string            `json:"zone"`
	Network     string            `json:"network"`
	Subnetwork  string            `json:"subnetwork,omitempty"`
	NetworkTags []string          `json:"networkTags,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Images      map[string]string `json:"images,omitempty"` // guest family -> image
	VMs         []VMSpec          `json:"vms"`
	Backend     Backend           `json:"backend"`

	Cutover   CutoverSpec         `json:"cutover"`
	Approvers map[string][]string `json:"approvers"` // gate (plan, cutover, decommission) -> people
	// People maps each normalised identity that may act on this app (its
	// approvers and operators) to the authorized_keys lines the reviewed
	// plan lists for them; signatures are checked against these.
	People map[string][]string `json:"people,omitempty"`
	// Operators may retry, skip and roll back besides the approvers
	// (plan-level plus app-level, normalised).
	Operators []string `json:"operators,omitempty"`
	// Quorum is the number of distinct approvals a gate needs (absent: 1).
	Quorum map[string]int `json:"quorum,omitempty"`
	// AllowUnverified accepts unsigned approvals and actions (marked
	// unverified), trusting the Temporal namespace's own authorization.
	AllowUnverified bool `json:"allowUnverified,omitempty"`
	// ForwardingRuleMonthlyUSD is the forwarding rule an lb cutover adds,
	// priced alone (Estimate prices a plan's rules together: the first
	// five of a project and region share one rate).
	ForwardingRuleMonthlyUSD float64          `json:"forwardingRuleMonthlyUSD,omitempty"`
	Hooks                    []HookSpec       `json:"hooks,omitempty"`
	Rollback                 RollbackSpec     `json:"rollback"`
	Skippable                []string         `json:"skippable,omitempty"` // stage names that `skip` may pass
	GateReminder             time.Duration    `json:"gateReminder"`        // remind approvers after this long
	Bake                     time.Duration    `json:"bake"`                // after 100 % traffic
	Decommission             DecommissionSpec `json:"decommission"`
	// Data is how the app's data moves (none, replicate, sync).
	Data DataSpec `json:"data"`
}

// VMSpec is one planned VM: what discovery saw, and what it becomes on GCE.
type VMSpec struct {
	Ref         string   `json:"ref"` // vCenter managed object reference
	Name        string   `json:"name"`
	GCEName     string   `json:"gceName"` // sanitised RFC 1035 name
	NumCPU      int32    `json:"numCPU"`
	MemoryMB    int64    `json:"memoryMB"`
	DiskGB      int64    `json:"diskGB"`
	DataDisksGB []int64  `json:"dataDisksGB,omitempty"`
	GuestFamily string   `json:"guestFamily,omitempty"`
	IPs         []string `json:"ips,omitempty"`
	MachineType string   `json:"machineType"` // chosen or overridden
	SizingNote  string   `json:"sizingNote,omitempty"`
	Image       string   `json:"image"`
	Zone        string   `json:"zone"`
	Ports       []int    `json:"ports,omitempty"` // observed inbound ports (firewall)
	MonthlyUSD  float64  `json:"monthlyUSD,omitempty"`
	DiskType    string   `json:"diskType,omitempty"` // pd-balanced unless the plan says otherwise
	// AcceptReadiness are the readiness checks the reviewed plan accepts
	// for this VM (the app's accept_readiness and its vm block's): their
	// findings no longer stop the plan gate.
	AcceptReadiness []string `json:"acceptReadiness,omitempty"`
}

// CutoverSpec says how traffic moves from the datacenter to GCP.
type CutoverSpec struct {
	Strategy    string      `json:"strategy"` // lb | dns
	Steps       []Step      `json:"steps"`    // default 10, 50, 100 %
	PublicURL   string      `json:"publicURL,omitempty"`
	HealthCheck HealthCheck `json:"healthCheck"`
	SLO         SLO         `json:"slo"`
	Windows     []Window    `json:"windows,omitempty"` // none: always open
	// OutsideWindow is what a traffic step does when the change window
	// closed before it starts: OutsideWindowWait (hold traffic where it
	// is until the next window) or OutsideWindowRollback.
	OutsideWindow string `json:"outsideWindow,omitempty"`
	// HoldTimeout is how long a wave app's cutover waits for its
	// dependencies in the wave before it parks (zero: 72 h).
	HoldTimeout time.Duration `json:"holdTimeout,omitempty"`
	DNS         DNSTarget     `json:"dns,omitempty"`
	DCEndpoints []string      `json:"dcEndpoints,omitempty"` // ip:port of the app in the DC
	StepTimeout time.Duration `json:"stepTimeout,omitempty"`
	// ClientDNS are the DNS names clients reach the app by today, moved
	// onto the new path at cutover and back on rollback (clientdns.go).
	ClientDNS []ClientDNS `json:"clientDNS,omitempty"`
	// LB is the kind of load balancer in front of the app (zero: a
	// global external Application LB on port 80); see plan/cutover_lb.go.
	LB LBSpec `json:"lb,omitzero"`
}

// What a traffic step does outside the change window.
const (
	OutsideWindowWait     = "wait"
	OutsideWindowRollback = "rollback"
)

// Step is one traffic shift: Percent of traffic to GCP, then Bake.
type Step struct {
	Percent int           `json:"percent"`
	Bake    time.Duration `json:"bake"`
}

// HealthCheck is how the GCP instances are probed.
type HealthCheck struct {
	Protocol string `json:"protocol"` // http | https | tcp
	Port     int    `json:"port"`
	Path     string `json:"path,omitempty"`
}

// SLO are the thresholds of the gate after each traffic step.
type SLO struct {
	Requests        int           `json:"requests"`
	MaxErrorRatio   float64       `json:"maxErrorRatio"`
	MaxP95          time.Duration `json:"maxP95"`
	PrometheusURL   string        `json:"prometheusURL,omitempty"`
	PrometheusQuery string        `json:"prometheusQuery,omitempty"`
	PrometheusMax   float64       `json:"prometheusMax,omitempty"`
	// Watch: evaluated through each bake, not once after it (slo.go).
	Watch SLOWatch `json:"watch"`
}

// Window is a recurring change window in a time zone.
type Window struct {
	Days     []time.Weekday `json:"days"`  // empty: every day
	Start    string         `json:"start"` // "22:00" local time
	Duration time.Duration  `json:"duration"`
	TimeZone string         `json:"timeZone"` // IANA, e.g. Europe/Paris
}

// DNSTarget is the record the dns strategy swaps.
type DNSTarget struct {
	ManagedZone string `json:"managedZone,omitempty"`
	Name        string `json:"name,omitempty"` // FQDN with trailing dot
	TTL         int64  `json:"ttl,omitempty"`
}

// HookSpec is a command an app team runs at a stage; it comes only from the
// reviewed plan file.
type HookSpec struct {
	Name    string            `json:"name"`
	At      string            `json:"at"` // pre_provision, post_provision, pre_cutover, smoke_test, post_cutover
	Command []string          `json:"command"`
	Timeout time.Duration     `json:"timeout"`
	Env     map[string]string `json:"env,omitempty"`
	Dir     string            `json:"dir,omitempty"`
}

// Hook points.
const (
	HookPreProvision  = "pre_provision"
	HookPostProvision = "post_provision"
	HookPreCutover    = "pre_cutover"
	HookSmokeTest     = "smoke_test"
	HookPostCutover   = "post_cutover"
)

// RollbackSpec says what happens to GCP resources on rollback.
type RollbackSpec struct {
	Policy string `json:"policy"` // destroy | keep
}

// DecommissionSpec says how the source VMs are retired.
type DecommissionSpec struct {
	ShutdownTimeout time.Duration `json:"shutdownTimeout"` // guest shutdown, then hard power-off
	Retention       time.Duration `json:"retention"`       // powered off, rollback still possible
	FinalAction     string        `json:"finalAction"`     // keep-off | archive | delete
	ArchiveFolder   string        `json:"archiveFolder,omitempty"`
}

// FrontEnds are the VMs that serve the app's traffic: those seen serving
// the health-check port in the flows; without flow data, every VM. They
// alone go behind the load balancer and are health-checked on that port
// (a database VM of the app does not answer HTTP there).
func (s AppSpec) FrontEnds() []VMSpec {
	port := s.Cutover.HealthCheck.Port
	var front []VMSpec
	for _, v := range s.VMs {
		if slices.Contains(v.Ports, port) {
			front = append(front, v)
		}
	}
	if len(front) == 0 {
		return s.VMs
	}
	return front
}

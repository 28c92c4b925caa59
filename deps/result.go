package deps

import (
	"slices"
	"time"
)

// Schema names the JSON schema of Result (docs/deps-schema.md).
const Schema = "ferry.deps/v1"

// Node kinds.
const (
	KindApp        = "app"        // an app of the inventory
	KindExternal   = "external"   // an address no VM of the inventory has
	KindUnassigned = "unassigned" // a VM of the inventory that belongs to no app
)

// Options tune Analyze.
type Options struct {
	// AffinityThreshold merges two move groups when the traffic between
	// them is more than this share of the smaller group's traffic (0..1).
	// 0 means DefaultAffinity; 1 or more never merges.
	AffinityThreshold float64
	// MaxAppsPerWave and MaxVMsPerWave cap each wave; 0 is no cap.
	MaxAppsPerWave, MaxVMsPerWave int
	// Declared are dependencies from the plan (From depends on To, by app
	// name), added to the app directory's DependsOn.
	Declared []Edge
	// Migrated apps are already on GCP: they are satisfied dependencies
	// and get no wave.
	Migrated []string
}

// DefaultAffinity is the affinity threshold when Options leaves it 0.
const DefaultAffinity = 0.5

// Result is the dependency graph with its move groups and waves.
type Result struct {
	Schema string `json:"schema"`
	// Apps are the nodes: every app of the inventory, then every external
	// endpoint and unassigned VM that flows or declarations mention.
	Apps []Node `json:"apps"`
	// Edges are directed client -> server (From depends on To) between
	// different nodes.
	Edges      []Edge      `json:"edges"`
	MoveGroups []MoveGroup `json:"moveGroups"`
	Waves      []WavePlan  `json:"waves"`
	// BlastRadius maps an app to every app and unassigned VM that depends
	// on it, directly or transitively (through external endpoints too);
	// external clients are not listed, see Dependants.
	BlastRadius map[string][]string `json:"blastRadius"`
	// InboundPorts maps a VM ref to the ports it was seen serving; traffic
	// from inside its own app counts.
	InboundPorts map[string][]Port `json:"inboundPorts"`
	// IntraAppEdges are VM -> VM edges inside one app (From and To are VM
	// refs, App names the app); kept for firewall rules, not used for waves.
	IntraAppEdges []Edge `json:"intraAppEdges"`
	// Ambiguous are the conversations whose server side no evidence
	// decided (both ports ephemeral or alike, no flags, no listening socket
	// known): they make no edge. Add an ss -ltn capture of the hosts named
	// in the examples to decide them.
	Ambiguous Ambiguous `json:"ambiguous"`
	Warnings  []string  `json:"warnings,omitempty"`
	Stats     Stats     `json:"stats"`
}

// Stats count the input behind a Result.
type Stats struct {
	Records       int64 `json:"records"`       // flow records read
	Conversations int   `json:"conversations"` // distinct (client, server, server port, protocol)
	ParseErrors   int   `json:"parseErrors"`   // malformed lines skipped
	// Direction says how the server side of the conversations was decided.
	Direction Direction `json:"direction"`
}

// Node is an app, an external endpoint or an unassigned VM.
type Node struct {
	ID          string   `json:"id"` // app name; ext:<name or IP>; vm:<VM name>
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	External    bool     `json:"external"` // not an app: never in a wave
	IPs         []string `json:"ips,omitempty"`
	VMs         []string `json:"vms,omitempty"` // VM refs
	Datacenters []string `json:"datacenters,omitempty"`
	Owner       string   `json:"owner,omitempty"`
	Tier        string   `json:"tier,omitempty"`
	MoveGroup   string   `json:"moveGroup,omitempty"`
	Wave        int      `json:"wave,omitempty"` // 1-based; 0 for external or migrated
	Migrated    bool     `json:"migrated,omitempty"`
}

// Edge is a dependency From -> To.
type Edge struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	App       string    `json:"app,omitempty"` // only on intra-app edges
	Bytes     int64     `json:"bytes"`
	Packets   int64     `json:"packets"`
	Count     int64     `json:"count"`
	Ports     []int     `json:"ports,omitempty"`
	Declared  bool      `json:"declared,omitempty"`
	Observed  bool      `json:"observed,omitempty"`
	FirstSeen time.Time `json:"firstSeen,omitzero"`
	LastSeen  time.Time `json:"lastSeen,omitzero"`
}

// MoveGroup is a set of apps that must move together.
type MoveGroup struct {
	ID     string   `json:"id"`
	Apps   []string `json:"apps"`
	VMs    int      `json:"vms"`
	Reason string   `json:"reason"` // single, cycle, affinity, or cycle+affinity
	Wave   int      `json:"wave,omitempty"`
}

// WavePlan is one wave: move groups whose dependencies all moved in
// earlier waves (or are migrated).
type WavePlan struct {
	Number     int      `json:"number"`
	Name       string   `json:"name"` // wave-N
	MoveGroups []string `json:"moveGroups"`
	Apps       []string `json:"apps"`
	VMs        int      `json:"vms"`
}

// Port is a port a VM serves.
type Port struct {
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
}

// DependsOn returns the nodes app talks to directly, sorted.
func (r *Result) DependsOn(app string) []string {
	var out []string
	for _, e := range r.Edges {
		if e.From == app {
			out = append(out, e.To)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Dependants returns the nodes that talk to app directly, sorted.
func (r *Result) Dependants(app string) []string {
	var out []string
	for _, e := range r.Edges {
		if e.To == app {
			out = append(out, e.From)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Node returns the node with this ID.
func (r *Result) Node(id string) (Node, bool) {
	for _, n := range r.Apps {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

package gcpfake

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// computeBase is the prefix of every selfLink the fake hands out: the real
// API's form, so that terraform state and ferry's comparisons look exactly
// as they would against a real project.
const computeBase = "https://www.googleapis.com/compute/v1/"

// object is one stored resource. Compute objects are keyed by their path
// relative to computeBase ("projects/p/zones/z/instances/n"); DNS objects by
// "dns/projects/p/managedZones/z[/rrsets/NAME/TYPE]".
type object struct {
	Kind    string         `json:"kind"` // collection: instances, managedZones, rrsets, ...
	Project string         `json:"project"`
	Zone    string         `json:"zone,omitempty"`
	Region  string         `json:"region,omitempty"`
	Name    string         `json:"name"`
	Parent  string         `json:"parent,omitempty"` // rrsets: the managed zone name
	Body    map[string]any `json:"body"`
	// Members are an instance group's instance URLs, or a NEG's endpoints.
	Members   []string         `json:"members,omitempty"`
	Endpoints []map[string]any `json:"endpoints,omitempty"`
}

// Resource is a copy of one stored resource, for tests and inspection.
type Resource struct {
	Kind     string // collection name: instances, disks, networks, subnetworks, firewalls, instanceGroups, healthChecks, backendServices, urlMaps, targetHttpProxies, forwardingRules, addresses, networkEndpointGroups, managedZones, rrsets
	Name     string // for rrsets "NAME TYPE", e.g. "www.example.com. A"
	Zone     string
	Region   string
	SelfLink string
	Body     map[string]any
	// Members holds an instance group's instance selfLinks, or a NEG's
	// endpoints as "ip:port".
	Members []string
}

type persisted struct {
	Seq     uint64                `json:"seq"`
	Objects map[string]*object    `json:"objects"`
	Ops     map[string]*operation `json:"operations"`
	Changes map[string]any        `json:"changes"`
	Seeded  map[string]bool       `json:"seeded"`
}

func (s *Server) nextID() uint64 {
	s.state.Seq++
	return 1000000000000000000 + s.state.Seq*7919
}

func idString(id uint64) string { return fmt.Sprintf("%d", id) }

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000-07:00") }

func (s *Server) fingerprint() string {
	s.state.Seq++
	return fmt.Sprintf("%x", s.state.Seq*2654435761)[:8] + "fp="
}

// save writes the state file when one is configured. Called with s.mu held.
func (s *Server) save() {
	if s.opts.StateDir == "" {
		return
	}
	b, err := json.Marshal(&s.state)
	if err != nil {
		s.logf("gcpfake: cannot encode state: %v", err)
		return
	}
	path := filepath.Join(s.opts.StateDir, "gcpfake.json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		s.logf("gcpfake: cannot write state %s: %v", tmp, err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		s.logf("gcpfake: cannot write state %s: %v", path, err)
	}
}

func (s *Server) load() error {
	if s.opts.StateDir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(s.opts.StateDir, "gcpfake.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("gcpfake: read state in %s: %w", s.opts.StateDir, err)
	}
	var st persisted
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("gcpfake: state file in %s is corrupt (delete it to start empty): %w", s.opts.StateDir, err)
	}
	if st.Objects == nil {
		st.Objects = map[string]*object{}
	}
	if st.Ops == nil {
		st.Ops = map[string]*operation{}
	}
	if st.Changes == nil {
		st.Changes = map[string]any{}
	}
	s.state = st
	return nil
}

// deepCopy copies a JSON-shaped value.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	default:
		return v
	}
}

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return deepCopy(m).(map[string]any)
}

func (s *Server) toResource(key string, o *object) Resource {
	r := Resource{Kind: o.Kind, Name: o.Name, Zone: o.Zone, Region: o.Region, Body: copyMap(o.Body)}
	if strings.HasPrefix(key, "projects/") {
		r.SelfLink = computeBase + key
	} else if sl, ok := o.Body["selfLink"].(string); ok {
		r.SelfLink = sl
	}
	r.Members = append(r.Members, o.Members...)
	for _, e := range o.Endpoints {
		r.Members = append(r.Members, fmt.Sprintf("%v:%v", e["ipAddress"], e["port"]))
	}
	return r
}

var kindAliases = map[string]string{
	"globalForwardingRules": "forwardingRules",
	"globalAddresses":       "addresses",
	"records":               "rrsets",
	"resourceRecordSets":    "rrsets",
}

// Resources lists the stored resources of one kind (a collection name such
// as "instances", "backendServices", "managedZones", "rrsets"; "" for all)
// in one project, sorted by key. New projects hold the "default" network and
// its subnetworks, as real ones do.
func (s *Server) Resources(project, kind string) []Resource {
	if a, ok := kindAliases[kind]; ok {
		kind = a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.state.Objects))
	for k, o := range s.state.Objects {
		if o.Project == project && (kind == "" || o.Kind == kind) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]Resource, 0, len(keys))
	for _, k := range keys {
		out = append(out, s.toResource(k, s.state.Objects[k]))
	}
	return out
}

// URLMapWeights returns the weights of the URL map's default route by
// backend service name. A URL map that routes everything to a
// defaultService reports that service at 100.
func (s *Server) URLMapWeights(project, urlMap string) (map[string]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := fmt.Sprintf("projects/%s/global/urlMaps/%s", project, urlMap)
	o := s.state.Objects[key]
	if o == nil {
		return nil, fmt.Errorf("gcpfake: URL map %s not found in project %s", urlMap, project)
	}
	out := map[string]int{}
	if ra, ok := o.Body["defaultRouteAction"].(map[string]any); ok {
		if ws, ok := ra["weightedBackendServices"].([]any); ok && len(ws) > 0 {
			for _, x := range ws {
				w, _ := x.(map[string]any)
				bs, _ := w["backendService"].(string)
				out[lastSegment(bs)] = toInt(w["weight"])
			}
			return out, nil
		}
	}
	if ds, ok := o.Body["defaultService"].(string); ok && ds != "" {
		out[lastSegment(ds)] = 100
		return out, nil
	}
	return out, nil
}

// DNSRecords returns the record sets of a managed zone, keyed "NAME TYPE".
func (s *Server) DNSRecords(project, zone string) map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]any{}
	for _, o := range s.state.Objects {
		if o.Kind == "rrsets" && o.Project == project && o.Parent == zone {
			out[o.Name] = copyMap(o.Body)
		}
	}
	return out
}

func lastSegment(s string) string {
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func toInt(v any) int {
	switch t := v.(type) {
	case float64:
		return int(t)
	case int:
		return t
	case string:
		var n int
		fmt.Sscanf(t, "%d", &n)
		return n
	}
	return 0
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// pruneEmpty drops empty lists, as Google's JSON never returns them.
func pruneEmpty(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if l, ok := x.([]any); ok && len(l) == 0 {
				delete(t, k)
				continue
			}
			pruneEmpty(x)
		}
	case []any:
		for _, x := range t {
			pruneEmpty(x)
		}
	}
}

package deps

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/inventory"
)

// fixture builds an inventory and flows by hand: apps in two datacenters,
// a cycle, an isolated app, a chatty pair, external endpoints with and
// without names, an unassigned VM and intra-app traffic.
type fixture struct {
	inv   inventory.Inventory
	flows []Flow
	ip    map[string]string // VM name -> IP
}

func (f *fixture) app(name, dc string, vms ...string) {
	a := inventory.App{Name: name}
	for _, v := range vms {
		ref := fmt.Sprintf("vm-%d", len(f.inv.VMs)+1)
		ip := fmt.Sprintf("10.%d.0.%d", map[string]int{"dc-east": 1, "dc-west": 2}[dc], len(f.inv.VMs)+1)
		if strings.HasSuffix(v, "@west") {
			v, ip = strings.TrimSuffix(v, "@west"), fmt.Sprintf("10.2.0.%d", len(f.inv.VMs)+1)
			f.inv.VMs = append(f.inv.VMs, inventory.VM{Ref: ref, Name: v, App: name, Datacenter: "dc-west", IPs: []string{ip}})
		} else {
			f.inv.VMs = append(f.inv.VMs, inventory.VM{Ref: ref, Name: v, App: name, Datacenter: dc, IPs: []string{ip}})
		}
		if name == "" {
			f.inv.Unassigned = append(f.inv.Unassigned, ref)
		}
		a.VMs = append(a.VMs, ref)
		f.ip[v] = ip
	}
	if name != "" {
		f.inv.Apps = append(f.inv.Apps, a)
	}
}

func (f *fixture) flow(from, to string, port int, bytes int64) {
	src, dst := f.ip[from], f.ip[to]
	if src == "" {
		src = from
	}
	fl := Flow{SrcIP: src, DstIP: dst, DstPort: port, Protocol: "tcp", Bytes: bytes, Count: 1}
	if dst == "" {
		dst, name, _ := strings.Cut(to, "=")
		fl.DstIP, fl.DstName = dst, name
	}
	f.flows = append(f.flows, fl)
}

func newFixture() *fixture {
	f := &fixture{ip: map[string]string{}, inv: inventory.Inventory{Schema: inventory.SchemaVersion}}
	f.app("web", "dc-east", "web-1", "web-2")
	f.app("api", "dc-east", "api-1", "api-2@west")
	f.app("db", "dc-west", "db-1")
	f.app("cache", "dc-west", "cache-1")
	f.app("billing", "dc-east", "billing-1")
	f.app("ledger", "dc-west", "ledger-1")
	f.app("reports", "dc-west", "reports-1")
	f.app("lonely", "dc-east", "lonely-1")
	f.app("search", "dc-east", "search-1")
	f.app("index", "dc-west", "index-1", "index-2")
	f.app("", "dc-west", "legacy-1")

	f.flow("web-1", "api-1", 8080, 600)
	f.flow("web-2", "api-2", 8080, 400)
	f.flow("web-1", "web-2", 7000, 50) // intra-app
	f.flow("api-1", "db-1", 5432, 1500)
	f.flow("api-2", "cache-1", 6379, 500)
	f.flow("api-1", "203.0.113.10=payments-gw", 443, 100)
	f.flow("reports-1", "db-1", 5432, 10)
	f.flow("billing-1", "ledger-1", 9000, 200)
	f.flow("ledger-1", "billing-1", 9001, 200)
	f.flow("search-1", "index-1", 9200, 60000)
	f.flow("search-1", "index-2", 9200, 40000)
	f.flow("search-1", "8.8.8.8", 53, 10)
	f.flow("web-2", "legacy-1", 21, 5)
	f.flow("198.51.100.7", "web-1", 443, 900) // an outside client
	return f
}

func analyze(t *testing.T, f *fixture, opts Options) *Result {
	t.Helper()
	r, err := Analyze(&f.inv, f.flows, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, r, opts)
	return r
}

func moveGroupOf(r *Result, app string) MoveGroup {
	for _, g := range r.MoveGroups {
		if slices.Contains(g.Apps, app) {
			return g
		}
	}
	return MoveGroup{}
}

func TestAnalyzeFixture(t *testing.T) {
	f := newFixture()
	r := analyze(t, f, Options{})
	if r.Schema != Schema {
		t.Errorf("schema %q", r.Schema)
	}
	if got := r.DependsOn("api"); !slices.Equal(got, []string{"cache", "db", "ext:payments-gw"}) {
		t.Errorf("api depends on %v", got)
	}
	if got := r.Dependants("web"); !slices.Equal(got, []string{"ext:198.51.100.7"}) {
		t.Errorf("web dependants %v", got)
	}
	if got := r.DependsOn("web"); !slices.Equal(got, []string{"api", "vm:legacy-1"}) {
		t.Errorf("web depends on %v", got)
	}
	if got := r.BlastRadius["db"]; !slices.Equal(got, []string{"api", "reports", "web"}) {
		t.Errorf("blast radius of db %v", got)
	}
	if got := r.BlastRadius["billing"]; !slices.Equal(got, []string{"ledger"}) {
		t.Errorf("blast radius of billing %v", got)
	}
	if got := r.BlastRadius["lonely"]; len(got) != 0 {
		t.Errorf("blast radius of lonely %v", got)
	}
	if g := moveGroupOf(r, "billing"); !slices.Equal(g.Apps, []string{"billing", "ledger"}) || g.Reason != "cycle" {
		t.Errorf("cycle group %+v", g)
	}
	if g := moveGroupOf(r, "search"); !slices.Equal(g.Apps, []string{"index", "search"}) || g.Reason != "affinity" || g.VMs != 3 {
		t.Errorf("chatty pair group %+v", g)
	}
	if g := moveGroupOf(r, "api"); !slices.Equal(g.Apps, []string{"api"}) {
		t.Errorf("api should stay alone at affinity 0.5: %+v", g)
	}
	wantWaves := [][]string{{"billing", "cache", "db", "index", "ledger", "lonely", "search"}, {"api", "reports"}, {"web"}}
	if len(r.Waves) != len(wantWaves) {
		t.Fatalf("waves %+v", r.Waves)
	}
	for i, w := range wantWaves {
		if !slices.Equal(r.Waves[i].Apps, w) {
			t.Errorf("wave %d = %v, want %v", i+1, r.Waves[i].Apps, w)
		}
	}
	api, _ := r.Node("api")
	if !slices.Equal(api.Datacenters, []string{"dc-east", "dc-west"}) || api.Wave != 2 || len(api.VMs) != 2 {
		t.Errorf("api node %+v", api)
	}
	ext, ok := r.Node("ext:payments-gw")
	if !ok || !ext.External || ext.Kind != KindExternal || !slices.Equal(ext.IPs, []string{"203.0.113.10"}) || ext.Name != "payments-gw" {
		t.Errorf("named external %+v", ext)
	}
	if n, ok := r.Node("ext:8.8.8.8"); !ok || n.Name != "8.8.8.8" {
		t.Errorf("unnamed external %+v", n)
	}
	if n, ok := r.Node("vm:legacy-1"); !ok || n.Kind != KindUnassigned || n.Wave != 0 {
		t.Errorf("unassigned VM %+v", n)
	}
	if len(r.IntraAppEdges) != 1 || r.IntraAppEdges[0].App != "web" || r.IntraAppEdges[0].From != "vm-1" || r.IntraAppEdges[0].To != "vm-2" {
		t.Errorf("intra-app edges %+v", r.IntraAppEdges)
	}
	if got := r.InboundPorts["vm-2"]; !slices.Equal(got, []Port{{7000, "tcp"}}) {
		t.Errorf("web-2 inbound ports %v (intra-app traffic counts)", got)
	}
	if got := r.InboundPorts["vm-1"]; !slices.Equal(got, []Port{{443, "tcp"}}) {
		t.Errorf("web-1 inbound ports %v", got)
	}
	for _, e := range r.Edges {
		if e.From == "web" && e.To == "api" && (e.Bytes != 1000 || !slices.Equal(e.Ports, []int{8080}) || !e.Observed || e.Declared) {
			t.Errorf("web->api edge %+v", e)
		}
	}
}

func TestAnalyzeAffinityThreshold(t *testing.T) {
	f := newFixture()
	// api->db is 1500 of api's 3100 and db's 1510 bytes: 1500/3110 = 0.48.
	r := analyze(t, f, Options{AffinityThreshold: 0.4})
	if g := moveGroupOf(r, "api"); !slices.Equal(g.Apps, []string{"api", "db"}) {
		t.Errorf("at 0.4 api and db move together: %+v", g)
	}
	r = analyze(t, f, Options{AffinityThreshold: 1})
	if g := moveGroupOf(r, "search"); len(g.Apps) != 1 {
		t.Errorf("threshold 1 never merges: %+v", g)
	}
	if g := moveGroupOf(r, "billing"); len(g.Apps) != 2 {
		t.Errorf("cycles merge whatever the threshold: %+v", g)
	}
}

func TestAnalyzeMergeMakesCycle(t *testing.T) {
	// a -> b -> c and a chatty a <-> c pair: merging a and c puts b on a
	// cycle with them, so all three must be one group.
	f := &fixture{ip: map[string]string{}}
	f.app("a", "dc-east", "a-1")
	f.app("b", "dc-east", "b-1")
	f.app("c", "dc-east", "c-1")
	f.flow("a-1", "b-1", 80, 10)
	f.flow("b-1", "c-1", 80, 10)
	f.flow("a-1", "c-1", 80, 10000)
	r := analyze(t, f, Options{})
	if len(r.MoveGroups) != 1 || len(r.MoveGroups[0].Apps) != 3 || len(r.Waves) != 1 {
		t.Errorf("groups %+v waves %+v", r.MoveGroups, r.Waves)
	}
}

func TestAnalyzeWaveCaps(t *testing.T) {
	f := newFixture()
	r := analyze(t, f, Options{MaxAppsPerWave: 3})
	if len(r.Waves) < 4 {
		t.Errorf("caps of 3 apps need at least 4 waves for 10 apps: %+v", r.Waves)
	}
	r = analyze(t, f, Options{MaxVMsPerWave: 2})
	var warned bool
	for _, w := range r.Warnings {
		warned = warned || strings.Contains(w, "index+search")
	}
	if !warned {
		t.Errorf("a 3-VM group above a 2-VM cap must be reported: %v", r.Warnings)
	}
}

func TestAnalyzeDeclaredAndMigrated(t *testing.T) {
	f := newFixture()
	f.inv.Apps[7].DependsOn = []string{"cache", "mainframe"} // lonely
	r := analyze(t, f, Options{Declared: []Edge{{From: "reports", To: "lonely"}, {From: "ghost", To: "db"}}, Migrated: []string{"db", "cache"}})
	if got := r.DependsOn("lonely"); !slices.Equal(got, []string{"cache", "ext:mainframe"}) {
		t.Errorf("lonely declared deps %v", got)
	}
	var declared bool
	for _, e := range r.Edges {
		declared = declared || (e.From == "reports" && e.To == "lonely" && e.Declared && !e.Observed)
	}
	if !declared {
		t.Error("declared plan edge missing")
	}
	if len(r.Warnings) < 2 {
		t.Errorf("unknown declared apps must warn: %v", r.Warnings)
	}
	for _, w := range r.Waves {
		if slices.Contains(w.Apps, "db") || slices.Contains(w.Apps, "cache") {
			t.Errorf("migrated apps in wave %+v", w)
		}
	}
	if api, _ := r.Node("api"); api.Wave != 1 {
		t.Errorf("api's dependencies are migrated, so it is in wave 1: %+v", api)
	}
	if rep, _ := r.Node("reports"); rep.Wave != 2 {
		t.Errorf("reports depends on lonely (wave 1): %+v", rep)
	}
}

func TestAnalyzeOverlappingIPs(t *testing.T) {
	f := newFixture()
	f.inv.VMs[len(f.inv.VMs)-1].IPs = []string{f.ip["db-1"]}
	r := analyze(t, f, Options{})
	if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "overlapping") {
		t.Errorf("warnings %v", r.Warnings)
	}
}

func TestAnalyzeNilAndBad(t *testing.T) {
	if _, err := Analyze(nil, nil, Options{}); err == nil {
		t.Error("nil inventory must fail")
	}
	f := newFixture()
	if _, err := Analyze(&f.inv, []Flow{{SrcIP: "nope", DstIP: "10.0.0.1"}}, Options{}); err == nil {
		t.Error("bad flow must fail")
	}
	if _, err := Analyze(&f.inv, nil, Options{AffinityThreshold: -1}); err == nil {
		t.Error("negative affinity must fail")
	}
}

// genPortfolio builds a random portfolio across two datacenters with
// cycles, isolated apps and external endpoints.
func genPortfolio(rng *rand.Rand, apps int) *fixture {
	f := &fixture{ip: map[string]string{}}
	for i := 0; i < apps; i++ {
		dc := "dc-east"
		if i%2 == 1 {
			dc = "dc-west"
		}
		var vms []string
		for j := 0; j <= rng.IntN(3); j++ {
			vms = append(vms, fmt.Sprintf("app%d-%d", i, j))
		}
		f.app(fmt.Sprintf("app%02d", i), dc, vms...)
	}
	for i := 0; i < apps*2; i++ {
		a, b := rng.IntN(apps), rng.IntN(apps)
		if a == b || a%7 == 3 || b%7 == 3 { // every 7th app stays isolated
			continue
		}
		// mostly downhill (a DAG), sometimes back: cycles
		if a < b && rng.IntN(5) != 0 {
			a, b = b, a
		}
		f.flow(fmt.Sprintf("app%d-0", a), fmt.Sprintf("app%d-0", b), 8000+b, int64(1+rng.IntN(1000)))
	}
	for i := 0; i < apps/4; i++ {
		f.flow(fmt.Sprintf("app%d-0", rng.IntN(apps)), fmt.Sprintf("203.0.113.%d=partner-%d", i, i%3), 443, 10)
	}
	return f
}

func TestAnalyzeGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 30; i++ {
		f := genPortfolio(rng, 5+rng.IntN(60))
		opts := Options{MaxAppsPerWave: rng.IntN(8), MaxVMsPerWave: rng.IntN(20), AffinityThreshold: rng.Float64()}
		analyze(t, f, opts)
	}
}

// checkInvariants asserts what must hold for any Result.
func checkInvariants(t *testing.T, r *Result, opts Options) {
	t.Helper()
	group := map[string]string{}
	for _, g := range r.MoveGroups {
		for _, a := range g.Apps {
			if group[a] != "" {
				t.Fatalf("app %s in two move groups", a)
			}
			group[a] = g.ID
		}
	}
	wave := map[string]int{}
	for _, w := range r.Waves {
		apps, vms := 0, 0
		for _, a := range w.Apps {
			if wave[a] != 0 {
				t.Fatalf("app %s in two waves", a)
			}
			wave[a] = w.Number
			n, _ := r.Node(a)
			apps++
			vms += len(n.VMs)
		}
		if vms != w.VMs {
			t.Errorf("wave %d counts %d VMs, has %d", w.Number, w.VMs, vms)
		}
		single := len(w.MoveGroups) == 1
		if !single && ((opts.MaxAppsPerWave > 0 && apps > opts.MaxAppsPerWave) || (opts.MaxVMsPerWave > 0 && vms > opts.MaxVMsPerWave)) {
			t.Errorf("wave %d breaks the caps: %d apps, %d VMs, opts %+v", w.Number, apps, vms, opts)
		}
	}
	migrated := map[string]bool{}
	for _, m := range opts.Migrated {
		migrated[m] = true
	}
	for _, n := range r.Apps {
		if n.Kind != KindApp {
			continue
		}
		if group[n.ID] == "" {
			t.Errorf("app %s has no move group", n.ID)
		}
		if !migrated[n.ID] && wave[n.ID] == 0 {
			t.Errorf("app %s has no wave", n.ID)
		}
		if wave[n.ID] != n.Wave {
			t.Errorf("app %s: node wave %d, wave list %d", n.ID, n.Wave, wave[n.ID])
		}
	}
	for _, e := range r.Edges {
		if wave[e.From] == 0 || wave[e.To] == 0 || group[e.From] == group[e.To] {
			continue
		}
		if wave[e.To] >= wave[e.From] {
			t.Errorf("%s (wave %d) depends on %s (wave %d): dependencies must move first", e.From, wave[e.From], e.To, wave[e.To])
		}
	}
	// blast radius = reverse reachability, by brute force
	users := map[string][]string{}
	for _, e := range r.Edges {
		users[e.To] = append(users[e.To], e.From)
	}
	for _, n := range r.Apps {
		if n.Kind != KindApp {
			continue
		}
		seen := map[string]bool{}
		stack := []string{n.ID}
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, u := range users[x] {
				if !seen[u] {
					seen[u] = true
					stack = append(stack, u)
				}
			}
		}
		delete(seen, n.ID)
		var want []string
		for u := range seen {
			if !strings.HasPrefix(u, "ext:") {
				want = append(want, u)
			}
		}
		slices.Sort(want)
		if got := r.BlastRadius[n.ID]; !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("blast radius of %s = %v, want %v", n.ID, got, want)
		}
	}
}

package deps

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/inventory"
)

// The topology of testdata/gen-real-flows.sh: apps on loopback addresses,
// which port each serves, and who calls whom. Four outside clients
// (127.20.1.1-4, in no inventory) call web.
var realApps = []struct {
	name  string
	ips   []string
	serve int // 0: a client only
}{
	{"web", []string{"127.20.0.10", "127.20.0.11"}, 8080},
	{"api", []string{"127.20.0.20", "127.20.0.21"}, 9000},
	{"db", []string{"127.20.0.30"}, 5432},
	{"cache", []string{"127.20.0.40"}, 6379},
	{"batch", []string{"127.20.0.50"}, 0},
	{"auth", []string{"127.20.0.60"}, 636},
	{"metrics", []string{"127.20.0.70"}, 50051},
	{"backup", []string{"127.20.0.80"}, 47000},
}

// realEdges are the true client -> server edges, with the server's port.
var realEdges = map[string]int{
	"ext:127.20.1.1 -> web": 8080, "ext:127.20.1.2 -> web": 8080, "ext:127.20.1.3 -> web": 8080, "ext:127.20.1.4 -> web": 8080,
	"web -> api": 9000, "web -> cache": 6379, "web -> metrics": 50051,
	"api -> db": 5432, "api -> auth": 636, "api -> metrics": 50051,
	"batch -> db": 5432, "batch -> metrics": 50051, "batch -> backup": 47000,
}

func realInventory() *inventory.Inventory {
	inv := &inventory.Inventory{Schema: inventory.SchemaVersion}
	for _, a := range realApps {
		app := inventory.App{Name: a.name}
		for i, ip := range a.ips {
			ref := fmt.Sprintf("vm-%d", len(inv.VMs)+1)
			inv.VMs = append(inv.VMs, inventory.VM{Ref: ref, Name: fmt.Sprintf("%s-%d", a.name, i+1), App: a.name, Datacenter: "dc1", IPs: []string{ip}})
			app.VMs = append(app.VMs, ref)
		}
		inv.Apps = append(inv.Apps, app)
	}
	return inv
}

func analyzeFiles(t *testing.T, files ...string) *Result {
	t.Helper()
	agg := NewAggregator()
	for _, f := range files {
		if err := agg.ReadFlowsFile(filepath.Join("testdata", f), ParseOptions{}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if len(agg.Errors) > 0 {
		t.Fatalf("malformed lines in real tool output: %v", agg.Errors)
	}
	r, err := agg.Analyze(realInventory(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkRealResult asserts that r has exactly the true edges but those in
// missing, which must be reported ambiguous; no false cycle; the move
// groups of one app each but merged (chatty pairs, by affinity); waves in
// dependency order; and no ephemeral port served.
func checkRealResult(t *testing.T, r *Result, merged []string, missing ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, e := range r.Edges {
		k := e.From + " -> " + e.To
		got[k] = true
		port, ok := realEdges[k]
		if !ok {
			t.Errorf("false edge %s (ports %v, %d sessions)", k, e.Ports, e.Count)
			continue
		}
		if !slices.Equal(e.Ports, []int{port}) {
			t.Errorf("edge %s: ports %v, want [%d]", k, e.Ports, port)
		}
	}
	for k := range realEdges {
		if !got[k] && !slices.Contains(missing, k) {
			t.Errorf("true edge %s missing", k)
		}
	}
	if len(r.IntraAppEdges) != 0 {
		t.Errorf("intra-app edges %+v: no VM of an app talks to another", r.IntraAppEdges)
	}
	for _, g := range r.MoveGroups {
		if strings.Contains(g.Reason, "cycle") {
			t.Errorf("move group %s (%s) %v: the topology has no cycle", g.ID, g.Reason, g.Apps)
		}
	}
	var groups []string
	for _, g := range r.MoveGroups {
		if len(g.Apps) > 1 {
			groups = append(groups, strings.Join(g.Apps, "+")+" ("+g.Reason+")")
		}
	}
	if !slices.Equal(groups, merged) {
		t.Errorf("merged move groups %v, want %v", groups, merged)
	}
	wave, group := map[string]int{}, map[string]string{}
	for _, n := range r.Apps {
		wave[n.ID], group[n.ID] = n.Wave, n.MoveGroup
	}
	for k := range realEdges {
		from, to, _ := strings.Cut(k, " -> ")
		if !strings.HasPrefix(from, "ext:") && got[k] && group[from] != group[to] && wave[from] <= wave[to] {
			t.Errorf("%s: %s is in wave %d, its dependency %s in wave %d", k, from, wave[from], to, wave[to])
		}
	}
	served := map[string]bool{} // apps some found edge reaches
	for k := range realEdges {
		if _, to, _ := strings.Cut(k, " -> "); got[k] {
			served[to] = true
		}
	}
	serves := map[string]int{}
	for _, a := range realApps {
		for _, ip := range a.ips {
			if served[a.name] {
				serves[ip] = a.serve
			}
		}
	}
	inv := realInventory()
	for _, vm := range inv.VMs {
		var want []Port
		if p := serves[vm.IPs[0]]; p != 0 {
			want = []Port{{Port: p, Protocol: "tcp"}}
		}
		if got := r.InboundPorts[vm.Ref]; !slices.Equal(got, want) {
			t.Errorf("%s (%s) serves %v, want %v", vm.Name, vm.IPs[0], got, want)
		}
	}
	if r.Ambiguous.Conversations != len(missing) {
		t.Errorf("%d ambiguous conversations %+v, want %d", r.Ambiguous.Conversations, r.Ambiguous.Examples, len(missing))
	}
	for _, k := range missing {
		from, to, _ := strings.Cut(k, " -> ")
		found := false
		for _, x := range r.Ambiguous.Examples {
			found = found || (x.ANode == from && x.BNode == to) || (x.ANode == to && x.BNode == from)
		}
		if !found {
			t.Errorf("%s is not among the ambiguous examples %+v", k, r.Ambiguous.Examples)
		}
	}
}

// TestRealNfdump: nfdump -o csv of softflowd's NetFlow v9 export has one
// record per direction. Every reply pairs with its request; the server
// side comes from the well-known port (auth), the port ranges (web, api,
// db, cache) and the peer count (metrics serves on 50051, inside the
// ephemeral ranges). backup, also on a high port and called by a single
// connection, cannot be told apart without its listening socket: it is
// reported ambiguous, and decided once the ss -ltn capture is added.
func TestRealNfdump(t *testing.T) {
	r := analyzeFiles(t, "real-nfdump.csv")
	if r.Stats.Records != 134 || r.Stats.Direction.Paired != 67 {
		t.Errorf("records %d, paired conversations %d: want 134 records in 67 request/reply pairs", r.Stats.Records, r.Stats.Direction.Paired)
	}
	// Without the backup edge, batch's traffic is mostly with db: a
	// chatty pair that moves together.
	checkRealResult(t, r, []string{"batch+db (affinity)"}, "batch -> backup")
	d := r.Stats.Direction
	if d.ByWellKnown != 4 || d.ByPeers != 62 || d.Ambiguous != 1 {
		t.Errorf("decided by %+v: want 4 by the well-known port (api -> auth), 62 by peer count (3 or more connections to the server port, 1 from each client port), 1 ambiguous", d)
	}

	r = analyzeFiles(t, "real-nfdump.csv", "real-ss-ltn.txt")
	checkRealResult(t, r, nil)
	if r.Stats.Records != 134 || r.Stats.Direction.ByListening != 67 {
		t.Errorf("with the listening sockets: %d records, %+v: want every conversation decided by them", r.Stats.Records, r.Stats.Direction)
	}
}

// TestRealSS: ss -tan on the host of every socket shows each loopback
// connection twice (client and server socket) and the listening sockets;
// ss -tn shows no listening socket.
func TestRealSS(t *testing.T) {
	r := analyzeFiles(t, "real-ss-tan.txt")
	checkRealResult(t, r, nil)
	if r.Stats.Direction.Paired != 67 || r.Stats.Direction.ByListening != 67 {
		t.Errorf("ss -tan: %+v: want 67 connections, both sockets each, decided by listening sockets", r.Stats.Direction)
	}

	r = analyzeFiles(t, "real-ss-tn.txt")
	checkRealResult(t, r, nil, "batch -> backup") // ss has no bytes: affinity counts sessions

	r = analyzeFiles(t, "real-ss-tn.txt", "real-ss-ltn.txt")
	checkRealResult(t, r, nil)
}

// TestRealNfdumAsWritten: the same records with the source port column
// removed (as a tool without it would write them) keep the file's
// direction, and every reply becomes a false edge: what ferry did before
// pairing, and why the source port matters.
func TestRealNfdumAsWritten(t *testing.T) {
	data, err := os.ReadFile("testdata/real-nfdump.csv")
	if err != nil {
		t.Fatal(err)
	}
	in := strings.Replace(string(data), "ts,te,td,sa,da,sp,", "ts,te,td,sa,da,sport_dropped,", 1)
	agg := NewAggregator()
	if err := agg.ReadFlows(strings.NewReader(in), "no-sp.csv", ParseOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := agg.Analyze(realInventory(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cycles := 0
	for _, g := range r.MoveGroups {
		if strings.Contains(g.Reason, "cycle") {
			cycles++
		}
	}
	if cycles == 0 || len(r.Edges) <= len(realEdges) {
		t.Errorf("without source ports: %d edges, %d cycle groups; the replies should show as false edges", len(r.Edges), cycles)
	}
}

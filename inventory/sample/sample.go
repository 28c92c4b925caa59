// Package sample generates ferry's sample portfolio: a realistic set of
// apps with owners, tiers, dependencies and VMs, the flow records that link
// them, and an in-process vCenter simulator holding them. `ferry dev`,
// tests and demos all start from it. Output is deterministic for a seed.
package sample

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Options size the portfolio.
type Options struct {
	Seed        int64
	Apps        int
	Datacenters int
}

// Default is a dozen-plus apps with about forty VMs in two datacenters.
func Default() Options { return Options{Seed: 1, Apps: 16, Datacenters: 2} }

// Portfolio is the generated estate.
type Portfolio struct {
	Apps []App
	seed int64
}

// App is one application with its VMs.
type App struct {
	Name      string
	Owner     string
	Squad     string
	Tier      string
	Runbook   string
	DependsOn []string
	VMs       []VM
}

// VM is one virtual machine of an app.
type VM struct {
	Name       string
	Datacenter string
	CPU        int32
	MemoryMB   int64
	DiskGB     int64
	GuestID    string
	IP         string
	Ports      []int
	PoweredOn  bool
	// Problems are migration blockers planted on the VM (tests only; the
	// default portfolio has none).
	Problems []Problem
}

// role is a kind of VM with its usual size and listening ports.
type role struct {
	cpu   []int32
	memGB []int64
	disk  []int64
	ports []int
	guest []string
}

var roles = map[string]role{
	"web":    {[]int32{2, 4}, []int64{4, 8}, []int64{40, 60}, []int{443, 80}, []string{"ubuntu64Guest", "rhel8_64Guest"}},
	"api":    {[]int32{2, 4, 8}, []int64{8, 16}, []int64{60, 80}, []int{8080}, []string{"ubuntu64Guest", "rhel8_64Guest", "centos7_64Guest"}},
	"worker": {[]int32{4, 8}, []int64{8, 16}, []int64{60}, []int{9100}, []string{"ubuntu64Guest", "rhel8_64Guest"}},
	"pg":     {[]int32{8, 16}, []int64{32, 64}, []int64{500, 1000}, []int{5432}, []string{"rhel8_64Guest"}},
	"mysql":  {[]int32{4, 8}, []int64{16, 32}, []int64{250, 500}, []int{3306}, []string{"centos7_64Guest"}},
	"search": {[]int32{8}, []int64{32}, []int64{400}, []int{9200, 9300}, []string{"ubuntu64Guest"}},
	"mq":     {[]int32{4}, []int64{8}, []int64{100}, []int{5672, 15672}, []string{"ubuntu64Guest"}},
	"ldap":   {[]int32{2}, []int64{4}, []int64{40}, []int{389, 636}, []string{"rhel8_64Guest"}},
	"smtp":   {[]int32{2}, []int64{4}, []int64{40}, []int{25, 587}, []string{"centos7_64Guest"}},
	"win":    {[]int32{4}, []int64{16}, []int64{120}, []int{443, 3389}, []string{"windows2019srv_64Guest"}},
	"mssql":  {[]int32{8}, []int64{32}, []int64{500}, []int{1433}, []string{"windows2019srv_64Guest"}},
}

// blueprint is an app of the catalogue.
type blueprint struct {
	name  string
	squad string
	tier  string
	role  string
	vms   int
	deps  []string
}

// catalogue lists apps in dependency order: an app depends only on apps
// listed before it, so any prefix of the catalogue is self-contained.
var catalogue = []blueprint{
	{"ldap-proxy", "identity", "tier-1", "ldap", 2, nil},
	{"payments-db", "payments", "tier-1", "pg", 2, nil},
	{"catalog-db", "catalog", "tier-2", "mysql", 2, nil},
	{"message-queue", "platform", "tier-1", "mq", 3, nil},
	{"search-index", "catalog", "tier-2", "search", 3, nil},
	{"auth-service", "identity", "tier-1", "api", 3, []string{"ldap-proxy"}},
	{"ledger-service", "payments", "tier-1", "api", 2, []string{"payments-db"}},
	{"billing-api", "payments", "tier-1", "api", 3, []string{"payments-db", "ledger-service", "auth-service"}},
	{"catalog-api", "catalog", "tier-2", "api", 3, []string{"catalog-db", "search-index"}},
	{"inventory-svc", "fulfilment", "tier-2", "api", 3, []string{"catalog-db", "message-queue"}},
	{"order-service", "fulfilment", "tier-1", "worker", 3, []string{"billing-api", "inventory-svc", "message-queue"}},
	{"web-portal", "storefront", "tier-1", "web", 4, []string{"auth-service", "catalog-api", "order-service"}},
	{"mail-relay", "platform", "tier-3", "smtp", 1, nil},
	{"hr-portal", "people", "tier-3", "win", 2, []string{"ldap-proxy", "hr-db"}},
	{"hr-db", "people", "tier-3", "mssql", 1, nil},
	{"reporting", "data", "tier-3", "worker", 2, []string{"payments-db", "catalog-db"}},
}

var owners = map[string][]string{
	"identity":   {"ana.souza@example.com", "@identity-oncall"},
	"payments":   {"priya.nair@example.com", "@payments-team"},
	"catalog":    {"lukas.meyer@example.com", "@catalog-squad"},
	"platform":   {"sam.okafor@example.com", "@platform-sre"},
	"fulfilment": {"chen.wei@example.com", "@fulfilment"},
	"storefront": {"maria.garcia@example.com", "@storefront-web"},
	"people":     {"jo.martin@example.com", "@people-tech"},
	"data":       {"noah.berg@example.com", "@data-eng"},
	"extra":      {"kim.lee@example.com", "@misc-apps"},
}

// Extra app names when more apps are asked for than the catalogue holds.
var (
	extraA = []string{"fleet", "promo", "loyalty", "pricing", "tax", "invoice", "returns", "shipping", "review", "media", "notify", "audit"}
	extraB = []string{"api", "svc", "worker", "gateway", "sync"}
)

// DatacenterNames are the names the simulator gives its datacenters.
func DatacenterNames(n int) []string {
	base := []string{"dc-east", "dc-west"}
	out := make([]string, 0, n)
	for i := range n {
		if i < len(base) {
			out = append(out, base[i])
		} else {
			out = append(out, fmt.Sprintf("dc-%d", i+1))
		}
	}
	return out
}

// Generate builds a portfolio; the same options give the same portfolio.
func Generate(o Options) *Portfolio {
	if o.Apps <= 0 {
		o.Apps = Default().Apps
	}
	if o.Datacenters <= 0 {
		o.Datacenters = 1
	}
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x5eed))
	dcs := DatacenterNames(o.Datacenters)
	bps := slices.Clone(catalogue)
	if o.Apps < len(bps) {
		bps = bps[:o.Apps]
	}
	for i := 0; len(bps) < o.Apps; i++ {
		name := extraA[i%len(extraA)] + "-" + extraB[(i/len(extraA))%len(extraB)]
		if i >= len(extraA)*len(extraB) {
			name = fmt.Sprintf("%s-%d", name, i/(len(extraA)*len(extraB)))
		}
		r := []string{"api", "worker", "web"}[rng.IntN(3)]
		dep := bps[rng.IntN(len(bps))].name
		bps = append(bps, blueprint{name, "extra", fmt.Sprintf("tier-%d", 2+rng.IntN(2)), r, 1 + rng.IntN(3), []string{dep}})
	}
	present := map[string]bool{}
	for _, b := range bps {
		present[b.name] = true
	}

	p := &Portfolio{seed: o.Seed}
	for ai, b := range bps {
		r := roles[b.role]
		own := owners[b.squad]
		a := App{
			Name:    b.name,
			Owner:   own[rng.IntN(len(own))],
			Squad:   b.squad,
			Tier:    b.tier,
			Runbook: "https://runbooks.example.com/apps/" + b.name,
		}
		for _, d := range b.deps {
			if present[d] {
				a.DependsOn = append(a.DependsOn, d)
			}
		}
		slices.Sort(a.DependsOn)
		dc := ai % len(dcs)
		cpu := r.cpu[rng.IntN(len(r.cpu))]
		mem := r.memGB[rng.IntN(len(r.memGB))] * 1024
		disk := r.disk[rng.IntN(len(r.disk))]
		guest := r.guest[rng.IntN(len(r.guest))]
		for i := range b.vms {
			vmDC := dc
			// Databases keep a replica in the other datacenter.
			if i == 1 && (b.role == "pg" || b.role == "mysql") && len(dcs) > 1 {
				vmDC = (dc + 1) % len(dcs)
			}
			a.VMs = append(a.VMs, VM{
				Name:       fmt.Sprintf("%s-%02d", b.name, i+1),
				Datacenter: dcs[vmDC],
				CPU:        cpu,
				MemoryMB:   mem,
				DiskGB:     disk,
				GuestID:    guest,
				IP:         fmt.Sprintf("10.%d.%d.%d", 10+vmDC, 1+ai%250, 11+i),
				Ports:      slices.Clone(r.ports),
				// The last VM of larger apps is a cold standby; a few
				// tier-3 apps sit powered off entirely.
				PoweredOn: !(b.vms > 2 && i == b.vms-1) && !(b.tier == "tier-3" && rng.IntN(4) == 0),
			})
		}
		p.Apps = append(p.Apps, a)
	}
	return p
}

// VMCount is the number of VMs in the portfolio.
func (p *Portfolio) VMCount() int {
	n := 0
	for _, a := range p.Apps {
		n += len(a.VMs)
	}
	return n
}

// App returns the named app, or nil.
func (p *Portfolio) App(name string) *App {
	for i := range p.Apps {
		if p.Apps[i].Name == name {
			return &p.Apps[i]
		}
	}
	return nil
}

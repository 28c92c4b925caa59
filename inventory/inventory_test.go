package inventory_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/runbooks"
)

var long80 = strings.Repeat("x", 76) + "-01" + "z" // 80 characters

// oddPortfolio is a small estate with the names and states that break
// naive discovery code.
func oddPortfolio() *sample.Portfolio {
	vm := func(name, dc, ip string, on bool) sample.VM {
		return sample.VM{Name: name, Datacenter: dc, CPU: 2, MemoryMB: 4096, DiskGB: 20, GuestID: "ubuntu64Guest", IP: ip, PoweredOn: on}
	}
	return &sample.Portfolio{Apps: []sample.App{
		{Name: "billing-api", Owner: "ana@example.com", Squad: "payments", Tier: "tier-1", Runbook: "https://rb/billing", DependsOn: []string{"payments-db"},
			VMs: []sample.VM{vm("billing-api-01", "dc-east", "10.0.0.1", true), vm("billing api 02 (old)", "dc-east", "", true), vm("billing-api-03", "dc-east", "10.0.0.3", false)}},
		{Name: "payments-db", Owner: "@payments", Squad: "payments", Tier: "tier-1",
			VMs: []sample.VM{vm("db.payments.corp", "dc-east", "10.0.0.9", true), vm("db.payments.corp", "dc-west", "10.1.0.9", true)}},
		{Name: "café-ünïcode", Owner: "zoë@example.com", Tier: "tier-3",
			VMs: []sample.VM{vm("café-ünïcode-01", "dc-west", "10.1.0.5", true), vm("web/front", "dc-west", "10.1.0.6", true), vm(long80, "dc-west", "", false)}},
		// No tags: grouped by attribute, by the naming rule, or not at all.
		{VMs: []sample.VM{vm("legacy-crm-01", "dc-east", "10.0.0.20", true), vm("legacy-crm-02", "dc-east", "", false), vm("JUMPHOST", "dc-west", "10.1.0.99", true), vm("tagless box", "dc-west", "", true)}},
	}}
}

type fixture struct {
	sim *sample.Simulator
	c   *inventory.Client
	p   *sample.Portfolio
}

func start(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	p := oddPortfolio()
	sim := sample.StartT(t, p)
	cfg := sim.Config()
	cfg.RetryBase = time.Millisecond
	c, err := inventory.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctx) })
	// "tagless box" carries the app only as a custom attribute.
	cfm := object.NewCustomFieldsManager(c.Vim())
	def, err := cfm.Add(ctx, "app", "VirtualMachine", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: sim.VMRef("dc-west", "tagless box")}
	if err := cfm.Set(ctx, ref, def.Key, "print-server"); err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: sim, c: c, p: p}
}

func byName(inv *inventory.Inventory) map[string][]inventory.VM {
	m := map[string][]inventory.VM{}
	for _, v := range inv.VMs {
		m[v.Name] = append(m[v.Name], v)
	}
	return m
}

func TestDiscoverOddEstate(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	// Usage history is read separately (history_test.go): vcsim's samples
	// are random, and the comparison below needs two identical reads.
	inv, err := inventory.Discover(ctx, f.c, inventory.Options{UsageWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Schema != inventory.SchemaVersion || strings.Contains(inv.Source, "@") {
		t.Fatalf("schema %q source %q", inv.Schema, inv.Source)
	}
	if len(inv.VMs) != 12 {
		t.Fatalf("VMs = %d, want 12", len(inv.VMs))
	}
	vms := byName(inv)

	// Same name in two datacenters: two VMs, datacenter tells them apart.
	db := vms["db.payments.corp"]
	if len(db) != 2 || db[0].Datacenter != "dc-east" || db[1].Datacenter != "dc-west" || db[0].Ref == db[1].Ref {
		t.Fatalf("same-name VMs: %+v", db)
	}
	for _, name := range []string{"billing api 02 (old)", "café-ünïcode-01", long80} {
		if len(vms[name]) != 1 {
			t.Errorf("VM %q not discovered under its name (have %v)", name, slices.Collect(maps.Keys(vms)))
		}
	}
	// vCenter escapes '/' in names as %2f; either form is the same VM.
	if len(vms["web/front"])+len(vms["web%2ffront"]) != 1 {
		t.Errorf("slash VM missing: %v", slices.Collect(maps.Keys(vms)))
	}

	// Powered off, no tools, no IP.
	off := vms["billing-api-03"][0]
	if off.PowerState != "poweredOff" || len(off.IPs) != 0 {
		t.Errorf("powered-off VM %+v", off)
	}
	noTools := vms["billing api 02 (old)"][0]
	if noTools.PowerState != "poweredOn" || noTools.ToolsStatus != "toolsNotInstalled" || len(noTools.IPs) != 0 || noTools.GuestFamily != "linuxGuest" {
		t.Errorf("VM without tools %+v", noTools)
	}
	on := vms["billing-api-01"][0]
	if on.Cluster == "" || on.Host == "" || on.ResourcePool == "" || on.Folder != "/dc-east/vm/payments" ||
		len(on.Disks) != 1 || on.Disks[0].Datastore == "" || on.Disks[0].CapacityBytes != 20<<30 ||
		len(on.NICs) != 1 || on.NICs[0].Network == "" || on.NICs[0].MAC == "" ||
		!slices.Equal(on.IPs, []string{"10.0.0.1"}) || on.Usage.CPUMHz == 0 || on.Usage.CPUMaxMHz == 0 || on.GuestHostname == "" ||
		on.CustomAttributes["runbook"] != "https://rb/billing" || !slices.Equal(on.Tags["owner"], []string{"ana@example.com"}) {
		t.Errorf("full VM %+v", on)
	}

	apps := map[string]inventory.App{}
	for _, a := range inv.Apps {
		apps[a.Name] = a
	}
	if !slices.IsSortedFunc(inv.Apps, func(a, b inventory.App) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("apps not sorted")
	}
	check := func(name, by string, n int) {
		t.Helper()
		a, ok := apps[name]
		if !ok || a.MatchedBy != by || len(a.VMs) != n {
			t.Errorf("app %s = %+v, want matchedBy %s with %d VMs", name, a, by, n)
		}
	}
	check("billing-api", inventory.MatchedByTag, 3)
	check("payments-db", inventory.MatchedByTag, 2)
	check("café-ünïcode", inventory.MatchedByTag, 3)
	check("print-server", inventory.MatchedByAttribute, 1)
	check("legacy-crm", inventory.MatchedByName, 2)
	if b := apps["billing-api"]; b.Owner != "ana@example.com" || b.Squad != "payments" || b.Tier != "tier-1" ||
		b.Runbook != "https://rb/billing" || !slices.Equal(b.DependsOn, []string{"payments-db"}) {
		t.Errorf("billing-api directory entry %+v", b)
	}
	if len(inv.Unassigned) != 1 || inv.Unassigned[0] != f.sim.VMRef("dc-west", "JUMPHOST") {
		t.Errorf("unassigned %v", inv.Unassigned)
	}
	// Every VM is either in exactly one app or unassigned.
	seen := map[string]int{}
	for _, a := range inv.Apps {
		for _, r := range a.VMs {
			seen[r]++
		}
	}
	for _, r := range inv.Unassigned {
		seen[r]++
	}
	for _, v := range inv.VMs {
		if seen[v.Ref] != 1 {
			t.Errorf("VM %s (%s) counted %d times", v.Name, v.Ref, seen[v.Ref])
		}
	}

	// Stable: paging through 2 VMs at a time gives the same inventory.
	paged, err := inventory.Discover(ctx, f.c, inventory.Options{PageSize: 2, UsageWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	paged.CollectedAt = inv.CollectedAt
	a, _ := json.Marshal(inv)
	b, _ := json.Marshal(paged)
	if string(a) != string(b) {
		t.Fatalf("paged discovery differs:\n%s\n%s", a, b)
	}

	// One datacenter, and one app.
	only, err := inventory.Discover(ctx, f.c, inventory.Options{App: "payments-db"})
	if err != nil || len(only.VMs) != 2 || len(only.Apps) != 1 {
		t.Fatalf("app filter: %v %+v", err, only)
	}
}

func TestDiscoverOptions(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	// Another grouping: the squad tag names the app; no naming rule.
	inv, err := inventory.Discover(ctx, f.c, inventory.Options{AppCategory: "squad", AppAttribute: "none-such", NameRule: "none"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range inv.Apps {
		names = append(names, a.Name)
	}
	if !slices.Equal(names, []string{"payments"}) || len(inv.Unassigned) != 7 {
		t.Fatalf("apps %v, unassigned %d", names, len(inv.Unassigned))
	}
	if _, err := inventory.Discover(ctx, f.c, inventory.Options{NameRule: "^(no-group)$"}); err == nil {
		t.Fatal("a name rule without (?P<app>) must be refused")
	}

	cfg := f.sim.Config()
	cfg.Datacenter = "dc-west"
	c, err := inventory.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	west, err := inventory.Discover(ctx, c, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range west.VMs {
		if v.Datacenter != "dc-west" {
			t.Fatalf("VM %s from %s with GOVC_DATACENTER=dc-west", v.Name, v.Datacenter)
		}
	}
	if len(west.VMs) != 6 {
		t.Fatalf("dc-west VMs = %d, want 6", len(west.VMs))
	}
}

func TestTransientFaultsAreRetried(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	for _, method := range []string{"RetrievePropertiesEx", "CreateContainerView"} {
		f.sim.Service().AddFaultRule(&simulator.FaultInjectionRule{MethodName: method, ObjectType: "*", ObjectName: "*",
			Probability: 1, MaxCount: 2, FaultType: simulator.FaultTypeNetworkFailure, Enabled: true})
	}
	inv, err := inventory.Discover(ctx, f.c, inventory.Options{})
	if err != nil {
		t.Fatalf("two transient faults per method must be retried away: %v", err)
	}
	if len(inv.VMs) != 12 {
		t.Fatalf("VMs = %d", len(inv.VMs))
	}
	f.sim.Service().ClearFaultRules()

	f.sim.Service().AddFaultRule(&simulator.FaultInjectionRule{MethodName: "RetrievePropertiesEx", ObjectType: "*", ObjectName: "*",
		Probability: 1, FaultType: simulator.FaultTypeTimeout, Enabled: true})
	_, err = inventory.Discover(ctx, f.c, inventory.Options{})
	e := asError(t, err)
	if e.Kind != inventory.KindTransient || !e.Retryable() || !strings.Contains(e.Error(), "attempts") {
		t.Fatalf("persistent transient fault: %v", e)
	}
	f.sim.Service().ClearFaultRules()
}

func TestPermanentFaults(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	cases := []struct {
		fault  simulator.FaultType
		kind   inventory.Kind
		reason runbooks.Reason
	}{
		{simulator.FaultTypeNoPermission, inventory.KindPermission, runbooks.ReasonVCenterPermission},
		{simulator.FaultTypeNotAuthenticated, inventory.KindAuth, runbooks.ReasonVCenterAuth},
		{simulator.FaultTypeInvalidArgument, inventory.KindFault, runbooks.ReasonVCenterFault},
	}
	for _, tc := range cases {
		f.sim.Service().AddFaultRule(&simulator.FaultInjectionRule{MethodName: "RetrievePropertiesEx", ObjectType: "*", ObjectName: "*",
			Probability: 1, FaultType: tc.fault, Enabled: true})
		_, err := inventory.Discover(ctx, f.c, inventory.Options{})
		e := asError(t, err)
		if e.Kind != tc.kind || e.Reason != tc.reason || e.Retryable() || strings.Contains(e.Error(), "attempts") {
			t.Errorf("fault %v: got %s/%s retryable=%v: %v", tc.fault, e.Kind, e.Reason, e.Retryable(), e)
		}
		f.sim.Service().ClearFaultRules()
	}
}

func asError(t *testing.T, err error) *inventory.Error {
	t.Helper()
	var e *inventory.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *inventory.Error, got %T: %v", err, err)
	}
	return e
}

// The five failure classes a person meets, each with its next step, and
// never the password.
func TestConnectErrorMessages(t *testing.T) {
	ctx := context.Background()
	sim := sample.StartT(t, &sample.Portfolio{Apps: []sample.App{{Name: "a", VMs: []sample.VM{{Name: "a-01", Datacenter: "dc-east"}}}}})
	good := sim.Config()
	const secret = "s3cret-Pa55"

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	withPass := func(c inventory.Config) inventory.Config {
		c.Password = secret
		c.RetryBase = time.Millisecond
		c.MaxAttempts = 2
		return c
	}
	unreachable := withPass(inventory.Config{URL: "https://admin:" + secret + "@" + closed + "/sdk", Username: "admin"})
	badCreds := withPass(good)
	tlsCfg := good
	tlsCfg.Insecure = false
	unknownDC := good
	unknownDC.Datacenter = "dc-mars"

	cases := []struct {
		name   string
		cfg    inventory.Config
		kind   inventory.Kind
		reason runbooks.Reason
		hint   string
	}{
		{"unreachable", unreachable, inventory.KindUnreachable, runbooks.ReasonVCenterUnreachable, "check GOVC_URL"},
		{"bad credentials", badCreds, inventory.KindAuth, runbooks.ReasonVCenterAuth, "GOVC_PASSWORD"},
		{"tls", tlsCfg, inventory.KindTLS, runbooks.ReasonVCenterUnreachable, "GOVC_INSECURE"},
		{"unknown datacenter", unknownDC, inventory.KindUnknownDatacenter, runbooks.ReasonVCenterFault, "dc-east"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := inventory.Connect(ctx, tc.cfg)
			if err == nil {
				_, err = inventory.Discover(ctx, c, inventory.Options{})
				c.Close(ctx)
			}
			e := asError(t, err)
			msg := e.Error()
			if e.Kind != tc.kind || e.Reason != tc.reason || !strings.Contains(msg, tc.hint) {
				t.Errorf("got %s/%s: %s", e.Kind, e.Reason, msg)
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, good.Password) {
				t.Errorf("message leaks a password: %s", msg)
			}
		})
	}

	// Missing privileges: the fifth class, injected as vCenter reports it.
	c, err := inventory.Connect(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	sim.Service().AddFaultRule(&simulator.FaultInjectionRule{MethodName: "CreateContainerView", ObjectType: "*", ObjectName: "*",
		Probability: 1, FaultType: simulator.FaultTypeNoPermission, Enabled: true})
	_, err = inventory.Discover(ctx, c, inventory.Options{})
	e := asError(t, err)
	if e.Kind != inventory.KindPermission || !strings.Contains(e.Error(), "Read-only role") || !strings.Contains(e.Error(), "System.Modify") {
		t.Errorf("permission: %v", e)
	}
	sim.Service().ClearFaultRules()

	// VMByRef: found with its name; a vanished VM is an identity problem.
	ref := sim.VMRef("dc-east", "a-01")
	vm, name, err := c.VMByRef(ctx, ref)
	if err != nil || name != "a-01" || vm.Reference().Value != ref {
		t.Fatalf("VMByRef: %v %q", err, name)
	}
	if _, _, err := c.VMByRef(ctx, "vm-424242"); asError(t, err).Reason != runbooks.ReasonVMIdentityMismatch {
		t.Fatalf("missing VM: %v", err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("GOVC_URL", "admin%40vsphere.local:pa55@vc.example.com")
	t.Setenv("GOVC_USERNAME", "")
	t.Setenv("GOVC_PASSWORD", "")
	t.Setenv("GOVC_INSECURE", "1")
	t.Setenv("GOVC_DATACENTER", "dc-east")
	cfg, err := inventory.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := inventory.Config{URL: "https://vc.example.com/sdk", Username: "admin@vsphere.local", Password: "pa55", Insecure: true, Datacenter: "dc-east"}
	if cfg != want {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
	b, _ := json.Marshal(cfg)
	if strings.Contains(string(b), "pa55") {
		t.Fatalf("password serialised: %s", b)
	}
	t.Setenv("GOVC_PASSWORD", "explicit")
	cfg, _ = inventory.ConfigFromEnv()
	if cfg.Password != "explicit" {
		t.Fatalf("GOVC_PASSWORD must win over the URL's: %q", cfg.Password)
	}
	t.Setenv("GOVC_INSECURE", "maybe")
	if _, err := inventory.ConfigFromEnv(); err == nil {
		t.Fatal("GOVC_INSECURE=maybe accepted")
	}
	t.Setenv("GOVC_INSECURE", "")
	t.Setenv("GOVC_URL", "")
	if _, err := inventory.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "GOVC_URL") {
		t.Fatalf("missing GOVC_URL: %v", err)
	}
	if got := inventory.Redact("https://u:p@vc/sdk?x=1"); got != "https://vc/sdk" {
		t.Fatalf("Redact = %s", got)
	}
}

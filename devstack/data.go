package devstack

// The dev plan moves data for two apps, so a newcomer sees every data
// strategy: catalog-db replicates its disks with Migrate to Virtual
// Machines (gcpfake's vmmigration API, fast), payments-db syncs with its
// "own" replication (a stand-in whose lag falls from 75 s to 0 within a
// minute and a quarter of its start, so the lag gate holds the cutover for
// about 45 s), and every other app keeps data = "none".

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
)

// The dev plan's apps of each data strategy (when the portfolio has them).
const (
	DevReplicateApp = "catalog-db"
	DevSyncApp      = "payments-db"
	// DevTestNetwork is the isolated network the test clones boot in.
	DevTestNetwork = "migration-test"
)

// devM2VM is the fake Migrate to Virtual Machines service of the dev
// stack: replication at 64 GiB/s and short steps, so a first sync of a
// 500 GB database takes seconds, a test clone a few more.
func devM2VM(shutdown func(source, vmID string)) gcpfake.M2VMOptions {
	return gcpfake.M2VMOptions{BytesPerSecond: 64 << 30, Verify: time.Second, StepOverhead: time.Second,
		IdleDuration: 30 * time.Second, Clone: 3 * time.Second, Finalize: 2 * time.Second, OnSourceShutdown: shutdown}
}

// DevData sets the data strategies of the dev plan (see the package
// comment above): a migrate_to_vm block naming one source per datacenter
// of the replicated app, data = "replicate" on DevReplicateApp, and
// data = "sync" with a sync block on DevSyncApp.
func DevData(stateDir string, src []byte, inv *inventory.Inventory) ([]byte, error) {
	f, diags := hclwrite.ParseConfig(src, "ferry.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("dev plan: %s", diags.Error())
	}
	body := f.Body()
	var project, region string
	if g := body.FirstMatchingBlock("gcp", nil); g != nil {
		project, region = attrString(g.Body(), "project"), attrString(g.Body(), "region")
	}
	refs := map[string]bool{}
	for _, a := range inv.Apps {
		if a.Name == DevReplicateApp {
			for _, r := range a.VMs {
				refs[r] = true
			}
		}
	}
	dcs := map[string]bool{}
	for _, v := range inv.VMs {
		if refs[v.Ref] {
			dcs[v.Datacenter] = true
		}
	}
	for _, app := range body.Blocks() {
		if app.Type() != "app" || len(app.Labels()) != 1 {
			continue
		}
		switch app.Labels()[0] {
		case DevReplicateApp:
			if len(dcs) == 0 || project == "" {
				continue
			}
			app.Body().SetAttributeValue("data", cty.StringVal(plan.DataReplicate))
			// The replicated disks are stale once the sources run again:
			// a rollback removes them with the instances, so the app can
			// be migrated again with fresh ones.
			app.Body().SetAttributeValue("rollback", cty.StringVal("destroy"))
			// The cutover job shuts the sources down: one step.
			if c := app.Body().FirstMatchingBlock("cutover", nil); c != nil {
				c.Body().SetAttributeValue("steps", cty.ListVal([]cty.Value{cty.NumberIntVal(100)}))
			}
		case DevSyncApp:
			app.Body().SetAttributeValue("data", cty.StringVal(plan.DataSync))
			app.Body().AppendNewline()
			syncBlock(app.Body().AppendNewBlock("sync", nil).Body(), filepath.Join(stateDir, "sync", DevSyncApp+".started"))
		}
	}
	if len(dcs) > 0 && project != "" {
		body.AppendNewline()
		m := body.AppendNewBlock("migrate_to_vm", nil).Body()
		m.SetAttributeValue("test_network", cty.StringVal(DevTestNetwork))
		names := make([]string, 0, len(dcs))
		for dc := range dcs {
			names = append(names, dc)
		}
		sort.Strings(names)
		for _, dc := range names {
			m.AppendNewBlock("datacenter", []string{dc}).Body().SetAttributeValue("source",
				cty.StringVal(fmt.Sprintf("projects/%s/locations/%s/sources/%s", project, region, sourceID(dc))))
		}
	}
	return f.Bytes(), nil
}

// syncBlock writes the stand-in sync: start records when the "replica"
// started, lag reports 75 s minus the time since, never below zero.
func syncBlock(b *hclwrite.Body, marker string) {
	q := shellQuote(marker)
	list := func(s ...string) cty.Value {
		vs := make([]cty.Value, len(s))
		for i, x := range s {
			vs[i] = cty.StringVal(x)
		}
		return cty.ListVal(vs)
	}
	b.SetAttributeValue("start_command", list("sh", "-c", fmt.Sprintf("mkdir -p %s && { [ -s %s ] || date +%%s > %s; } && echo replica of %s streaming since $(cat %s)",
		shellQuote(filepath.Dir(marker)), q, q, DevSyncApp, q)))
	b.SetAttributeValue("lag_command", list("sh", "-c", fmt.Sprintf("l=$(( $(cat %s) + 75 - $(date +%%s) )); [ $l -gt 0 ] || l=0; echo $l", q)))
	b.SetAttributeValue("catch_up_command", list("sh", "-c", "echo final catch-up of "+DevSyncApp+": writes stopped, replica 0 s behind"))
	b.SetAttributeValue("reverse_command", list("sh", "-c", "echo reverse sync: writes made on GCP copied back to the datacenter primary of "+DevSyncApp))
	b.SetAttributeValue("max_lag", cty.StringVal("30s"))
	b.SetAttributeValue("probe_every", cty.StringVal("10s"))
	b.SetAttributeValue("timeout", cty.StringVal("1m"))
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

var nonSourceChars = regexp.MustCompile(`[^a-z0-9-]+`)

// sourceID is the M2VM source id of a datacenter, e.g. vcenter-dc0.
func sourceID(dc string) string {
	return "vcenter-" + strings.Trim(nonSourceChars.ReplaceAllString(strings.ToLower(dc), "-"), "-")
}

func attrString(b *hclwrite.Body, name string) string {
	a := b.GetAttribute(name)
	if a == nil {
		return ""
	}
	return strings.Trim(strings.TrimSpace(string(a.Expr().BuildTokens(nil).Bytes())), `"`)
}

// DataStack is the dev stack's Migrate to Virtual Machines side for a
// stack put together elsewhere (the chaos tests): the fake's options, whose
// cutover jobs power the source off in the simulator at vc, and Serve.
type DataStack struct{ power *sourcePower }

// NewDataStack is the data side of a stack whose simulator is at vc.
func NewDataStack(vc inventory.Config) *DataStack {
	return &DataStack{power: &sourcePower{vc: vc, names: map[string]string{}}}
}

// M2VMOptions are the fake M2VM service's options (gcpfake.Options.M2VM).
func (d *DataStack) M2VMOptions() gcpfake.M2VMOptions { return devM2VM(d.power.shutdown) }

// Serve registers, in the fake, the sources, target projects and test
// networks the reviewed specs of replicate apps name.
func (d *DataStack) Serve(fake *gcpfake.Server, specs []plan.AppSpec, inv *inventory.Inventory) error {
	for _, v := range inv.VMs {
		d.power.names[v.Ref] = v.Name
	}
	return serveReplication(fake, specs, inv)
}

// serveReplication registers, in the fake M2VM service, the sources the
// reviewed specs name with their VMs (id, name and disk sizes from the
// inventory), the target project and the test network.
func serveReplication(fake *gcpfake.Server, specs []plan.AppSpec, inv *inventory.Inventory) error {
	vms := map[string]inventory.VM{}
	for _, v := range inv.VMs {
		vms[v.Ref] = v
	}
	networks := map[string]bool{}
	for _, s := range specs {
		rs := s.Data.Replicate
		if s.Data.Strategy != plan.DataReplicate || rs == nil {
			continue
		}
		for _, rv := range rs.VMs {
			p := strings.Split(rv.Source, "/") // projects/P/locations/L/sources/S
			if len(p) != 6 {
				return fmt.Errorf("dev stack: app %s: source %q is not projects/P/locations/L/sources/S", s.Name, rv.Source)
			}
			v := vms[rv.Ref]
			disks := make([]int64, 0, len(v.Disks))
			for _, d := range v.Disks {
				disks = append(disks, max(1, (d.CapacityBytes+(1<<30)-1)>>30))
			}
			if len(disks) == 0 {
				disks = []int64{max(10, v.DiskGB())}
			}
			fake.M2VM().AddSource(p[1], p[3], p[5], gcpfake.SourceVM{ID: rv.Ref, Name: rv.Name, DisksGB: disks})
		}
		if tp := strings.Split(rs.TargetProject, "/"); len(tp) == 6 {
			fake.M2VM().AddTargetProject(tp[1], tp[5], s.Project)
		}
		if rs.TestNetwork != "" && !networks[s.Project+"/"+rs.TestNetwork] {
			networks[s.Project+"/"+rs.TestNetwork] = true
			if err := createNetwork(fake, s.Project, rs.TestNetwork); err != nil {
				return err
			}
		}
	}
	return nil
}

// createNetwork creates an auto-mode network through the fake's compute
// API, as the platform team creates the isolated test network.
func createNetwork(fake *gcpfake.Server, project, name string) error {
	body := fmt.Sprintf(`{"name":%q,"autoCreateSubnetworks":true}`, name)
	resp, err := http.Post(fake.ComputeEndpoint()+"projects/"+project+"/global/networks", "application/json", strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("dev stack: create test network %s: %w", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
		return fmt.Errorf("dev stack: create test network %s: HTTP %d", name, resp.StatusCode)
	}
	return nil
}

// sourcePower powers a source VM off in the simulator when the fake M2VM's
// cutover job shuts it down, as the real connector does.
type sourcePower struct {
	vc    inventory.Config
	names map[string]string // ref -> name
}

func (p *sourcePower) shutdown(_ string, vmID string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := inventory.Connect(ctx, p.vc)
	if err != nil {
		return
	}
	defer func() { _ = c.Close(ctx) }()
	_, _ = c.PowerOffSource(ctx, inventory.SourceVM{Ref: vmID, Name: p.names[vmID]}, 5*time.Second)
}

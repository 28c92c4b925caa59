package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
)

// discoverFlags are shared by discover and apps.
type discoverFlags struct {
	opts       inventory.Options
	datacenter string
	sample     bool
	inventory  string // apps: read a saved inventory instead
}

func (f *discoverFlags) bind(fs *pflag.FlagSet) {
	d := inventory.DefaultOptions()
	fs.BoolVar(&f.sample, "sample", false, "discover the built-in sample portfolio in an in-process vCenter simulator (no vCenter needed)")
	fs.StringVar(&f.datacenter, "datacenter", "", "only this datacenter (default: GOVC_DATACENTER, else every datacenter)")
	fs.StringVar(&f.opts.AppCategory, "app-category", d.AppCategory, "tag category naming a VM's app")
	fs.StringVar(&f.opts.AppAttribute, "app-attribute", d.AppAttribute, "custom attribute naming a VM's app (when no tag does)")
	fs.StringVar(&f.opts.NameRule, "name-rule", d.NameRule, "regexp with a named group (?P<app>...) applied to VM names when neither tag nor attribute names the app; \"none\" disables it")
	fs.StringVar(&f.opts.OwnerCategory, "owner-category", d.OwnerCategory, "tag category or custom attribute holding the app owner")
	fs.StringVar(&f.opts.SquadCategory, "squad-category", d.SquadCategory, "tag category or custom attribute holding the squad")
	fs.StringVar(&f.opts.TierCategory, "tier-category", d.TierCategory, "tag category or custom attribute holding the tier")
	fs.StringVar(&f.opts.RunbookCategory, "runbook-category", d.RunbookCategory, "tag category or custom attribute holding the runbook link")
	fs.StringVar(&f.opts.DependsOnCategory, "depends-on-category", d.DependsOnCategory, "tag category (or comma-separated custom attribute) listing the apps an app depends on")
}

// load discovers from the sample, a saved file or vCenter (govc env vars).
func (f *discoverFlags) load(ctx context.Context) (*inventory.Inventory, error) {
	if f.inventory != "" {
		return inventory.Load(f.inventory)
	}
	if f.sample {
		return sample.Discover(ctx, sample.Generate(sample.Default()), f.opts)
	}
	cfg, err := inventory.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	if f.datacenter != "" {
		cfg.Datacenter = f.datacenter
	}
	c, err := inventory.Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	return inventory.Discover(ctx, c, f.opts)
}

func newDiscoverCmd(g *globals) *cobra.Command {
	f := &discoverFlags{}
	var out string
	cmd := &cobra.Command{
		Use:   "discover",
		Short: "Read vCenter and group its VMs into apps (the app directory)",
		Long: `Read every VM of vCenter (placement, size, guest, usage, custom attributes,
tags) and group the VMs into apps: a tag in the app category first, then a
custom attribute, then the naming rule. VMs that match nothing are listed as
unassigned.

vCenter is reached with govc's variables: GOVC_URL, GOVC_USERNAME,
GOVC_PASSWORD, GOVC_INSECURE, GOVC_DATACENTER. -o json prints the whole
inventory (schema ferry.inventory/v1, docs/inventory-schema.md).`,
		Example: `  ferry discover --sample
  GOVC_URL=https://vc.example.com/sdk GOVC_USERNAME=ro@vsphere.local GOVC_PASSWORD=... ferry discover
  ferry discover -o json --out inventory.json
  ferry discover --name-rule '^(?P<app>[a-z]+)-(web|db)[0-9]+$'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			inv, err := f.load(cmd.Context())
			if err != nil {
				return err
			}
			if out != "" {
				if err := writeInventoryFile(out, inv); err != nil {
					return err
				}
				g.log.Info("inventory written", "file", out, "vms", len(inv.VMs), "apps", len(inv.Apps))
			}
			return g.print(cmd.OutOrStdout(), inv, func(tw *tabwriter.Writer) { discoverTable(tw, inv) })
		},
	}
	f.bind(cmd.Flags())
	cmd.Flags().StringVar(&out, "out", "", "also write the full inventory as JSON to this file")
	return cmd
}

func newAppsCmd(g *globals) *cobra.Command {
	f := &discoverFlags{}
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "List the app directory: owner, squad, tier, runbook, dependencies",
		Long: `List every app found in vCenter (or in a saved inventory) with its owner,
squad, tier, runbook link, declared dependencies and how it was recognised.`,
		Example: `  ferry apps --sample
  ferry apps --inventory inventory.json -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			inv, err := f.load(cmd.Context())
			if err != nil {
				return err
			}
			dir := appDirectory{Schema: inv.Schema, Source: inv.Source, Apps: inv.Apps, Unassigned: inv.Unassigned}
			return g.print(cmd.OutOrStdout(), dir, func(tw *tabwriter.Writer) { appsTable(tw, inv) })
		},
	}
	f.bind(cmd.Flags())
	cmd.Flags().StringVar(&f.inventory, "inventory", "", "read a saved inventory (ferry discover -o json) instead of vCenter")
	return cmd
}

// appDirectory is `ferry apps -o json`.
type appDirectory struct {
	Schema     string          `json:"schema"`
	Source     string          `json:"source"`
	Apps       []inventory.App `json:"apps"`
	Unassigned []string        `json:"unassigned"`
}

func discoverTable(tw *tabwriter.Writer, inv *inventory.Inventory) {
	byRef := make(map[string]*inventory.VM, len(inv.VMs))
	for i := range inv.VMs {
		byRef[inv.VMs[i].Ref] = &inv.VMs[i]
	}
	fmt.Fprintln(tw, "APP\tVMS\tVCPU\tMEMORY\tDISK\tOWNER\tTIER\tPOWER")
	row := func(name, owner, tier string, refs []string) {
		var cpu, mem, disk int64
		power := map[string]int{}
		for _, r := range refs {
			v := byRef[r]
			cpu += int64(v.NumCPU)
			mem += v.MemoryMB
			disk += v.DiskGB()
			power[v.PowerState]++
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", cell(name), len(refs), cpu, gib(mem), fmt.Sprintf("%d GiB", disk),
			dash(cell(owner)), dash(cell(tier)), powerSummary(power))
	}
	for _, a := range inv.Apps {
		row(a.Name, a.Owner, a.Tier, a.VMs)
	}
	if len(inv.Unassigned) > 0 {
		row("(unassigned)", "", "", inv.Unassigned)
	}
}

func appsTable(tw *tabwriter.Writer, inv *inventory.Inventory) {
	fmt.Fprintln(tw, "APP\tOWNER\tSQUAD\tTIER\tVMS\tDEPENDS ON\tRUNBOOK\tMATCHED BY")
	for _, a := range inv.Apps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", cell(a.Name), dash(cell(a.Owner)), dash(cell(a.Squad)), dash(cell(a.Tier)), len(a.VMs),
			dash(cells(a.DependsOn, ",")), dash(cell(a.Runbook)), cell(a.MatchedBy))
	}
	if len(inv.Unassigned) > 0 {
		fmt.Fprintf(tw, "(unassigned)\t-\t-\t-\t%d\t-\t-\t-\n", len(inv.Unassigned))
	}
}

func powerSummary(p map[string]int) string {
	var parts []string
	for _, s := range []struct{ state, label string }{{"poweredOn", "on"}, {"poweredOff", "off"}, {"suspended", "suspended"}} {
		if n := p[s.state]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s.label))
		}
	}
	return dash(strings.Join(parts, ", "))
}

func gib(mb int64) string {
	if mb%1024 == 0 {
		return fmt.Sprintf("%d GiB", mb/1024)
	}
	return fmt.Sprintf("%.1f GiB", float64(mb)/1024)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeInventoryFile(path string, inv *inventory.Inventory) error {
	b, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	return nil
}

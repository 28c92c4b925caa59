package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/readiness"
)

func newReadinessCmd(g *globals) *cobra.Command {
	f := &discoverFlags{}
	var app string
	var all, strict bool
	cmd := &cobra.Command{
		Use:   "readiness",
		Short: "Can each VM and app move to Compute Engine as it is? Ready, ready with conditions, not ready",
		Long: `Assess every VM (and so every app) for a move to Compute Engine, the way
Forklift and Azure Migrate do before a migration: guest OS supported or end
of life, raw device mappings, shared or independent disks, snapshots, disks
above GCE's limits (64 TiB; 2 TiB for an MBR boot disk), network adapters
for the target shape, UEFI secure boot, VMware Tools, power state.

Each finding has its reason and the fix. An app is as ready as its least
ready VM; a not-ready app cannot pass the plan gate unless its reviewed
plan accepts the finding (accept_readiness, docs/plan.md); plan validate
shows the same findings at each app's block. -o json prints the
report (schema ferry.readiness/v1, docs/readiness.md).`,
		Example: `  ferry readiness --sample
  ferry readiness --inventory inventory.json --app billing-api
  ferry readiness -o json --strict   # exit 1 when an app is not ready`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			inv, err := f.load(cmd.Context())
			if err != nil {
				return err
			}
			if app != "" {
				if !hasApp(inv, app) {
					return fmt.Errorf("app %q is not in the inventory: see ferry apps", app)
				}
				inv = inv.Only(app)
			}
			rep := readiness.Check(inv, readiness.Options{TargetVCPU: targetVCPU(inv)})
			if err := g.print(cmd.OutOrStdout(), rep, func(tw *tabwriter.Writer) { readinessTable(tw, rep, all) }); err != nil {
				return err
			}
			if strict {
				var bad []string
				for _, a := range rep.Apps {
					if a.Verdict == readiness.NotReady {
						bad = append(bad, a.Name)
					}
				}
				if len(bad) > 0 {
					return fmt.Errorf("%d app(s) not ready: %s; fix the findings above and run ferry discover again", len(bad), strings.Join(bad, ", "))
				}
			}
			return nil
		},
	}
	f.bind(cmd.Flags())
	cmd.Flags().StringVar(&f.inventory, "inventory", "", "read a saved inventory (ferry discover -o json) instead of vCenter")
	cmd.Flags().StringVar(&app, "app", "", "only this app")
	cmd.Flags().BoolVar(&all, "all", false, "list ready VMs too")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit non-zero when any app is not ready")
	return cmd
}

func hasApp(inv *inventory.Inventory, name string) bool {
	for _, a := range inv.Apps {
		if a.Name == name {
			return true
		}
	}
	return false
}

// targetVCPU sizes each VM with the right-sizing rule, so the NIC limit is
// checked against the machine type plan init would choose.
func targetVCPU(inv *inventory.Inventory) func(inventory.VM) int {
	tier := map[string]string{}
	for _, a := range inv.Apps {
		tier[a.Name] = a.Tier
	}
	return func(v inventory.VM) int { return plan.SizeVM(v, tier[v.App]).MachineType.VCPU }
}

func readinessTable(tw *tabwriter.Writer, rep readiness.Report, all bool) {
	fmt.Fprintln(tw, "APP\tVERDICT\tREADY\tCONDITIONS\tNOT READY")
	for _, a := range rep.Apps {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", cell(a.Name), a.Verdict, a.Counts.Ready, a.Counts.Conditional, a.Counts.NotReady)
	}
	if len(rep.Unassigned) > 0 {
		var c readiness.Counts
		v := readiness.Ready
		for _, u := range rep.Unassigned {
			v = readiness.Worse(v, u.Verdict)
			switch u.Verdict {
			case readiness.NotReady:
				c.NotReady++
			case readiness.Conditional:
				c.Conditional++
			default:
				c.Ready++
			}
		}
		fmt.Fprintf(tw, "(unassigned)\t%s\t%d\t%d\t%d\n", v, c.Ready, c.Conditional, c.NotReady)
	}
	fmt.Fprintf(tw, "total VMs\t\t%d\t%d\t%d\n", rep.Counts.Ready, rep.Counts.Conditional, rep.Counts.NotReady)
	_ = tw.Flush()

	vms := []readiness.VMReport{}
	for _, a := range rep.Apps {
		vms = append(vms, a.VMs...)
	}
	vms = append(vms, rep.Unassigned...)
	printed := false
	for _, v := range vms {
		if len(v.Findings) == 0 && !all {
			continue
		}
		if !printed {
			fmt.Fprintln(tw)
			printed = true
		}
		app := v.App
		if app == "" {
			app = "(unassigned)"
		}
		fmt.Fprintf(tw, "%s / %s (%s): %s\n", cell(app), cell(v.Name), cell(v.Ref), v.Verdict)
		for _, f := range v.Findings {
			acc := ""
			if f.Accepted {
				acc = " (accepted by the plan)"
			}
			fmt.Fprintf(tw, "  [%s] %s%s: %s\n    fix: %s\n", f.Verdict, f.Check, acc, cell(f.Reason), cell(f.Fix))
		}
	}
}

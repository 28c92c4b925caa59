package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	billing "cloud.google.com/go/billing/apiv1"
	compute "cloud.google.com/go/compute/apiv1"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/plan/catalog"
	"github.com/ferrymigrate/ferry/terraform"
	"github.com/ferrymigrate/ferry/traffic"
)

// planSources are the flags that say where the inventory and flows come
// from; every plan subcommand shares them.
type planSources struct {
	inventoryFile string
	sample        bool
	flows         []string
	// Where machine types come from: the committed catalogue snapshot, or
	// the Compute API's machineTypes.aggregatedList of the project.
	machineTypes    string
	project         string
	computeEndpoint string
	// dnsEndpoint: where the Cloud DNS zones of client_dns blocks are
	// read (with credentials, Google's).
	dnsEndpoint string
	// Where prices come from: the committed snapshot, or the Cloud
	// Billing Catalog API over it.
	prices          string
	billingEndpoint string
}

func (s *planSources) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&s.inventoryFile, "inventory", "", "inventory JSON (ferry.inventory/v1) from 'ferry discover -o json'; default: read vCenter")
	fl.BoolVar(&s.sample, "sample", false, "use the built-in sample portfolio")
	fl.StringArrayVar(&s.flows, "flows", nil, "flow file (repeatable) for dependencies, inbound ports and waves")
	fl.StringVar(&s.machineTypes, "machine-types", "auto", "where the machine types each zone sells come from: snapshot (the committed GCE catalogue), api (Compute API machineTypes.aggregatedList of the project), auto (api when credentials or an endpoint are configured, else snapshot)")
	fl.StringVar(&s.project, "project", "", "GCP project whose machine types the Compute API lists (default: the plan's gcp.project); plan init writes it as gcp.project")
	fl.StringVar(&s.computeEndpoint, "compute-endpoint", os.Getenv("FERRY_GCP_COMPUTE_ENDPOINT"), "Compute API endpoint (gcpfake or private service connect), e.g. http://127.0.0.1:PORT/compute/v1/ (env FERRY_GCP_COMPUTE_ENDPOINT)")
	fl.StringVar(&s.dnsEndpoint, "dns-endpoint", os.Getenv("FERRY_GCP_DNS_ENDPOINT"), "Cloud DNS API endpoint, e.g. http://127.0.0.1:PORT/dns/v1/ (env FERRY_GCP_DNS_ENDPOINT): with it or credentials, the zones of client_dns blocks are checked")
	fl.StringVar(&s.prices, "prices", "auto", "where prices come from: snapshot (the committed GCE catalogue), api (the Cloud Billing Catalog API's list prices, the snapshot for what it does not price), auto (api when credentials or --billing-endpoint are configured, falling back to the snapshot with a warning)")
	fl.StringVar(&s.billingEndpoint, "billing-endpoint", os.Getenv("FERRY_GCP_BILLING_ENDPOINT"), "Cloud Billing Catalog gRPC endpoint as host:port (gcpfake or private service connect) (env FERRY_GCP_BILLING_ENDPOINT)")
}

// catalog returns the GCE catalogue to size, validate and price with:
// nil (the committed snapshot) unless the Compute API's machine types or
// the Cloud Billing Catalog API's prices are asked for or, with auto,
// credentials or an endpoint are configured. auto falls back to the
// snapshot, saying so on w; api fails.
func (s *planSources) catalog(ctx context.Context, w io.Writer, project string) (*catalog.Catalog, error) {
	cat, err := s.machineTypeCatalog(ctx, w, project)
	if err != nil {
		return nil, err
	}
	return s.priced(ctx, w, cat)
}

func (s *planSources) machineTypeCatalog(ctx context.Context, w io.Writer, project string) (*catalog.Catalog, error) {
	mode := s.machineTypes
	switch mode {
	case "snapshot":
		return nil, nil
	case "api":
	case "auto", "":
		if s.computeEndpoint == "" && os.Getenv("GOOGLE_APPLICATION_CREDENTIALS") == "" {
			return nil, nil
		}
	default:
		return nil, fmt.Errorf("--machine-types %q: use snapshot, api or auto", mode)
	}
	if s.project != "" {
		project = s.project
	}
	cat, err := machineTypesFromAPI(ctx, s.computeEndpoint, project)
	if err != nil {
		if mode == "api" {
			return nil, err
		}
		fmt.Fprintf(w, "note: %v; using the committed catalogue snapshot %s\n", err, catalog.Default().AsOf)
		return nil, nil
	}
	return cat, nil
}

// priced returns cat (nil: the snapshot) with the Cloud Billing Catalog
// API's prices when --prices asks for them; auto falls back to the
// snapshot's prices with a warning on w naming the error, api fails.
func (s *planSources) priced(ctx context.Context, w io.Writer, cat *catalog.Catalog) (*catalog.Catalog, error) {
	mode := s.prices
	switch mode {
	case "snapshot":
		return cat, nil
	case "api":
	case "auto", "":
		if s.billingEndpoint == "" && os.Getenv("GOOGLE_APPLICATION_CREDENTIALS") == "" {
			return cat, nil
		}
	default:
		return nil, fmt.Errorf("--prices %q: use snapshot, api or auto", mode)
	}
	priced, err := pricesFromAPI(ctx, s.billingEndpoint, cat)
	if err != nil {
		if mode == "api" {
			return nil, err
		}
		fmt.Fprintf(w, "warning: %v; prices are the committed catalogue snapshot's (%s): check the credentials and that the Cloud Billing API is enabled, or pass --prices snapshot\n", err, catalog.Default().AsOf)
		return cat, nil
	}
	for _, n := range priced.Billing.Notes {
		fmt.Fprintf(w, "note: prices: %s\n", n)
	}
	return priced, nil
}

// pricesFromAPI reads the list prices of the Cloud Billing Catalog API
// (Compute Engine and Networking SKUs: tens of thousands, a few pages)
// over cat.
func pricesFromAPI(ctx context.Context, endpoint string, cat *catalog.Catalog) (*catalog.Catalog, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cl, err := billing.NewCloudCatalogClient(ctx, gcp.Config{BillingEndpoint: endpoint}.BillingOptions()...)
	if err != nil {
		return nil, fmt.Errorf("create the Cloud Billing Catalog API client: %w", err)
	}
	defer cl.Close()
	return catalog.FromBilling(ctx, cl, cat)
}

func machineTypesFromAPI(ctx context.Context, endpoint, project string) (*catalog.Catalog, error) {
	if project == "" {
		return nil, errors.New("machine types from the Compute API need a project: set gcp.project in the plan or --project")
	}
	mc, err := compute.NewMachineTypesRESTClient(ctx, gcp.Config{ComputeEndpoint: endpoint}.ComputeOptions()...)
	if err != nil {
		return nil, fmt.Errorf("compute API client: %w", err)
	}
	defer mc.Close()
	return catalog.FromCompute(ctx, mc, project)
}

// dnsZones reads the Cloud DNS zones the plan's client_dns blocks name, so
// validation checks each exists and holds its name: when an endpoint or
// credentials are configured; otherwise (or when they cannot be read,
// said on w) the zones are checked when the cutover runs.
func (s *planSources) dnsZones(ctx context.Context, w io.Writer, p *plan.Plan) map[string][]plan.DNSZone {
	projects := plan.ClientDNSProjects(p)
	if len(projects) == 0 || s.dnsEndpoint == "" && os.Getenv("GOOGLE_APPLICATION_CREDENTIALS") == "" {
		return nil
	}
	zones, err := traffic.ReadDNSZones(ctx, gcp.Config{ComputeEndpoint: s.computeEndpoint, DNSEndpoint: s.dnsEndpoint}, projects)
	if err != nil {
		fmt.Fprintf(w, "note: client_dns zones not checked: %v\n", err)
		return nil
	}
	return zones
}

// load returns the inventory and, with flows, the dependency analysis.
func (s *planSources) load(ctx context.Context) (*inventory.Inventory, *deps.Result, error) {
	if s.inventoryFile != "" && s.sample {
		return nil, nil, errors.New("--inventory and --sample both given: choose one")
	}
	var inv *inventory.Inventory
	var sampleFlows []byte
	var err error
	switch {
	case s.inventoryFile != "":
		inv, err = inventory.Load(s.inventoryFile)
	case s.sample:
		inv, sampleFlows, err = sampleInventory(ctx)
	default:
		inv, err = discoverInventory(ctx)
	}
	if err != nil {
		return nil, nil, err
	}
	if len(s.flows) == 0 && len(sampleFlows) == 0 {
		return inv, nil, nil
	}
	agg := deps.NewAggregator()
	if len(s.flows) == 0 {
		if err := agg.ReadFlows(bytes.NewReader(sampleFlows), "sample-flows.csv", deps.ParseOptions{}); err != nil {
			return nil, nil, err
		}
	}
	for _, f := range s.flows {
		if err := agg.ReadFlowsFile(f, deps.ParseOptions{}); err != nil {
			return nil, nil, err
		}
	}
	res, err := agg.Analyze(inv, deps.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("dependency analysis: %w", err)
	}
	return inv, res, nil
}

func newPlanCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "The migration plan as code (ferry.hcl): init, validate, show, render",
		Long: `The migration plan is an HCL file reviewed in git: GCP defaults, waves,
and per-app placement, cutover, approvers, hooks and decommission settings.
See docs/plan.md for every block and attribute.`,
	}
	cmd.AddCommand(newPlanInitCmd(g), newPlanValidateCmd(g), newPlanShowCmd(g), newPlanRenderCmd(g),
		newPlanPublishCmd(g), newPlanDigestCmd(g))
	return cmd
}

func newPlanInitCmd(g *globals) *cobra.Command {
	var src planSources
	var out, region string
	var zones []string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starting ferry.hcl from the inventory and flows",
		Long: `Write a commented starting ferry.hcl: GCP placement, waves from the
dependency analysis, and one app block per app with every VM's machine type
pinned in a vm block with the reason. Machine types are the right-sizing
rule's choice among what GCE sells in each app's zone (the committed
catalogue snapshot, or the Compute API's machineTypes.aggregatedList with
--machine-types api), priced in the region.`,
		Example: `  ferry plan init --inventory inventory.json --flows flows.csv > ferry.hcl
  ferry plan init --sample --out ferry.hcl
  ferry plan init --inventory inventory.json --project acme-prod --region us-east1 --zones us-east1-b,us-east1-c --machine-types api`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			inv, d, err := src.load(cmd.Context())
			if err != nil {
				return err
			}
			cat, err := src.catalog(cmd.Context(), cmd.ErrOrStderr(), src.project)
			if err != nil {
				return err
			}
			b := plan.InitWith(inv, d, plan.InitOptions{Project: src.project, Region: region, Zones: zones, Catalog: cat})
			if out == "" {
				_, err := cmd.OutOrStdout().Write(b)
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%d apps); next: edit it, then 'ferry plan validate %s'\n", out, len(inv.Apps), out)
			return nil
		},
	}
	src.add(cmd)
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of stdout")
	cmd.Flags().StringVar(&region, "region", "", "the plan's GCP region (default europe-west1, a placeholder)")
	cmd.Flags().StringSliceVar(&zones, "zones", nil, "zones apps are spread over (default: REGION-b, or europe-west1-b,c)")
	return cmd
}

// loadPlan parses, validates and resolves a plan file, printing every
// diagnostic to w. It fails (exit 1) when any diagnostic is an error.
func loadPlan(ctx context.Context, w io.Writer, file string, src *planSources) (*plan.Plan, []plan.AppSpec, error) {
	body, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("read plan: %w (create one with 'ferry plan init > %s')", err, file)
	}
	inv, d, err := src.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	p, diags := plan.Parse(file, body)
	if p != nil {
		if p.Catalog, err = src.catalog(ctx, w, p.GCP.Project); err != nil {
			return nil, nil, err
		}
		p.DNSZones = src.dnsZones(ctx, w, p)
		diags = append(diags, plan.Validate(p, inv, d)...)
	}
	if len(diags) > 0 {
		if err := plan.WriteDiagnostics(w, file, body, diags); err != nil {
			return nil, nil, err
		}
	}
	if diags.HasErrors() {
		n := 0
		for _, x := range diags {
			if x.Severity == hcl.DiagError {
				n++
			}
		}
		return nil, nil, exitError{code: 1, msg: fmt.Sprintf("%s: %d error(s); fix them and run 'ferry plan validate %s' again", file, n, file)}
	}
	specs, _ := plan.Resolve(p, inv, d)
	return p, specs, nil
}

func newPlanValidateCmd(g *globals) *cobra.Command {
	var src planSources
	cmd := &cobra.Command{
		Use:     "validate FILE",
		Short:   "Check a plan against the inventory; print every problem as file:line:col",
		Example: `  ferry plan validate ferry.hcl --inventory inventory.json --flows flows.csv`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, specs, err := loadPlan(cmd.Context(), cmd.ErrOrStderr(), args[0], &src)
			if err != nil {
				return err
			}
			var vms int
			for _, s := range specs {
				vms += len(s.VMs)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is valid: %d waves, %d apps, %d VMs\n", args[0], len(p.Waves), len(specs), vms)
			printEstimate(cmd.OutOrStdout(), p, plan.EstimatePlanWith(specs, p.Catalog))
			return nil
		},
	}
	src.add(cmd)
	return cmd
}

// printEstimate says what the plan costs a month and where every number
// and machine type comes from.
func printEstimate(w io.Writer, p *plan.Plan, e plan.Estimate) {
	fmt.Fprintf(w, "about $%.0f/month on GCP: machines $%.0f, Windows Server licences $%.0f, disks $%.0f, forwarding rules $%.0f (%d load-balanced apps)\n",
		e.Total, e.Machines, e.Windows, e.Disks, e.ForwardingRules, e.LoadBalanced)
	fmt.Fprintf(w, "prices: %s, on demand, in %s", e.Source, strings.Join(e.Regions, ", "))
	if len(e.Unpriced) > 0 {
		fmt.Fprintf(w, " (no prices for %s in the catalogue: priced as us-central1)", strings.Join(e.Unpriced, ", "))
	}
	if len(e.FromSnapshot) > 0 {
		fmt.Fprintf(w, "; not listed by the API, priced from the snapshot: %s", strings.Join(e.FromSnapshot, ", "))
	}
	origin := catalog.Default().Origin
	if p.Catalog != nil {
		origin = p.Catalog.Origin
	}
	fmt.Fprintf(w, "\nmachine types: %s\n", origin)
}

func findSpec(specs []plan.AppSpec, app, file string) (plan.AppSpec, error) {
	var names []string
	for _, s := range specs {
		if s.Name == app {
			return s, nil
		}
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return plan.AppSpec{}, fmt.Errorf("app %q is in no wave of %s (apps: %s)", app, file, strings.Join(names, ", "))
}

func newPlanShowCmd(g *globals) *cobra.Command {
	var src planSources
	var file string
	cmd := &cobra.Command{
		Use:     "show APP",
		Short:   "Print an app's resolved plan: defaults applied, machine types and cost",
		Example: `  ferry plan show billing-api -f ferry.hcl --inventory inventory.json -o json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, specs, err := loadPlan(cmd.Context(), cmd.ErrOrStderr(), file, &src)
			if err != nil {
				return err
			}
			s, err := findSpec(specs, args[0], file)
			if err != nil {
				return err
			}
			prices := catalog.Default().Source()
			if p.Catalog != nil {
				prices = p.Catalog.Source()
			}
			return g.print(cmd.OutOrStdout(), s, func(tw *tabwriter.Writer) { showSpec(tw, s, prices) })
		},
	}
	src.add(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "ferry.hcl", "plan file")
	return cmd
}

// showSpec prints an app's resolved plan; prices cites where its prices
// come from.
func showSpec(tw *tabwriter.Writer, s plan.AppSpec, prices string) {
	fmt.Fprintf(tw, "app\t%s\n", cell(s.Name))
	fmt.Fprintf(tw, "wave\t%s\n", cell(s.Wave))
	fmt.Fprintf(tw, "owner / squad / tier\t%s / %s / %s\n", cell(s.Owner), cell(s.Squad), cell(s.Tier))
	fmt.Fprintf(tw, "depends on\t%s\n", cells(s.DependsOn, ", "))
	fmt.Fprintf(tw, "placement\t%s %s, network %s\n", cell(s.Project), cell(s.Zone), cell(s.Network))
	steps := []string{}
	for _, st := range s.Cutover.Steps {
		steps = append(steps, fmt.Sprintf("%d%% (bake %s)", st.Percent, st.Bake))
	}
	fmt.Fprintf(tw, "cutover\t%s: %s\n", s.Cutover.Strategy, strings.Join(steps, " -> "))
	for _, w := range s.Cutover.Windows {
		var days []string
		for _, d := range w.Days {
			days = append(days, d.String()[:3])
		}
		fmt.Fprintf(tw, "window\t%s %s for %s (%s)\n", strings.Join(days, ","), w.Start, w.Duration, w.TimeZone)
	}
	for _, gate := range []string{"plan", "cutover", "decommission"} {
		fmt.Fprintf(tw, "approvers %s\t%s\n", gate, cells(s.Approvers[gate], ", "))
	}
	fmt.Fprintf(tw, "rollback\t%s\n", s.Rollback.Policy)
	fmt.Fprintf(tw, "decommission\tretention %s, then %s\n", s.Decommission.Retention, s.Decommission.FinalAction)
	fmt.Fprintf(tw, "\nVM\tGCE NAME\tVSPHERE\tMACHINE TYPE\tDISKS GB\t$/MONTH\tWHY\n")
	for _, v := range s.VMs {
		disks := fmt.Sprint(v.DiskGB)
		for _, d := range v.DataDisksGB {
			disks += fmt.Sprintf("+%d", d)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d vCPU/%d MB\t%s\t%s\t%.2f\t%s\n", cell(v.Name), cell(v.GCEName), v.NumCPU, v.MemoryMB, cell(v.MachineType), disks, v.MonthlyUSD, cell(v.SizingNote))
	}
	if s.ForwardingRuleMonthlyUSD > 0 {
		fmt.Fprintf(tw, "forwarding rule\t\t\t\t\t%.2f\tthe lb cutover's (the first five of a project and region share one rate)\n", s.ForwardingRuleMonthlyUSD)
	}
	fmt.Fprintf(tw, "total\t\t\t\t\t%.2f\tprices: %s, on demand\n", s.MonthlyUSD(), prices)
}

func newPlanRenderCmd(g *globals) *cobra.Command {
	var src planSources
	var file, dir string
	cmd := &cobra.Command{
		Use:     "render APP",
		Short:   "Write an app's Terraform root module to a directory for review",
		Example: `  ferry plan render billing-api -f ferry.hcl --inventory inventory.json --dir ./tf/billing-api`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, specs, err := loadPlan(cmd.Context(), cmd.ErrOrStderr(), file, &src)
			if err != nil {
				return err
			}
			s, err := findSpec(specs, args[0], file)
			if err != nil {
				return err
			}
			files, err := terraform.Render(s, terraform.RenderOptions{})
			if err != nil {
				return err
			}
			if dir == "" {
				dir = filepath.Join("tf", s.Name)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			var names []string
			for n, b := range files {
				if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
					return err
				}
				names = append(names, n)
			}
			sort.Strings(names)
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s\n", dir, strings.Join(names, ", "))
			return nil
		},
	}
	src.add(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "ferry.hcl", "plan file")
	cmd.Flags().StringVar(&dir, "dir", "", "output directory (default tf/APP)")
	return cmd
}

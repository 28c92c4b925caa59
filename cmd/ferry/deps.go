package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/worker"
)

type depsFlags struct {
	flows         []string
	inventoryFile string
	sample        bool
	format        string
	out           string
	maxErrors     int
	affinity      float64
	maxApps       int
	maxVMs        int
	declare       []string
	migrated      []string
}

func newDepsCmd(g *globals) *cobra.Command {
	f := &depsFlags{}
	cmd := &cobra.Command{
		Use:   "deps",
		Short: "Map observed connections to an app dependency graph, move groups and waves",
		Long: `Read connection records (NSX-T flow exports, nfdump -o csv, ss -tn captures or
ferry's canonical CSV; see docs/flows-format.md), pair every NetFlow record
with its reply and decide which side is the server (conversations nothing
decides are reported as ambiguous, not guessed), map every IP to its VM and
app, and print the app graph with move groups (cycles and chatty pairs that
must move together), waves (dependencies first, within the caps), the blast
radius of each app and the ports each VM serves.

The inventory comes from --inventory (the JSON of 'ferry discover -o json'),
--sample (the built-in sample portfolio in an in-process vCenter simulator),
or vCenter itself (GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD).`,
		Example: `  ferry deps --flows nsx-export.csv --inventory inventory.json
  ferry deps --flows a.csv --flows b.csv --inventory inventory.json --format svg --out deps.svg
  ferry deps --sample --format mermaid`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format := f.format
			if !cmd.Flags().Changed("format") && g.Output == "json" {
				format = "json"
			}
			return runDeps(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, format)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.flows, "flows", nil, "flow file (repeatable): NSX-T CSV, nfdump -o csv (replies included), ss -tan capture, ss -ltn listening sockets, or ferry CSV")
	fl.StringVar(&f.inventoryFile, "inventory", "", "inventory JSON written by 'ferry discover -o json --out FILE'")
	fl.BoolVar(&f.sample, "sample", false, "use the sample portfolio (and its flows when --flows is not given)")
	fl.StringVar(&f.format, "format", "table", "output: "+strings.Join(deps.Formats, ", "))
	fl.StringVar(&f.out, "out", "", "write the output to this file instead of stdout")
	fl.IntVar(&f.maxErrors, "max-errors", 0, "malformed lines tolerated per flow file (each is reported as file:line: reason)")
	fl.Float64Var(&f.affinity, "affinity", deps.DefaultAffinity, "merge two move groups when the traffic between them is above this share of their traffic (0 merges any that talk, 1 never merges)")
	fl.IntVar(&f.maxApps, "max-apps-per-wave", 0, "most apps in one wave (0: no cap)")
	fl.IntVar(&f.maxVMs, "max-vms-per-wave", 0, "most VMs in one wave (0: no cap)")
	fl.StringArrayVar(&f.declare, "declare", nil, "declared dependency APP=DEPENDENCY (repeatable), in addition to the app directory's depends-on")
	fl.StringSliceVar(&f.migrated, "migrated", nil, "apps already on GCP (comma-separated): satisfied dependencies, no wave")
	return cmd
}

func runDeps(ctx context.Context, stdout, stderr io.Writer, f *depsFlags, format string) error {
	if !validFormat(format) {
		return fmt.Errorf("--format %q: use one of %s", format, strings.Join(deps.Formats, ", "))
	}
	if len(f.flows) == 0 && !f.sample {
		return errors.New("no flow files: pass --flows FILE (repeatable), or --sample to try the sample portfolio")
	}
	if f.inventoryFile != "" && f.sample {
		return errors.New("--inventory and --sample both given: choose one")
	}
	opts := deps.Options{AffinityThreshold: f.affinity, MaxAppsPerWave: f.maxApps, MaxVMsPerWave: f.maxVMs, Migrated: f.migrated}
	if f.affinity == 0 {
		opts.AffinityThreshold = 1e-9 // 0 on the command line means merge any traffic, not the default
	}
	for _, d := range f.declare {
		from, to, ok := strings.Cut(d, "=")
		if !ok || from == "" || to == "" {
			return fmt.Errorf("--declare %q: use APP=DEPENDENCY, e.g. --declare billing-api=ledger-db", d)
		}
		opts.Declared = append(opts.Declared, deps.Edge{From: from, To: to, Declared: true})
	}

	agg := deps.NewAggregator()
	popts := deps.ParseOptions{MaxErrors: f.maxErrors}
	var inv *inventory.Inventory
	var err error
	switch {
	case f.inventoryFile != "":
		inv, err = inventory.Load(f.inventoryFile)
	case f.sample:
		var flows []byte
		inv, flows, err = sampleInventory(ctx)
		if err == nil && len(f.flows) == 0 {
			err = agg.ReadFlows(bytes.NewReader(flows), "sample-flows.csv", popts)
		}
	default:
		inv, err = discoverInventory(ctx)
	}
	if err != nil {
		return err
	}
	for _, path := range f.flows {
		err := agg.ReadFlowsFile(path, popts)
		if err != nil {
			var tm *deps.TooManyErrorsError
			if errors.As(err, &tm) {
				for _, pe := range tm.Errors {
					fmt.Fprintln(stderr, pe.Error())
				}
			}
			return err
		}
	}
	for _, pe := range agg.Errors {
		fmt.Fprintln(stderr, "skipped", pe.Error())
	}
	res, err := agg.Analyze(inv, opts)
	if err != nil {
		return err
	}
	if format != "table" || f.out != "" {
		// Only the table shows them: say on stderr what the other formats
		// leave out, so nothing is dropped silently.
		if a := res.Ambiguous; a.Conversations > 0 {
			fmt.Fprintf(stderr, "warning: %d ambiguous conversations (%d records) with no telling which side is the server make no edge; pass an 'ss -ltn' capture of these hosts with --flows to decide them (the table or -o json lists the largest)\n", a.Conversations, a.Records)
		}
		for _, warn := range res.Warnings {
			fmt.Fprintf(stderr, "warning: %s\n", warn)
		}
	}
	w := stdout
	if f.out != "" {
		var buf bytes.Buffer
		if err := deps.Render(&buf, res, format); err != nil {
			return err
		}
		if err := os.WriteFile(f.out, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.out, err)
		}
		fmt.Fprintf(stderr, "wrote %s (%s): %d apps, %d move groups, %d waves\n", f.out, format, countApps(res), len(res.MoveGroups), len(res.Waves))
		return nil
	}
	return deps.Render(w, res, format)
}

func validFormat(f string) bool {
	for _, x := range deps.Formats {
		if f == x {
			return true
		}
	}
	return false
}

func countApps(r *deps.Result) int {
	n := 0
	for _, a := range r.Apps {
		if a.Kind == deps.KindApp {
			n++
		}
	}
	return n
}

// discoverInventory reads vCenter from the govc environment variables.
func discoverInventory(ctx context.Context) (*inventory.Inventory, error) {
	cfg, err := inventory.ConfigFromEnv()
	if err != nil {
		return nil, fmt.Errorf("no inventory: pass --inventory FILE or --sample, or set the vCenter environment: %w", err)
	}
	c, err := inventory.Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	// Group as the worker does (FERRY_APP_CATEGORY, ...; unset: the
	// defaults), so a plan made from vCenter matches what it will discover.
	return inventory.Discover(ctx, c, worker.GroupingFromEnv())
}

// sampleInventory (also used by plan.go) discovers the sample portfolio from an in-process vCenter
// simulator and returns it with the flows the generator writes for it.
func sampleInventory(ctx context.Context) (*inventory.Inventory, []byte, error) {
	p := sample.Generate(sample.Default())
	inv, err := sample.Discover(ctx, p, inventory.DefaultOptions())
	if err != nil {
		return nil, nil, fmt.Errorf("sample portfolio: %w", err)
	}
	var buf bytes.Buffer
	if err := p.WriteFlows(&buf); err != nil {
		return nil, nil, fmt.Errorf("sample flows: %w", err)
	}
	return inv, buf.Bytes(), nil
}

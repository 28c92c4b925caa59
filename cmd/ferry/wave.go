package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrymigrate/ferry/ferryclient"
	"github.com/ferrymigrate/ferry/workflows"
)

func newWaveCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wave",
		Short: "Start and follow a wave: its apps' migrations in dependency order, up to its concurrency cap",
	}
	var pf planFlags
	start := &cobra.Command{
		Use:   "start WAVE",
		Short: "Start ferry-wave-<wave>: child migrations in dependency order, at most the wave's concurrency in flight",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, _, err := pf.specs(ctx, g, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			for _, w := range p.Waves {
				if w.Name != args[0] {
					continue
				}
				b, err := pf.bundle(ctx, g, cmd)
				if err != nil {
					return err
				}
				c, done, err := g.client(ctx, cmd)
				if err != nil {
					return err
				}
				defer done()
				run, err := c.StartWave(ctx, w, b.Digest())
				if err != nil {
					return err
				}
				out := map[string]any{"wave": w.Name, "workflowID": run.GetID(), "runID": run.GetRunID(), "apps": w.Apps}
				return g.print(cmd.OutOrStdout(), out, func(tw *tabwriter.Writer) {
					fmt.Fprintf(tw, "started wave %s (%d apps, concurrency %d): workflow %s\nfollow it: ferry wave status %s\n", w.Name, len(w.Apps), w.Concurrency, run.GetID(), w.Name)
				})
			}
			var names []string
			for _, w := range p.Waves {
				names = append(names, w.Name)
			}
			return fmt.Errorf("no wave %q in %s (waves: %v)", args[0], pf.file, names)
		},
	}
	pf.add(start)
	status := &cobra.Command{
		Use:   "status WAVE",
		Short: "Show a wave's progress: each app's state, how many are in flight and finished",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			ws, err := (&ferryclient.Client{Temporal: c}).WaveStatus(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), ws, func(tw *tabwriter.Writer) { waveTable(tw, ws) })
		},
	}
	cmd.AddCommand(start, status)
	return cmd
}

// waveTable prints a wave's apps, why its start was refused, and its
// audit (a cancel through Temporal, say).
func waveTable(tw *tabwriter.Writer, ws workflows.WaveStatus) {
	fmt.Fprintf(tw, "wave %s: %d in flight (cap %d), %d finished of %d\n\nAPP\tSTATE\tERROR\n", cell(ws.Wave), ws.Running, ws.Concurrency, ws.Finished, len(ws.Apps))
	for _, a := range ws.Apps {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", cell(a.App), cell(string(a.State)), cell(a.Error))
	}
	if ws.Refused != "" {
		fmt.Fprintf(tw, "\nREFUSED\t%s\n", cell(ws.Refused))
	}
	if len(ws.Audit) > 0 {
		fmt.Fprintln(tw, "\nAUDIT\t")
		for _, a := range ws.Audit {
			fmt.Fprintf(tw, "%s\t%s by %s\t%s\n", a.At.Local().Format(time.RFC3339), cell(a.Signal), cell(a.By), cell(a.Reason))
		}
	}
}

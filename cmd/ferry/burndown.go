package main

import (
	"encoding/json"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrymigrate/ferry/tracking"
)

func newBurndownCmd(g *globals) *cobra.Command {
	var pf planFlags
	var width, height int
	cmd := &cobra.Command{
		Use:   "burndown",
		Short: "Remaining apps, VMs, vCPU and TB over time; velocity and forecast finish vs the plan's target date",
		Long: `The burndown counts the plan's apps (and their VMs, vCPU and disk) that are
not Done yet, from Temporal visibility (FerryDoneAt of each migration). The
velocity is apps done per week since the first migration started (over at
least a week); the forecast is remaining / velocity, with an 80 % band:
from a Poisson rate with under 4 full weeks of history, then a bootstrap of
the weekly completions (docs/burndown.md).`,
		Example: `  ferry burndown
  ferry burndown -o json
  ferry burndown -o svg > burndown.svg`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, rows, err := loadRows(cmd.Context(), g, &pf, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			b := tracking.Compute(rows, p.Target, time.Now())
			out := cmd.OutOrStdout()
			switch g.Output {
			case "svg":
				return b.WriteSVG(out)
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(b)
			}
			return b.WriteText(out, width, height)
		},
	}
	pf.add(cmd)
	cmd.Flags().IntVar(&width, "width", 60, "text chart width in characters")
	cmd.Flags().IntVar(&height, "height", 12, "text chart height in lines")
	return cmd
}

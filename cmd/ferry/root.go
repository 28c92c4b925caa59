package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/redact"
	"github.com/ferrymigrate/ferry/worker"
)

// globals are the flags every command shares.
type globals struct {
	TemporalAddress string
	Namespace       string
	StateDir        string
	LogLevel        string
	LogFormat       string
	Output          string

	// conn is how to reach Temporal, flags only (FERRY_* and TEMPORAL_*
	// variables and temporal.toml are read when resolving).
	conn worker.Connection
	// dialOpts and dialConn are the resolved connection, dialErr why it
	// could not be resolved (reported by dial, not by commands that never
	// talk to Temporal).
	dialOpts client.Options
	dialConn worker.Resolved
	dialErr  error

	log *slog.Logger
}

func envOr(keys []string, def string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return def
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Move applications from VMware datacenters to Google Cloud, one durable workflow per app",
		Long: `ferry moves applications out of VMware datacenters onto Google Cloud.

It builds an app directory from vCenter, maps dependencies into move groups
and waves, renders each app's GCP infrastructure as Terraform, and runs every
app's migration as a durable Temporal workflow with approval gates,
progressive traffic cutover and a rollback that takes seconds.

Start with 'ferry dev' (the whole local stack) or read README.md.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			switch g.Output {
			case "table", "json":
			case "svg":
				if cmd.Name() != "burndown" {
					return fmt.Errorf("--output svg: only 'ferry burndown' draws SVG; use table or json")
				}
			default:
				return fmt.Errorf("--output %q: use table or json", g.Output)
			}
			l, err := newLogger(cmd.ErrOrStderr(), g.LogLevel, g.LogFormat)
			if err != nil {
				return err
			}
			g.log = l
			slog.SetDefault(l)
			g.resolveConnection()
			return nil
		},
	}
	pf := root.PersistentFlags()
	addConnectionFlags(pf, &g.conn)
	pf.StringVar(&g.StateDir, "state-dir", envOr([]string{"FERRY_STATE_DIR"}, ".ferry"),
		"directory for local state: dev server db, terraform working dirs (env FERRY_STATE_DIR)")
	pf.StringVar(&g.LogLevel, "log-level", envOr([]string{"FERRY_LOG_LEVEL"}, "info"), "log level: debug, info, warn, error (env FERRY_LOG_LEVEL)")
	pf.StringVar(&g.LogFormat, "log-format", envOr([]string{"FERRY_LOG_FORMAT"}, "text"), "log format: text or json (env FERRY_LOG_FORMAT)")
	pf.StringVarP(&g.Output, "output", "o", "table", "output format: table or json")

	root.AddCommand(
		newDevCmd(g),
		newWorkerCmd(g),
		newDiscoverCmd(g),
		newAppsCmd(g),
		newDepsCmd(g),
		newReadinessCmd(g),
		newPlanCmd(g),
		newMigrateCmd(g),
		newWaveCmd(g),
		newStatusCmd(g),
		newBurndownCmd(g),
		newDashboardCmd(g),
		newRunbookCmd(g),
		newCodecServerCmd(g),
	)
	return root
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("--log-format %q: use text or json", format)
	}
	// Every log line goes through redaction: secrets from the environment
	// and credential shapes never reach the terminal or a log collector.
	return slog.New(redact.NewHandler(h, nil)), nil
}

// print writes v as indented JSON with -o json, or calls table with a
// tabwriter otherwise.
func (g *globals) print(w io.Writer, v any, table func(tw *tabwriter.Writer)) error {
	if g.Output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

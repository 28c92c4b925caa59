package main

import (
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ferrymigrate/ferry/devstack"
)

// toolPath finds a pinned tool: next to the ferry binary (./bin), then PATH.
func toolPath(name string) string {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := filepath.Abs(filepath.Join("bin", name)); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return name
}

func newDevCmd(g *globals) *cobra.Command {
	o := devstack.Options{TemporalPort: 7233, UIPort: 8233, Encrypt: true}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole local stack: Temporal dev server + UI, vCenter simulator, gcpfake, worker",
		Long: `Run the whole local stack on loopback, with its state under --state-dir:

  - the Temporal dev server (./bin/temporal, SQLite file, UI on :8233) with
    ferry's search attributes registered;
  - the govmomi vCenter simulator holding a generated sample portfolio
    (16 apps, ~50 VMs, two datacenters, tags for app/owner/squad/tier);
  - gcpfake, the local fake of the GCP compute, DNS and storage APIs;
  - a ferry worker using the real terraform and google provider against it.

It writes the inventory, a flows file and a starting plan into the state
directory (the plan is kept if it exists), and <state-dir>/dev.env with the
settings for another shell. --demo also starts the first wave, so the UI
shows workflows waiting for approval. Ctrl-C stops everything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.StateDir = g.StateDir
			o.Namespace = g.Namespace
			o.Out = cmd.OutOrStdout()
			o.Log = g.log
			if o.TemporalBin == "" {
				o.TemporalBin = toolPath("temporal")
			}
			if o.TerraformBin == "" {
				o.TerraformBin = toolPath("terraform")
			}
			if o.TerraformConfig == "" {
				o.TerraformConfig = terraformConfig(g)
			}
			return devstack.Run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.Encrypt, "encrypt", o.Encrypt, "encrypt workflow payloads (key ring in <state-dir>/codec.keys; the UI decrypts through a loopback codec server)")
	f.BoolVar(&o.Demo, "demo", false, "also start the first wave so workflows wait for approval in the UI")
	f.IntVar(&o.TemporalPort, "temporal-port", o.TemporalPort, "Temporal frontend port on 127.0.0.1")
	f.IntVar(&o.UIPort, "ui-port", o.UIPort, "Temporal UI port on 127.0.0.1")
	f.StringVar(&o.TemporalBin, "temporal-bin", "", "Temporal CLI binary (default ./bin/temporal next to ferry, else PATH)")
	f.StringVar(&o.TerraformConfig, "terraform-config", "", "terraform CLI config with the provider mirror (default TF_CLI_CONFIG_FILE, else ./bin/terraformrc)")
	f.StringVar(&o.TerraformBin, "terraform-bin", "", "terraform binary (default ./bin/terraform, else PATH)")
	f.StringVar(&o.MetricsAddress, "metrics-address", "127.0.0.1:9464", "serve the worker's Prometheus metrics at http://ADDRESS/metrics (\"\" turns it off; port 0 picks a free one)")
	return cmd
}

// terraformConfig picks the terraform CLI config: TF_CLI_CONFIG_FILE when
// that file exists, else the provider mirror config `make tools` wrote.
func terraformConfig(g *globals) string {
	if env := os.Getenv("TF_CLI_CONFIG_FILE"); env != "" {
		if _, err := os.Stat(env); err == nil {
			return env
		}
		g.log.Warn("TF_CLI_CONFIG_FILE names a missing file; using ferry's provider mirror config instead", "TF_CLI_CONFIG_FILE", env)
	}
	return toolPath("terraformrc")
}

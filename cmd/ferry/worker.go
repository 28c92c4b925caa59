package main

import (
	"github.com/spf13/cobra"

	"github.com/ferrymigrate/ferry/worker"
)

func init() { register(newWorkerCmd) }

func newWorkerCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker that executes migrations (scale out: run more of them)",
		Long: `Run the Temporal worker: it polls the "ferry" task queue and executes the
MigrateApp and Wave workflows and their activities. On SIGTERM or Ctrl-C it
stops taking work and lets running activities finish (30 s).

The worker's environment holds every credential; none enters a workflow:
  GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE, GOVC_DATACENTER   vCenter
  GOOGLE_APPLICATION_CREDENTIALS (or gcloud ADC), FERRY_GCP_PROJECT, FERRY_GCP_REGION
  FERRY_TERRAFORM, TF_CLI_CONFIG_FILE                                     terraform
  FERRY_FLOWS (path list of flow files), FERRY_WEBHOOK_URL, FERRY_UI_URL
  FERRY_CODEC_KEY or FERRY_CODEC_KEY_FILE                                 payload encryption`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			acts, err := worker.ActivitiesFromEnv(g.StateDir, g.Namespace)
			if err != nil {
				return err
			}
			c, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			return worker.Run(cmd.Context(), c, acts, g.log)
		},
	}
}

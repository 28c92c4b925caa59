package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/worker"
)

func newWorkerCmd(g *globals) *cobra.Command {
	var metricsAddr string
	cmd := &cobra.Command{
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
  FERRY_CODEC_KEY or FERRY_CODEC_KEY_FILE                                 payload encryption
  FERRY_PROBE_ROOT_CAS (PEM file), FERRY_PROBE_RESOLVER (host:port)       the SLO gate's CAs and DNS server
  FERRY_PROBE_TIMEOUT (5s), FERRY_PROBE_CONCURRENCY (8),                  one probe request's timeout, parallel requests,
  FERRY_CONFLICT_RETRIES (8), FERRY_INSTANCE_ADDRESS (internal|external)  URL map/DNS re-reads, the address probed

Temporal: --temporal-address, --namespace, --tls-ca, --tls-cert, --tls-key,
--tls-server-name, --api-key (or TEMPORAL_* variables and temporal.toml, as
Temporal's CLI). With --metrics-address (FERRY_METRICS_ADDRESS), e.g. :9090,
it serves Prometheus metrics at /metrics: the Temporal SDK's (temporal_*)
and ferry's (ferry_*).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			acts, err := worker.ActivitiesFromEnv(g.StateDir, g.Namespace)
			if err != nil {
				return err
			}
			var m *worker.Metrics
			if metricsAddr != "" {
				if m, err = worker.NewMetrics(g.log); err != nil {
					return err
				}
				if err := m.Serve(metricsAddr, g.log); err != nil {
					return err
				}
				defer func() { _ = m.Close(context.WithoutCancel(cmd.Context())) }()
			}
			c, err := g.dialWith(cmd.Context(), func(o *client.Options) {
				if m != nil {
					o.MetricsHandler = m.Handler
				}
			})
			if err != nil {
				return err
			}
			defer c.Close()
			g.log.Info("connected to Temporal", "to", g.dialConn.String())
			return worker.Run(cmd.Context(), c, acts, g.log)
		},
	}
	cmd.Flags().StringVar(&metricsAddr, "metrics-address", os.Getenv(worker.EnvMetricsAddress),
		"serve Prometheus metrics at http://ADDRESS/metrics, e.g. :9090 or 127.0.0.1:9090 (env FERRY_METRICS_ADDRESS; default off)")
	return cmd
}

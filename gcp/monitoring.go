package gcp

import (
	"strings"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// MonitoringOptions returns client options for
// cloud.google.com/go/monitoring (gRPC), which the SLO gate reads the load
// balancer's metrics with. MonitoringEndpoint is a host:port; on loopback
// (gcpfake) the connection is plaintext and unauthenticated.
func (c Config) MonitoringOptions() []option.ClientOption {
	ep := c.MonitoringEndpoint
	if ep == "" {
		return nil // Application Default Credentials, monitoring.googleapis.com:443
	}
	opts := []option.ClientOption{option.WithEndpoint(ep)}
	if strings.HasPrefix(ep, "127.0.0.1:") || strings.HasPrefix(ep, "localhost:") {
		opts = append(opts, option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	return opts
}

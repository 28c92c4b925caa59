package gcp

import (
	"strings"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// BillingOptions returns client options for cloud.google.com/go/billing's
// CloudCatalogClient (gRPC), which plan reads list prices with.
// BillingEndpoint is a host:port; on loopback (gcpfake) the connection is
// plaintext and unauthenticated.
func (c Config) BillingOptions() []option.ClientOption {
	ep := c.BillingEndpoint
	if ep == "" {
		return nil // Application Default Credentials, cloudbilling.googleapis.com:443
	}
	opts := []option.ClientOption{option.WithEndpoint(ep)}
	if strings.HasPrefix(ep, "127.0.0.1:") || strings.HasPrefix(ep, "localhost:") {
		opts = append(opts, option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	return opts
}

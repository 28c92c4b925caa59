package gcp

import (
	"strings"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// VMMigrationOptions returns client options for
// cloud.google.com/go/vmmigration (gRPC). VMMigrationEndpoint is a
// host:port; on loopback (gcpfake) the connection is plaintext and
// unauthenticated, as the fake serves it.
func (c Config) VMMigrationOptions() []option.ClientOption {
	ep := c.VMMigrationEndpoint
	if ep == "" {
		return nil // Application Default Credentials, vmmigration.googleapis.com:443
	}
	opts := []option.ClientOption{option.WithEndpoint(ep)}
	if strings.HasPrefix(ep, "127.0.0.1:") || strings.HasPrefix(ep, "localhost:") {
		opts = append(opts, option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	return opts
}

package main

import (
	"context"
	"errors"
	"os"
	"os/user"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/ferrymigrate/ferry/codec"
	ferryid "github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/worker"
)

// addConnectionFlags declares how to reach Temporal. Flags win over
// ferry's FERRY_* variables, which win over Temporal's own environment
// configuration (TEMPORAL_* variables over a temporal.toml profile), the
// same settings Temporal's CLI reads.
func addConnectionFlags(pf *pflag.FlagSet, c *worker.Connection) {
	pf.StringVar(&c.Address, "temporal-address", "",
		"Temporal frontend host:port (env FERRY_TEMPORAL_ADDRESS, TEMPORAL_ADDRESS, or the temporal.toml profile; default "+worker.DefaultTemporalAddress+")")
	pf.StringVar(&c.Namespace, "namespace", "",
		"Temporal namespace (env FERRY_NAMESPACE, TEMPORAL_NAMESPACE, or the profile; default "+worker.DefaultNamespace+")")
	pf.StringVar(&c.Profile, "temporal-profile", "", "profile of temporal.toml to use (env TEMPORAL_PROFILE; default \"default\")")
	pf.StringVar(&c.ConfigFile, "temporal-config-file", "", "Temporal client config file (env TEMPORAL_CONFIG_FILE; default ~/.config/temporalio/temporal.toml)")
	pf.BoolVar(&c.TLS, "tls", false, "connect with TLS, trusting the system's CAs (env FERRY_TLS, TEMPORAL_TLS); implied by the --tls-* flags and an API key")
	pf.StringVar(&c.TLSCA, "tls-ca", "", "PEM file of the CA that signed the Temporal frontend's certificate (env FERRY_TLS_CA, TEMPORAL_TLS_SERVER_CA_CERT_PATH)")
	pf.StringVar(&c.TLSCert, "tls-cert", "", "client certificate for mTLS, PEM file (env FERRY_TLS_CERT, TEMPORAL_TLS_CLIENT_CERT_PATH)")
	pf.StringVar(&c.TLSKey, "tls-key", "", "private key of --tls-cert, PEM file (env FERRY_TLS_KEY, TEMPORAL_TLS_CLIENT_KEY_PATH)")
	pf.StringVar(&c.TLSServerName, "tls-server-name", "", "name to verify the frontend's certificate against, when it differs from the address's host (env FERRY_TLS_SERVER_NAME, TEMPORAL_TLS_SERVER_NAME)")
	pf.StringVar(&c.APIKey, "api-key", "", "API key, e.g. for Temporal Cloud; prefer the env FERRY_API_KEY or TEMPORAL_API_KEY (a flag shows in the process list)")
}

// resolveConnection settles the effective address and namespace for every
// command; a broken configuration is reported when a command dials.
func (g *globals) resolveConnection() {
	opts, r, err := worker.ClientOptions(g.conn.FromEnv(nil), nil)
	if err != nil {
		g.dialErr = err
		r = worker.Resolved{Address: worker.DefaultTemporalAddress, Namespace: worker.DefaultNamespace}
		if c := g.conn.FromEnv(nil); c.Address != "" || c.Namespace != "" {
			r.Address, r.Namespace = cmpOr(c.Address, r.Address), cmpOr(c.Namespace, r.Namespace)
		}
	}
	g.dialOpts, g.dialConn = opts, r
	g.TemporalAddress, g.Namespace = r.Address, r.Namespace
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// dial connects to Temporal with ferry's data converter (payloads
// encrypted when a codec key is configured).
func (g *globals) dial(ctx context.Context) (client.Client, error) {
	return g.dialWith(ctx, nil)
}

// dialWith is dial with a last say on the options (the worker adds its
// metrics handler and tracing).
func (g *globals) dialWith(ctx context.Context, tweak func(*client.Options)) (client.Client, error) {
	if g.dialErr != nil {
		return nil, g.dialErr
	}
	opts := g.dialOpts
	opts.Logger = tlog.NewStructuredLogger(g.log)
	opts.Identity = identity()
	// The identity travels in the header of approvals, so the workflow
	// refuses one whose approver is someone else.
	opts.Interceptors = append(opts.Interceptors, ferryid.NewClientInterceptor(identity()))
	keys, err := codec.KeyringFromEnv(os.Getenv)
	switch {
	case err == nil:
		dc, err := codec.DataConverter(keys)
		if err != nil {
			return nil, err
		}
		opts.DataConverter = dc
	case !errors.Is(err, codec.ErrNoKey):
		return nil, err
	}
	if tweak != nil {
		tweak(&opts)
	}
	g.log.Debug("connecting to Temporal", "to", g.dialConn.String())
	return worker.Dial(ctx, opts, g.dialConn)
}

// identity is who the CLI acts as: FERRY_USER, else the login name.
func identity() string {
	if u := os.Getenv("FERRY_USER"); u != "" {
		return u
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

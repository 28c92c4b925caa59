package worker

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/ferrymigrate/ferry/internal/tlstest"
)

func envMap(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestClientOptionsDefaults(t *testing.T) {
	env := envMap(map[string]string{"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml")})
	opts, r, err := ClientOptions(Connection{}.FromEnv(env), env)
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != DefaultTemporalAddress || opts.Namespace != DefaultNamespace || opts.ConnectionOptions.TLS != nil || r.TLS {
		t.Fatalf("defaults: %+v %+v", opts, r)
	}
}

// A temporal.toml profile, then TEMPORAL_*, then FERRY_*, then flags.
func TestClientOptionsPrecedence(t *testing.T) {
	ca := tlstest.NewCA(t, "prod-ca")
	cl := ca.Client(t, "worker")
	dir := t.TempDir()
	toml := filepath.Join(dir, "temporal.toml")
	if err := os.WriteFile(toml, []byte(`
[profile.default]
address = "localhost:7233"

[profile.prod]
address = "temporal.prod.internal:7233"
namespace = "ferry"
[profile.prod.tls]
server_ca_cert_path = "`+ca.CAFile+`"
client_cert_path = "`+cl.CertFile+`"
client_key_path = "`+cl.KeyFile+`"
server_name = "frontend.prod.internal"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"TEMPORAL_CONFIG_FILE": toml, "TEMPORAL_PROFILE": "prod"}
	cases := []struct {
		name          string
		env           map[string]string
		flags         Connection
		addr, ns, sni string
		mtls          bool
	}{
		{name: "profile", addr: "temporal.prod.internal:7233", ns: "ferry", sni: "frontend.prod.internal", mtls: true},
		{name: "TEMPORAL_ over profile", env: map[string]string{"TEMPORAL_ADDRESS": "t2:7233", "TEMPORAL_TLS_SERVER_NAME": "t2"},
			addr: "t2:7233", ns: "ferry", sni: "t2", mtls: true},
		{name: "FERRY_ over TEMPORAL_", env: map[string]string{"TEMPORAL_ADDRESS": "t2:7233", "FERRY_TEMPORAL_ADDRESS": "t3:7233", "FERRY_NAMESPACE": "other"},
			addr: "t3:7233", ns: "other", sni: "frontend.prod.internal", mtls: true},
		{name: "flags over all", env: map[string]string{"FERRY_TEMPORAL_ADDRESS": "t3:7233", "FERRY_TLS_SERVER_NAME": "x"},
			flags: Connection{Address: "t4:7233", TLSServerName: "t4"}, addr: "t4:7233", ns: "ferry", sni: "t4", mtls: true},
		{name: "other profile by flag", flags: Connection{Profile: "default"}, addr: "localhost:7233", ns: DefaultNamespace},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range c.env {
				m[k] = v
			}
			env := envMap(m)
			opts, r, err := ClientOptions(c.flags.FromEnv(env), env)
			if err != nil {
				t.Fatal(err)
			}
			if opts.HostPort != c.addr || opts.Namespace != c.ns {
				t.Errorf("address %q namespace %q, want %q %q", opts.HostPort, opts.Namespace, c.addr, c.ns)
			}
			tc := opts.ConnectionOptions.TLS
			if !c.mtls {
				if tc != nil {
					t.Errorf("TLS on, want plaintext: %+v", r)
				}
				return
			}
			if tc == nil || tc.ServerName != c.sni || len(tc.Certificates) != 1 || tc.RootCAs == nil {
				t.Fatalf("TLS config %+v, want server name %q, a client certificate and the CA", tc, c.sni)
			}
			if !strings.Contains(r.String(), "mTLS") || !strings.Contains(r.Profile, "prod") {
				t.Errorf("resolved %q", r)
			}
		})
	}
}

func TestClientOptionsAPIKeyImpliesTLS(t *testing.T) {
	env := envMap(map[string]string{"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml", "TEMPORAL_API_KEY": "s3cr3t-key",
		"TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233", "TEMPORAL_NAMESPACE": "ns.acct"})
	opts, r, err := ClientOptions(Connection{}.FromEnv(env), env)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Credentials == nil || opts.ConnectionOptions.TLS == nil || !r.APIKey || !r.TLS {
		t.Fatalf("API key: credentials %v TLS %v (%s)", opts.Credentials, opts.ConnectionOptions.TLS, r)
	}
	if strings.Contains(r.String(), "s3cr3t") {
		t.Fatalf("the key leaks into the description: %s", r)
	}
}

func TestClientOptionsBadSettings(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	_ = os.WriteFile(bad, []byte("[profile.x\naddress="), 0o600)
	cases := []struct {
		name string
		env  map[string]string
		c    Connection
		want string
	}{
		{"unknown profile", map[string]string{"TEMPORAL_CONFIG_FILE": bad}, Connection{Profile: "nope", ConfigFile: filepath.Join(dir, "none.toml")}, `profile "nope"`},
		{"malformed file", map[string]string{"TEMPORAL_CONFIG_FILE": bad}, Connection{}, "bad.toml"},
		{"cert without key", nil, Connection{TLSCert: "/x.pem", ConfigFile: filepath.Join(dir, "none.toml")}, "both --tls-cert and --tls-key"},
		{"missing CA file", nil, Connection{TLSCA: filepath.Join(dir, "missing-ca.pem"), ConfigFile: filepath.Join(dir, "none.toml")}, "missing-ca.pem"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := envMap(c.env)
			_, _, err := ClientOptions(c.c.FromEnv(env), env)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error naming %q", err, c.want)
			}
		})
	}
}

// frontend is a gRPC server answering GetSystemInfo like a Temporal
// frontend, over TLS when cfg is set, checking API keys when keys is set.
type frontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
}

func (frontend) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{ServerVersion: "test"}, nil
}

func startFrontend(t *testing.T, cfg *tls.Config, auth tlstest.Authorize) string {
	t.Helper()
	var opts []grpc.ServerOption
	if cfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg)))
	}
	if auth != nil {
		opts = append(opts, grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			var a string
			if v := md.Get("authorization"); len(v) > 0 {
				a = v[0]
			}
			if err := auth(a); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}))
	}
	s := grpc.NewServer(opts...)
	workflowservice.RegisterWorkflowServiceServer(s, frontend{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

// Every way a secured connection fails, against real TLS endpoints: the
// error says what failed and what to set.
func TestDialExplainsFailures(t *testing.T) {
	ca := tlstest.NewCA(t, "cluster-ca")
	other := tlstest.NewCA(t, "someone-elses-ca")
	srv := ca.Server(t, "frontend", "127.0.0.1", "frontend.cluster.internal")
	misnamed := ca.Server(t, "misnamed", "frontend.elsewhere.internal")
	good := ca.Client(t, "worker")
	stranger := other.Client(t, "stranger")
	expired := ca.ExpiredClient(t, "expired")

	mtls := startFrontend(t, tlstest.ServerConfig(srv, ca.Pool), nil)
	tlsOnly := startFrontend(t, tlstest.ServerConfig(srv, nil), nil)
	wrongName := startFrontend(t, tlstest.ServerConfig(misnamed, nil), nil)
	plain := startFrontend(t, nil, nil)
	keyed := startFrontend(t, tlstest.ServerConfig(srv, nil), tlstest.BearerKeys([]string{"good-key"}, []string{"other-namespace-key"}))
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := ln.Addr().String()
	_ = ln.Close()

	cases := []struct {
		name string
		c    Connection
		want string // "" = connects
	}{
		{"mTLS", Connection{Address: mtls, TLSCA: ca.CAFile, TLSCert: good.CertFile, TLSKey: good.KeyFile}, ""},
		{"TLS", Connection{Address: tlsOnly, TLSCA: ca.CAFile}, ""},
		{"server name set", Connection{Address: wrongName, TLSCA: ca.CAFile, TLSServerName: "frontend.elsewhere.internal"}, ""},
		{"API key", Connection{Address: keyed, TLSCA: ca.CAFile, APIKey: "good-key"}, ""},
		{"unknown CA", Connection{Address: tlsOnly, TLSCA: other.CAFile}, "not signed by the CA in " + other.CAFile},
		{"system roots", Connection{Address: tlsOnly, TLS: true}, "not signed by a CA this machine trusts"},
		{"name mismatch", Connection{Address: wrongName, TLSCA: ca.CAFile}, "set --tls-server-name"},
		{"no client certificate", Connection{Address: mtls, TLSCA: ca.CAFile}, "requires a client certificate"},
		{"client certificate of another CA", Connection{Address: mtls, TLSCA: ca.CAFile, TLSCert: stranger.CertFile, TLSKey: stranger.KeyFile},
			"refused the client certificate " + stranger.CertFile},
		{"expired client certificate", Connection{Address: mtls, TLSCA: ca.CAFile, TLSCert: expired.CertFile, TLSKey: expired.KeyFile},
			"refused the client certificate " + expired.CertFile + " as expired"},
		{"plaintext to TLS", Connection{Address: tlsOnly}, "probably requires TLS"},
		{"TLS to plaintext", Connection{Address: plain, TLSCA: ca.CAFile}, "answers in plaintext"},
		{"wrong API key", Connection{Address: keyed, TLSCA: ca.CAFile, APIKey: "stale-key"}, "refused the API key"},
		{"no API key", Connection{Address: keyed, TLSCA: ca.CAFile}, "requires authentication"},
		{"API key of another namespace", Connection{Address: keyed, TLSCA: ca.CAFile, APIKey: "other-namespace-key"}, "PermissionDenied"},
		{"connection refused", Connection{Address: refused}, "nothing listens at " + refused},
	}
	none := envMap(map[string]string{"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml")})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts, r, err := ClientOptions(c.c, none)
			if err != nil {
				t.Fatal(err)
			}
			opts.Logger = quietLog{}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cl, err := Dial(ctx, opts, r)
			if c.want == "" {
				if err != nil {
					t.Fatalf("want a connection: %v", err)
				}
				cl.Close()
				return
			}
			if err == nil {
				cl.Close()
				t.Fatalf("connected, want %q", c.want)
			}
			var de *DialError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant a DialError saying %q", err, c.want)
			}
			if strings.Contains(err.Error(), "stale-key") || strings.Contains(err.Error(), "good-key") {
				t.Fatalf("the API key leaks into the error: %v", err)
			}
			t.Logf("%s", err)
		})
	}
}

type quietLog struct{}

func (quietLog) Debug(string, ...any) {}
func (quietLog) Info(string, ...any)  {}
func (quietLog) Warn(string, ...any)  {}
func (quietLog) Error(string, ...any) {}

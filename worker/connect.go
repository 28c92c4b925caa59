package worker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"google.golang.org/grpc/codes"
)

// Environment variables of ferry's own that override Temporal's
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, TEMPORAL_API_KEY,
// TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE, read by the SDK's envconfig).
const (
	EnvTemporalAddress = "FERRY_TEMPORAL_ADDRESS"
	EnvNamespace       = "FERRY_NAMESPACE"
	EnvTLS             = "FERRY_TLS"
	EnvTLSCA           = "FERRY_TLS_CA"
	EnvTLSCert         = "FERRY_TLS_CERT"
	EnvTLSKey          = "FERRY_TLS_KEY"
	EnvTLSServerName   = "FERRY_TLS_SERVER_NAME"
	EnvAPIKey          = "FERRY_API_KEY"
)

// Defaults when neither a profile nor the environment names them.
const (
	DefaultTemporalAddress = "127.0.0.1:7233"
	DefaultNamespace       = "default"
)

// Connection is what a user said about reaching Temporal: flags (set
// fields win), then ferry's FERRY_* variables, then Temporal's own
// environment configuration (TEMPORAL_* variables over a temporal.toml
// profile), then the local defaults.
type Connection struct {
	Address   string
	Namespace string
	// Profile and ConfigFile select the temporal.toml profile
	// (else TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE, else "default" in
	// the user's config dir, e.g. ~/.config/temporalio/temporal.toml).
	Profile    string
	ConfigFile string
	// TLS turns on TLS with the system's roots when nothing else does.
	TLS           bool
	TLSCA         string // PEM file of the CA that signed the server's certificate
	TLSCert       string // client certificate (PEM) for mTLS
	TLSKey        string // its private key (PEM)
	TLSServerName string // name to verify the server's certificate against
	APIKey        string // never logged, never in an error
}

// Resolved describes the connection that was chosen, for messages: no
// secret in it.
type Resolved struct {
	Address, Namespace string
	TLS                bool
	ServerCA           string // file, "inline" or "" (system roots)
	ServerName         string
	ClientCert         string // file, "inline" or "" (no mTLS)
	APIKey             bool
	Profile            string // profile name and file, when one was read
}

func (r Resolved) String() string {
	s := r.Address + " namespace " + r.Namespace
	switch {
	case !r.TLS:
		s += ", plaintext"
	case r.ClientCert != "":
		s += ", mTLS"
	default:
		s += ", TLS"
	}
	if r.APIKey {
		s += ", API key"
	}
	if r.Profile != "" {
		s += ", profile " + r.Profile
	}
	return s
}

// LookupEnv is os.LookupEnv; tests pass their own.
type LookupEnv func(string) (string, bool)

type envLookup struct{ f LookupEnv }

func (e envLookup) LookupEnv(k string) (string, bool) { return e.f(k) }
func (e envLookup) Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := e.f(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// FromEnv fills fields left empty from ferry's FERRY_* variables.
func (c Connection) FromEnv(lookup LookupEnv) Connection {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	fill := func(dst *string, key string) {
		if *dst == "" {
			if v, ok := lookup(key); ok {
				*dst = strings.TrimSpace(v)
			}
		}
	}
	fill(&c.Address, EnvTemporalAddress)
	fill(&c.Namespace, EnvNamespace)
	fill(&c.TLSCA, EnvTLSCA)
	fill(&c.TLSCert, EnvTLSCert)
	fill(&c.TLSKey, EnvTLSKey)
	fill(&c.TLSServerName, EnvTLSServerName)
	fill(&c.APIKey, EnvAPIKey)
	if v, ok := lookup(EnvTLS); ok && !c.TLS {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "1", "true", "yes", "on":
			c.TLS = true
		}
	}
	return c
}

// ClientOptions resolves c (after FromEnv) into SDK client options the way
// Temporal's CLI does, with c's fields on top. The caller adds its logger,
// identity, interceptors, data converter and metrics handler.
func ClientOptions(c Connection, lookup LookupEnv) (client.Options, Resolved, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	env := envLookup{lookup}
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
		ConfigFilePath:    c.ConfigFile,
		ConfigFileProfile: c.Profile,
		EnvLookup:         env,
	})
	if err != nil {
		return client.Options{}, Resolved{}, fmt.Errorf("read Temporal client configuration (temporal.toml profile %q, file %q; TEMPORAL_* variables): %w\n  fix the file or pick another profile with --temporal-profile / TEMPORAL_PROFILE",
			profileName(c, lookup), configFile(c, lookup), err)
	}
	var r Resolved
	if prof.Address != "" || prof.Namespace != "" || prof.TLS != nil || prof.APIKey != "" {
		if f := configFile(c, lookup); fileExists(f) {
			r.Profile = profileName(c, lookup) + " (" + f + ")"
		}
	}
	if c.Address != "" {
		prof.Address = c.Address
	}
	if prof.Address == "" {
		prof.Address = DefaultTemporalAddress
	}
	if c.Namespace != "" {
		prof.Namespace = c.Namespace
	}
	if prof.Namespace == "" {
		prof.Namespace = DefaultNamespace
	}
	if c.APIKey != "" {
		prof.APIKey = c.APIKey
	}
	if c.TLS || c.TLSCA != "" || c.TLSCert != "" || c.TLSKey != "" || c.TLSServerName != "" {
		if prof.TLS == nil {
			prof.TLS = &envconfig.ClientConfigTLS{}
		}
		t := prof.TLS
		t.Disabled = false
		if c.TLSCA != "" {
			t.ServerCACertPath, t.ServerCACertData = c.TLSCA, nil
		}
		if c.TLSCert != "" || c.TLSKey != "" {
			if c.TLSCert == "" || c.TLSKey == "" {
				return client.Options{}, Resolved{}, errors.New("mTLS needs both --tls-cert and --tls-key (FERRY_TLS_CERT, FERRY_TLS_KEY): only one is set")
			}
			t.ClientCertPath, t.ClientCertData = c.TLSCert, nil
			t.ClientKeyPath, t.ClientKeyData = c.TLSKey, nil
		}
		if c.TLSServerName != "" {
			t.ServerName = c.TLSServerName
		}
	}
	opts, err := prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, Resolved{}, fmt.Errorf("the Temporal TLS settings for %s: %w\n  check the files named by --tls-ca, --tls-cert, --tls-key (or TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH): they must exist, be readable and hold PEM",
			prof.Address, err)
	}
	r.Address, r.Namespace, r.APIKey = prof.Address, prof.Namespace, prof.APIKey != ""
	r.TLS = opts.ConnectionOptions.TLS != nil && !opts.ConnectionOptions.TLSDisabled
	if t := prof.TLS; r.TLS && t != nil {
		r.ServerCA = pathOrInline(t.ServerCACertPath, t.ServerCACertData)
		r.ClientCert = pathOrInline(t.ClientCertPath, t.ClientCertData)
		r.ServerName = t.ServerName
	}
	return opts, r, nil
}

func pathOrInline(path string, data []byte) string {
	if path != "" {
		return path
	}
	if len(data) > 0 {
		return "inline"
	}
	return ""
}

func profileName(c Connection, lookup LookupEnv) string {
	if c.Profile != "" {
		return c.Profile
	}
	if v, ok := lookup("TEMPORAL_PROFILE"); ok && v != "" {
		return v
	}
	return envconfig.DefaultConfigFileProfile
}

func configFile(c Connection, lookup LookupEnv) string {
	if c.ConfigFile != "" {
		return c.ConfigFile
	}
	if v, ok := lookup("TEMPORAL_CONFIG_FILE"); ok && v != "" {
		return v
	}
	return envconfig.DefaultConfigFilePath()
}

func fileExists(p string) bool {
	if p == "" {
		return false
	}
	_, err := os.Stat(p)
	return err == nil
}

// DialError is a failed connection to Temporal: what failed and what to
// do about it.
type DialError struct {
	Conn    Resolved
	Problem string // what failed
	Hint    string // what to do
	Err     error
	generic bool // no specific cause recognised
}

func (e *DialError) Error() string {
	return fmt.Sprintf("cannot connect to Temporal at %s: %s\n  %s\n  (%v)", e.Conn, e.Problem, e.Hint, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// Dial connects with opts (from ClientOptions, completed by the caller)
// and turns a failure into a DialError that says what to do.
func Dial(ctx context.Context, opts client.Options, r Resolved) (client.Client, error) {
	c, err := client.DialContext(ctx, opts)
	if err == nil {
		return c, nil
	}
	de := ExplainDialError(err, r).(*DialError)
	if de.generic && opts.ConnectionOptions.TLS != nil && !opts.ConnectionOptions.TLSDisabled {
		// A server that refuses a client certificate closes the connection
		// right after its alert; gRPC often reports only the broken pipe.
		// A handshake of our own reads the alert.
		if perr := probeTLS(ctx, r.Address, opts.ConnectionOptions.TLS); perr != nil {
			if pe := ExplainDialError(perr, r).(*DialError); !pe.generic {
				pe.Err = fmt.Errorf("%w; a TLS handshake to see why: %v", err, perr)
				return nil, pe
			}
		}
	}
	return nil, de
}

// probeTLS handshakes with addr and waits briefly for an alert (a TLS 1.3
// server verifies the client certificate after the client's handshake is
// done). nil: the server accepted the handshake.
func probeTLS(ctx context.Context, addr string, cfg *tls.Config) error {
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = hostOf(addr)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	}
	return nil
}

// ExplainDialError classifies err from dialing r. gRPC flattens TLS and
// socket errors into the text of an Unavailable status, so the TLS cases
// are recognised by the standard library's messages.
func ExplainDialError(err error, r Resolved) error {
	msg := err.Error()
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(msg, x) {
				return true
			}
		}
		return false
	}
	e := &DialError{Conn: r, Err: err}
	caFlag := "--tls-ca (FERRY_TLS_CA, TEMPORAL_TLS_SERVER_CA_CERT_PATH, or server_ca_cert_path in the profile's [profile.NAME.tls])"
	certFlags := "--tls-cert and --tls-key (FERRY_TLS_CERT/FERRY_TLS_KEY, TEMPORAL_TLS_CLIENT_CERT_PATH/TEMPORAL_TLS_CLIENT_KEY_PATH)"
	code := serviceerror.ToStatus(err).Code()
	switch {
	case has("x509: certificate signed by unknown authority", "certificate signed by unknown authority"):
		if r.ServerCA != "" {
			e.Problem = "the server's certificate is not signed by the CA in " + r.ServerCA
			e.Hint = "pass the CA that signed the frontend's certificate with " + caFlag + "; ask the cluster's operators for it"
		} else {
			e.Problem = "the server's certificate is not signed by a CA this machine trusts"
			e.Hint = "pass the CA that signed the frontend's certificate with " + caFlag
		}
	case has("x509: certificate is valid for", "x509: certificate is not valid for any names", "because it doesn't contain any IP SANs"):
		e.Problem = "the server's certificate does not name the host you connect to (" + hostOf(r.Address) + tern(r.ServerName != "", ", verified as "+r.ServerName, "") + ")"
		e.Hint = "set --tls-server-name (FERRY_TLS_SERVER_NAME, TEMPORAL_TLS_SERVER_NAME) to a name the certificate is valid for (see the cause below), or connect by that name"
	case has("x509: certificate has expired", "not yet valid"):
		e.Problem = "the server's certificate has expired or is not yet valid"
		e.Hint = "the cluster's operators must renew the frontend certificate; check this machine's clock"
	case has("tls: certificate required") && r.ClientCert != "":
		// Go's TLS client sends only a certificate whose issuer is among
		// the CAs the server asks for.
		e.Problem = "the server refused the client certificate " + r.ClientCert + ": it is not signed by a CA the server accepts for clients"
		e.Hint = "use a client certificate issued by the cluster's client CA, with " + certFlags
	case has("tls: certificate required"):
		e.Problem = "the server requires a client certificate (mTLS) and none was sent"
		e.Hint = "pass the client certificate and key with " + certFlags
	case has("tls: bad certificate", "tls: unknown certificate authority", "tls: unknown certificate", "tls: certificate unknown"):
		e.Problem = "the server refused the client certificate " + tern(r.ClientCert != "", r.ClientCert, "(none configured)")
		e.Hint = "use a client certificate signed by a CA the cluster trusts for clients, with " + certFlags
	case has("tls: expired certificate", "tls: revoked certificate"):
		e.Problem = "the server refused the client certificate " + r.ClientCert + " as expired or revoked"
		e.Hint = "get a new client certificate and pass it with " + certFlags
	case has("first record does not look like a TLS handshake", "tls: server sent an HTTP response"):
		e.Problem = "TLS is on but the server answers in plaintext"
		e.Hint = "this frontend does not use TLS: drop the TLS settings, or set TEMPORAL_TLS=false"
	case has("tls: failed to", "tls: ", "x509: ") && r.TLS:
		e.Problem = "the TLS handshake failed"
		e.Hint = "check " + caFlag + ", " + certFlags + " and --tls-server-name"
	case code == codes.Unauthenticated:
		if r.APIKey {
			e.Problem = "the server refused the API key (Unauthenticated)"
			e.Hint = "check --api-key / FERRY_API_KEY / TEMPORAL_API_KEY holds a current key for namespace " + r.Namespace + " (keys expire; create one in Temporal Cloud or ask the cluster's operators)"
		} else {
			e.Problem = "the server requires authentication (Unauthenticated)"
			e.Hint = "set an API key with TEMPORAL_API_KEY (or FERRY_API_KEY, --api-key), or a client certificate with " + certFlags
		}
	case code == codes.PermissionDenied:
		e.Problem = "the credentials are not allowed on namespace " + r.Namespace + " (PermissionDenied)"
		e.Hint = "check --namespace / TEMPORAL_NAMESPACE, and that the API key or client certificate has access to that namespace"
	case has("connection refused"):
		e.Problem = "nothing listens at " + r.Address + " (connection refused)"
		e.Hint = "start the local stack with `ferry dev`, or point ferry at your cluster with --temporal-address / FERRY_TEMPORAL_ADDRESS / TEMPORAL_ADDRESS or a temporal.toml profile"
	case has("no such host"):
		e.Problem = "the host name of " + r.Address + " does not resolve"
		e.Hint = "check --temporal-address / TEMPORAL_ADDRESS (host:port)"
	case !r.TLS && has("server preface", "connection reset", "EOF", "frame too large", "http2"):
		e.Problem = "the server closed a plaintext connection; it probably requires TLS"
		e.Hint = "pass the server's CA with " + caFlag + ", or --tls / TEMPORAL_TLS=true for a certificate from a public CA"
	case errors.Is(err, context.DeadlineExceeded) || has("DeadlineExceeded", "deadline exceeded"):
		e.Problem = "no answer in time"
		e.Hint = "check the address and that a firewall lets this machine reach it"
	default:
		e.generic = true
		e.Problem = "the connection failed"
		e.Hint = "check --temporal-address, --namespace and the TLS/API key settings (see `ferry --help`)"
	}
	return e
}

func hostOf(addr string) string {
	if i := strings.LastIndex(addr, ":"); i > 0 {
		return addr[:i]
	}
	return addr
}

func tern(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

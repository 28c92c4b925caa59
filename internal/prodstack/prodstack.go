// Package prodstack starts, for one test, a Temporal cluster shaped like a
// production one: the Temporal server built from go.temporal.io/server
// (`make tools`), PostgreSQL from Debian's packages as persistence and
// visibility, and a frontend that serves mTLS only, with the `default`
// namespace and ferry's search attributes registered. Everything listens on
// loopback, lives in temp dirs and is stopped by t.Cleanup.
package prodstack

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/internal/tlstest"
	"github.com/ferrymigrate/ferry/workflows"
)

const (
	databaseTemporal   = "temporal"
	databaseVisibility = "temporal_visibility"
	// ServerName is in the frontend's certificate (with 127.0.0.1 and
	// localhost); clients may verify it with --tls-server-name.
	ServerName = "frontend.ferry.internal"
)

// Options of a stack; the zero value is ferry's setup.
type Options struct {
	Namespace string // registered with 1 day retention; default "default"
	// SearchAttributes (name -> type as `temporal operator search-attribute
	// create` takes it); default workflows.SearchAttributeTypes.
	SearchAttributes map[string]string
}

// Stack is a running production-shaped Temporal cluster.
type Stack struct {
	opts      Options
	dir       string
	bin       string
	version   string
	pg        *postgres
	ports     ports
	config    string
	logFile   string
	CA        *tlstest.CA // signs the frontend's and the clients' certificates
	ClientTLS tlstest.Leaf

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	starts  int
}

// Start brings the stack up or fails t naming what failed, with the tail of
// that component's log. A missing server binary or PostgreSQL skips the
// test, or fails it under FERRY_REQUIRE_TOOLS=1 (`make test`).
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.SearchAttributes == nil {
		opts.SearchAttributes = workflows.SearchAttributeTypes
	}
	server, sqlTool, version := testenv.TemporalServer(t)
	pgBin := testenv.PostgresBin(t)
	schema := testenv.TemporalSchema(t, version)
	began := time.Now()

	s := &Stack{opts: opts, dir: t.TempDir(), bin: server, version: version}
	s.logFile = filepath.Join(s.dir, "temporal-server.log")
	s.config = filepath.Join(s.dir, "temporal-server.json")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var err error
	s.pg, err = initPostgres(ctx, pgBin, testenv.FreePort(t))
	t.Cleanup(s.pg.stop) // registered first: runs after the server's stop
	if err != nil {
		t.Fatalf("prodstack: PostgreSQL: %v", err)
	}
	if err := s.pg.start(ctx); err != nil {
		t.Fatalf("prodstack: PostgreSQL: %v", err)
	}
	if err := s.applySchemas(ctx, sqlTool, schema); err != nil {
		t.Fatalf("prodstack: schemas: %v", err)
	}

	s.CA = tlstest.NewCA(t, "ferry-prodstack-ca")
	front := s.CA.Server(t, "frontend", "127.0.0.1", "localhost", ServerName)
	system := s.CA.Client(t, "temporal-system-worker")
	s.ClientTLS = s.CA.Client(t, "ferry-tests")
	s.ports = ports{
		Frontend: serverPort(t), FrontendHTTP: serverPort(t), FrontendMembership: serverPort(t),
		History: serverPort(t), HistoryMembership: serverPort(t),
		Matching: serverPort(t), MatchingMembership: serverPort(t),
		Worker: serverPort(t), WorkerMembership: serverPort(t),
	}
	dyn := filepath.Join(s.dir, "dynamicconfig.yaml")
	if err := os.WriteFile(dyn, []byte(dynamicConfigYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := serverConfig(s.pg, s.ports, tlsFiles{CA: s.CA.CAFile, FrontendCert: front.CertFile, FrontKey: front.KeyFile,
		SystemCert: system.CertFile, SystemKey: system.KeyFile, ServerName: ServerName}, dyn, s.logFile)
	if err := writeJSON(s.config, cfg); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(s.Stop)
	if err := s.start(); err != nil {
		t.Fatalf("prodstack: %v", err)
	}
	if err := s.register(ctx); err != nil {
		t.Fatalf("prodstack: %v", err)
	}
	// A running server's services cache the namespace registry and the
	// search attributes (refreshed every 10 s and 60 s); a restart makes
	// every service read what was just registered, as an operator's
	// rolling restart would.
	if err := s.Restart(); err != nil {
		t.Fatalf("prodstack: %v", err)
	}
	t.Logf("prodstack: Temporal server %s on %s (PostgreSQL %s, mTLS) up in %s; log %s",
		version, s.HostPort(), s.pg.addr(), time.Since(began).Round(time.Millisecond), s.logFile)
	return s
}

// HostPort is the frontend's address (mTLS only).
func (s *Stack) HostPort() string { return fmt.Sprintf("127.0.0.1:%d", s.ports.Frontend) }

// Namespace is the registered namespace.
func (s *Stack) Namespace() string { return s.opts.Namespace }

// Version is the Temporal server's version (as `make tools` built it).
func (s *Stack) Version() string { return s.version }

// LogFile is the server's log.
func (s *Stack) LogFile() string { return s.logFile }

// Starts counts server starts (the first, the one after registration, and
// one per Restart).
func (s *Stack) Starts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts
}

// TLSConfig is a client TLS config presenting leaf (mTLS) and trusting the
// stack's CA.
func (s *Stack) TLSConfig(leaf tlstest.Leaf) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, RootCAs: s.CA.Pool, ServerName: ServerName, MinVersion: tls.VersionTLS12}
}

// ClientOptions are SDK options reaching the frontend with the stack's
// client certificate.
func (s *Stack) ClientOptions() client.Options {
	return client.Options{HostPort: s.HostPort(), Namespace: s.opts.Namespace, Logger: quiet{},
		ConnectionOptions: client.ConnectionOptions{TLS: s.TLSConfig(s.ClientTLS)}}
}

// Client dials the frontend over mTLS; closed by t.Cleanup.
func (s *Stack) Client(t testing.TB) client.Client {
	t.Helper()
	c, err := client.Dial(s.ClientOptions())
	if err != nil {
		t.Fatalf("prodstack: dial %s over mTLS: %v", s.HostPort(), err)
	}
	t.Cleanup(c.Close)
	return c
}

// TemporalEnv is the environment that points Temporal's CLI, or ferry,
// at the stack with the stack's client certificate.
func (s *Stack) TemporalEnv() []string {
	return []string{"TEMPORAL_ADDRESS=" + s.HostPort(), "TEMPORAL_NAMESPACE=" + s.opts.Namespace,
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + s.CA.CAFile, "TEMPORAL_TLS_SERVER_NAME=" + ServerName,
		"TEMPORAL_TLS_CLIENT_CERT_PATH=" + s.ClientTLS.CertFile, "TEMPORAL_TLS_CLIENT_KEY_PATH=" + s.ClientTLS.KeyFile}
}

// FerryFlags are ferry's connection flags for the stack.
func (s *Stack) FerryFlags() []string {
	return []string{"--temporal-address", s.HostPort(), "--namespace", s.opts.Namespace,
		"--tls-ca", s.CA.CAFile, "--tls-cert", s.ClientTLS.CertFile, "--tls-key", s.ClientTLS.KeyFile,
		"--tls-server-name", ServerName}
}

// Restart stops the server (SIGTERM, as an orchestrator would) and starts
// it again on the same database and ports; the error says why it did not
// come back, with the tail of its log. Safe to call from any goroutine.
func (s *Stack) Restart() error {
	s.Stop()
	if err := s.start(); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}

// start runs the server and waits until the frontend answers over mTLS
// and the namespace is served.
func (s *Stack) start() error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return errors.New("the Temporal server is already running")
	}
	cmd := exec.Command(s.bin, "--config-file", s.config, "--allow-no-auth", "start")
	cmd.Dir = s.dir
	out, err := os.OpenFile(filepath.Join(s.dir, "temporal-server.out"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		out.Close()
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.starts++
	registered := s.starts > 1
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	go func() {
		err := cmd.Wait()
		out.Close()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(exited)
	}()
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var last error
	for {
		last = s.ready(ctx, registered)
		if last == nil {
			return nil
		}
		select {
		case <-exited:
			s.mu.Lock()
			werr := s.waitErr
			s.cmd = nil
			s.mu.Unlock()
			return fmt.Errorf("the Temporal server exited while starting (%v):\n%s", werr, s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("the Temporal server did not serve %s over mTLS within 3m (last: %v):\n%s", s.HostPort(), last, s.logTail())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// ready checks the frontend's health over mTLS and, once the namespace is
// registered, that it is served.
func (s *Stack) ready(ctx context.Context, registered bool) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := client.DialContext(cctx, s.ClientOptions())
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.CheckHealth(cctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	if registered {
		_, err = c.WorkflowService().CountWorkflowExecutions(cctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: s.opts.Namespace})
		if err != nil {
			return fmt.Errorf("namespace %s: %w", s.opts.Namespace, err)
		}
	}
	return nil
}

// Stop stops the server: SIGTERM, then SIGKILL after 30 s.
func (s *Stack) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// register creates the namespace and ferry's search attributes, as an
// operator does once per cluster.
func (s *Stack) register(ctx context.Context) error {
	c, err := client.DialContext(ctx, s.ClientOptions())
	if err != nil {
		return fmt.Errorf("dial %s: %w", s.HostPort(), err)
	}
	defer c.Close()
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: s.opts.Namespace, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
		Description: "ferry's production-shaped test stack"})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %s: %w\n%s", s.opts.Namespace, err, s.logTail())
	}
	sas := map[string]enumspb.IndexedValueType{}
	for name, typ := range s.opts.SearchAttributes {
		v, err := enumspb.IndexedValueTypeFromString(typ)
		if err != nil {
			return fmt.Errorf("search attribute %s: type %q: %w", name, typ, err)
		}
		sas[name] = v
	}
	// The namespace is visible to the operator service once the
	// frontend's registry has refreshed.
	deadline := time.Now().Add(time.Minute)
	for {
		_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace: s.opts.Namespace, SearchAttributes: sas})
		var nf *serviceerror.NamespaceNotFound
		if err == nil || !errors.As(err, &nf) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("add ferry's search attributes to namespace %s: %w\n%s", s.opts.Namespace, err, s.logTail())
	}
	return nil
}

// applySchemas creates both databases and brings their schemas to the
// newest version the server module ships, with the server's own tool.
func (s *Stack) applySchemas(ctx context.Context, sqlTool, schema string) error {
	base := []string{"--plugin", "postgres12", "--endpoint", "127.0.0.1", "--port", strconv.Itoa(s.pg.port), "--user", s.pg.user}
	for _, db := range []struct{ name, dir string }{
		{databaseTemporal, filepath.Join(schema, "temporal", "versioned")},
		{databaseVisibility, filepath.Join(schema, "visibility", "versioned")},
	} {
		for _, step := range [][]string{
			{"--db", db.name, "create-database"},
			{"--db", db.name, "setup-schema", "--version", "0.0"},
			{"--db", db.name, "update-schema", "--schema-dir", db.dir},
		} {
			cmd := exec.CommandContext(ctx, sqlTool, append(append([]string(nil), base...), step...)...)
			cmd.Env = append(os.Environ(), "SQL_PASSWORD="+s.pg.password) // not in argv, where ps shows it
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("temporal-sql-tool %s on %s: %v\n%s\n--- %s ---\n%s", step[2], db.name, err,
					tail([]byte(redact(string(out), s.pg.password)), 30), s.pg.logFile(), tailFile(s.pg.logFile(), 20))
			}
		}
	}
	return nil
}

func (s *Stack) logTail() string {
	return "--- last lines of " + s.logFile + " ---\n" + tailFile(s.logFile, 40) +
		"--- last lines of " + filepath.Join(s.dir, "temporal-server.out") + " ---\n" + tailFile(filepath.Join(s.dir, "temporal-server.out"), 20)
}

func redact(s, secret string) string { return strings.ReplaceAll(s, secret, "<password>") }

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")\n"
	}
	return tail(b, n)
}

// serverPort is a free loopback port below 32768: the server records its
// membership ports in PostgreSQL as smallint, so the kernel's ephemeral
// range (32768-60999) would stop it at start ("out of range for type
// smallint").
func serverPort(t testing.TB) int {
	t.Helper()
	for range 200 {
		port := 20000 + mrand.IntN(12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("prodstack: no free loopback port between 20000 and 32000")
	return 0
}

type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}

package gcpfake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/grpc"
)

// Options configure a fake.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free port). Keep it on
	// loopback: the fake takes any credentials.
	Addr string
	// OperationPolls is how many polls a compute operation stays RUNNING
	// before it turns DONE; 0 answers every change with a DONE operation.
	OperationPolls int
	// StateDir, when set, keeps compute and DNS state in
	// StateDir/gcpfake.json and Cloud Storage objects under StateDir/gcs,
	// so a restarted fake (ferry dev) finds what it held.
	StateDir string
	// Logger receives one debug line per request; nil logs nothing.
	Logger *slog.Logger
	// DataPlane serves what the resources describe (see dataplane.go):
	// instances get loopback addresses (InstancePool) with an HTTP
	// stand-in of the app on their load balancing ports, and global
	// forwarding rules get loopback addresses (LBPool) that route requests
	// by the URL map's weights. Without it addresses are only numbers.
	DataPlane bool
	// Hybrid is the hybrid connectivity of the data plane: it maps a
	// hybrid NEG endpoint (NON_GCP_PRIVATE_IP_PORT, a datacenter address)
	// to the host:port that answers for it here, or "" when nothing does
	// (requests sent there get 502). It may be called concurrently.
	Hybrid func(ip string, port int) (addr string)
	// M2VM tunes the Migrate to Virtual Machines API (m2vm.go), served
	// over gRPC on M2VMAddr (default: a free port on the same host).
	M2VM     M2VMOptions
	M2VMAddr string
}

// Server is a running fake.
type Server struct {
	opts     Options
	listener net.Listener
	http     *http.Server
	handler  http.Handler
	gcs      *fakestorage.Server
	faults   Faults
	dp       *dataPlane // nil without Options.DataPlane
	m2       *M2VM
	mon      *Monitoring // Cloud Monitoring (monitoring.go)
	monLn    net.Listener
	monGRPC  *grpc.Server
	billing  *Billing // Cloud Billing Catalog (billing.go)
	billLn   net.Listener
	billGRPC *grpc.Server
	billSrv  *billingServer
	tlsState // certificate maps and the managed-certificate issuer (lbkinds.go)

	mu    sync.Mutex
	state persisted
	reqs  []Request
}

// Request is one served request, for assertions on what a client did.
type Request struct {
	Method string
	Path   string
	Status int
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	s := &Server{opts: opts, state: persisted{
		Objects: map[string]*object{}, Ops: map[string]*operation{}, Changes: map[string]any{},
	}}
	if opts.DataPlane {
		s.dp = newDataPlane()
	}
	s.mon = newMonitoring()
	s.billing = newBilling()
	gcsOpts := fakestorage.Options{NoListener: true, Writer: io.Discard}
	if opts.StateDir != "" {
		if err := os.MkdirAll(filepath.Join(opts.StateDir, "gcs"), 0o700); err != nil {
			return nil, fmt.Errorf("gcpfake: create state directory %s: %w", opts.StateDir, err)
		}
		if err := s.load(); err != nil {
			return nil, err
		}
		gcsOpts.StorageRoot = filepath.Join(opts.StateDir, "gcs")
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("gcpfake: listen on %s (pick another Options.Addr): %w", opts.Addr, err)
	}
	s.listener = ln
	// Storage clients read objects from the "public host" (XML API) of a
	// custom endpoint: ours.
	gcsOpts.PublicHost = ln.Addr().String()
	gcsOpts.ExternalURL = s.URL()
	gcsOpts.Scheme = "http"
	gcs, err := fakestorage.NewServerWithOptions(gcsOpts)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("gcpfake: start fake-gcs-server: %w", err)
	}
	s.gcs = gcs
	mux := http.NewServeMux()
	mux.HandleFunc("/compute/v1/", s.serveCompute)
	mux.HandleFunc("/dns/v1/", s.serveDNS)
	mux.Handle("/", gcs.HTTPHandler())
	s.handler = s.middleware(mux)
	s.http = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	if err := s.startM2VM(); err != nil {
		ln.Close()
		gcs.Stop()
		return nil, err
	}
	if err := s.startMonitoring(); err != nil {
		ln.Close()
		gcs.Stop()
		s.m2.close()
		return nil, err
	}
	if err := s.startBilling(); err != nil {
		ln.Close()
		gcs.Stop()
		s.m2.close()
		s.closeMonitoring()
		return nil, err
	}
	go func() { _ = s.http.Serve(ln) }()
	s.reconcile() // a restarted fake serves what its state holds
	return s, nil
}

// URL is the base URL, http://127.0.0.1:PORT.
func (s *Server) URL() string { return "http://" + s.listener.Addr().String() }

// ComputeEndpoint is the compute_custom_endpoint / option.WithEndpoint value.
func (s *Server) ComputeEndpoint() string { return s.URL() + "/compute/v1/" }

// DNSEndpoint is the dns_custom_endpoint / option.WithEndpoint value.
func (s *Server) DNSEndpoint() string { return s.URL() + "/dns/v1/" }

// StorageEndpoint is the storage JSON API base: terraform's gcs backend
// `storage_custom_endpoint`, the provider's `storage_custom_endpoint`, and
// option.WithEndpoint for cloud.google.com/go/storage. Uploads
// (/upload/storage/v1/) and object reads (/BUCKET/OBJECT) go to the same
// host and are served too.
func (s *Server) StorageEndpoint() string { return s.URL() + "/storage/v1/" }

// Handler serves the whole fake (for in-process httptest use).
func (s *Server) Handler() http.Handler { return s.handler }

// Faults returns the fault injection hooks.
func (s *Server) Faults() *Faults { return &s.faults }

// CreateBucket creates a Cloud Storage bucket (e.g. for terraform state);
// creating one that exists is a no-op. Buckets are versioned unless the
// fake keeps them on disk (StateDir), where fake-gcs-server cannot.
func (s *Server) CreateBucket(name string) {
	if _, err := s.gcs.Backend().GetBucket(name); err == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.logf("gcpfake: create bucket %s: %v", name, r)
		}
	}()
	s.gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: name, VersioningEnabled: s.opts.StateDir == ""})
}

// Close stops serving and saves the state.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	s.m2.close()
	s.closeMonitoring()
	s.closeBilling()
	s.closeDataPlane()
	s.gcs.Stop()
	s.mu.Lock()
	s.save()
	s.mu.Unlock()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// maxRequests bounds the request log; past it the older half is dropped.
const maxRequests = 100000

// Requests returns the requests served so far (the latest 50,000 to
// 100,000 in a long-running fake).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// RequestCount counts served requests with this method ("" for any) whose
// path matches pathRegexp.
func (s *Server) RequestCount(method, pathRegexp string) int {
	re := regexp.MustCompile(pathRegexp)
	n := 0
	for _, r := range s.Requests() {
		if (method == "" || r.Method == method) && re.MatchString(r.Path) {
			n++
		}
	}
	return n
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.ResponseWriter.Write(b)
}

type faultKey struct{}

func faultFrom(r *http.Request) *Fault {
	f, _ := r.Context().Value(faultKey{}).(*Fault)
	return f
}

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		undoublePath(r)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			s.mu.Lock()
			if len(s.reqs) >= maxRequests {
				s.reqs = append(s.reqs[:0], s.reqs[maxRequests/2:]...)
			}
			s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Status: sw.status})
			s.mu.Unlock()
			if s.opts.Logger != nil {
				s.opts.Logger.Debug("gcpfake", "method", r.Method, "path", r.URL.Path, "status", sw.status)
			}
		}()
		if f := s.faults.match(r); f != nil {
			if f.Delay > 0 {
				select {
				case <-time.After(f.Delay):
				case <-r.Context().Done():
					return
				}
			}
			if f.Status != 0 {
				writeFaultStatus(sw, f)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), faultKey{}, f))
		}
		next.ServeHTTP(sw, r)
	})
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logger != nil {
		s.opts.Logger.Warn(fmt.Sprintf(format, args...))
	}
}

// hasPrefixAny reports whether s starts with one of the prefixes.
func hasPrefixAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// undoublePath forgives one client mistake: Go clients append
// "compute/v1/…" ("dns/v1/…") to their endpoint, so given ComputeEndpoint()
// rather than URL() they send /compute/v1//compute/v1/…. A real private
// endpoint would answer 404; the fake serves it so that one endpoint value
// works for terraform and for Go clients (see gcp.Config).
func undoublePath(r *http.Request) {
	for _, api := range []string{"/compute/v1", "/dns/v1"} {
		switch {
		case strings.HasPrefix(r.URL.Path, "/"+api+"/"):
			// A base URL with a trailing slash ("http://host:port/")
			// plus "/compute/v1/…": serve it rather than redirect.
			r.URL.Path = r.URL.Path[1:]
		case strings.HasPrefix(r.URL.Path, api+"/"+api+"/"):
			r.URL.Path = r.URL.Path[len(api)+1:]
		case strings.HasPrefix(r.URL.Path, api+api+"/"):
			r.URL.Path = r.URL.Path[len(api):]
		default:
			continue
		}
		r.URL.RawPath = ""
	}
}

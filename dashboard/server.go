// Package dashboard is `ferry dashboard`: a read-only web page, rendered on
// the server as HTML and inline SVG with no build step, showing the
// burndown, every app's stage with links to its workflow in the Temporal UI
// and its runbooks, the dependency graph coloured by progress with the blast
// radius on click, and the wave timeline. It refreshes itself.
package dashboard

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/tracking"
)

//go:embed assets
var assets embed.FS

var page = template.Must(template.New("page.html.tmpl").Funcs(funcs).ParseFS(assets, "assets/page.html.tmpl"))

// Config is what the dashboard reads and links to.
type Config struct {
	Visibility tracking.Visibility
	Namespace  string
	// UIURL is the Temporal UI, e.g. http://localhost:8233.
	UIURL string
	Plan  *plan.Plan
	Specs []plan.AppSpec
	// Deps is the dependency analysis; nil hides the graph.
	Deps *deps.Result
	// Refresh is how often the page reloads its data (0: 15 s).
	Refresh time.Duration
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Server serves the dashboard.
type Server struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the dashboard's handler.
func New(cfg Config) *Server {
	if cfg.Refresh <= 0 {
		cfg.Refresh = 15 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.UIURL = strings.TrimRight(cfg.UIURL, "/")
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.mux.HandleFunc("/{$}", s.index)
	s.mux.HandleFunc("/burndown.svg", s.burndownSVG)
	s.mux.HandleFunc("/api/status", s.api)
	s.mux.HandleFunc("/runbooks/{name}", s.runbook)
	s.mux.Handle("/assets/", http.FileServerFS(assets))
	s.mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return s
}

// ServeHTTP allows only GET and HEAD: the dashboard never changes anything.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "the dashboard is read-only: use ferry migrate approve|reject|rollback or the Temporal UI to act", http.StatusMethodNotAllowed)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// snapshot reads visibility and computes everything a page shows.
func (s *Server) snapshot(ctx context.Context) ([]tracking.Row, tracking.Burndown, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	execs, err := tracking.ListMigrations(ctx, s.cfg.Visibility, s.cfg.Namespace)
	if err != nil {
		return nil, tracking.Burndown{}, err
	}
	rows := tracking.Rows(s.cfg.Specs, execs)
	if err := tracking.AddRefusals(ctx, s.cfg.Visibility, rows, 3*time.Second); err != nil {
		s.cfg.Log.Debug("status query failed for some migrations", "error", err)
	}
	var target time.Time
	if s.cfg.Plan != nil {
		target = s.cfg.Plan.Target
	}
	return rows, tracking.Compute(rows, target, s.cfg.Now()), nil
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	s.cfg.Log.Error("dashboard", "error", err)
	http.Error(w, "cannot read Temporal visibility: "+err.Error(), http.StatusBadGateway)
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	rows, b, err := s.snapshot(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	v, err := s.view(rows, b)
	if err != nil {
		s.fail(w, err)
		return
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) burndownSVG(w http.ResponseWriter, r *http.Request) {
	_, b, err := s.snapshot(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	_ = b.WriteSVG(w)
}

// APIStatus is the JSON of /api/status.
type APIStatus struct {
	Apps     []tracking.Row    `json:"apps"`
	Burndown tracking.Burndown `json:"burndown"`
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	rows, b, err := s.snapshot(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(APIStatus{Apps: rows, Burndown: b})
}

// runbook serves ferry's runbooks, so relative runbook links work.
func (s *Server) runbook(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("name"), ".md")
	body, found := runbooks.Get(runbooks.Reason(name))
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(body))
}

// CheckListen refuses a listen address that is not loopback unless
// remote access is allowed explicitly: the dashboard has no login.
func CheckListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: want host:port, e.g. 127.0.0.1:8080", addr)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--listen %s is not a loopback address: the dashboard has no login and shows the whole migration; bind to 127.0.0.1 (and use an SSH tunnel or a proxy with authentication), or pass --allow-remote", addr)
}

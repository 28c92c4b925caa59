package plan

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// SLO watch defaults: how the gate evaluates through each step's bake.
const (
	DefaultSLOEvery         = 15 * time.Second
	MinSLOEvery             = time.Second
	MaxSLOEvery             = 5 * time.Minute
	DefaultSLOWindow        = time.Minute
	DefaultSLOMinRequests   = 20
	DefaultSLOProbeRequests = 20
	DefaultSLOObjective     = 0.999
)

// DefaultBurnRates are the Google SRE workbook's multiwindow, multi-burn-rate
// page conditions for a 30-day objective: 2 % of the budget spent in an
// hour (14.4x over 1h and 5m), 5 % in six hours (6x over 6h and 30m).
var DefaultBurnRates = []BurnRate{
	{Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4},
	{Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6},
}

// SLOWatch is how the SLO gate evaluates continuously through a step's
// bake: every Every, from the synthetic probe, the load balancer's own
// metrics in Cloud Monitoring and/or Prometheus burn-rate rules. A breach
// ends the bake at once and rolls back.
type SLOWatch struct {
	Every time.Duration `json:"every"`
	// Window is how far back the probe and the load balancer metrics
	// look at each evaluation.
	Window time.Duration `json:"window"`
	// MinRequests: with fewer requests than this in the window, a source
	// has no say (too little traffic to judge a ratio).
	MinRequests int `json:"minRequests"`
	// ProbeRequests is the synthetic requests per target per evaluation;
	// 0 with Probe false: no synthetic probe.
	ProbeRequests int                `json:"probeRequests"`
	Probe         bool               `json:"probe"`
	Monitoring    *MonitoringSLO     `json:"monitoring,omitempty"`
	Prometheus    *PrometheusBurnSLO `json:"prometheus,omitempty"`
}

// MonitoringSLO judges the load balancer's own request count, 5xx count
// and latency distribution (loadbalancing.googleapis.com/https/*) for the
// app's GCP backend service, from Cloud Monitoring.
type MonitoringSLO struct {
	// Project holding the metrics; empty: the app's project.
	Project string `json:"project,omitempty"`
}

// PrometheusBurnSLO is an error-budget burn-rate rule over Prometheus
// queries. Queries may use $window, replaced by each rule's window
// ("5m", "1h").
type PrometheusBurnSLO struct {
	URL string `json:"url"`
	// Auth: none, bearer (BearerTokenEnv), basic (Username,
	// PasswordEnv) or google (Application Default Credentials, for
	// Google Managed Prometheus). Secrets are named by the worker's
	// environment variables that hold them, never written in the plan.
	Auth           string     `json:"auth"`
	BearerTokenEnv string     `json:"bearerTokenEnv,omitempty"`
	Username       string     `json:"username,omitempty"`
	PasswordEnv    string     `json:"passwordEnv,omitempty"`
	ErrorRatio     string     `json:"errorRatioQuery,omitempty"`
	Errors         string     `json:"errorsQuery,omitempty"`
	Good           string     `json:"goodQuery,omitempty"`
	Total          string     `json:"totalQuery,omitempty"`
	Objective      float64    `json:"objective"`
	BurnRates      []BurnRate `json:"burnRates"`
}

// BurnRate breaches when the error budget burns faster than Factor over
// both the Long and the Short window.
type BurnRate struct {
	Long   time.Duration `json:"long"`
	Short  time.Duration `json:"short"`
	Factor float64       `json:"factor"`
}

// Prometheus auth kinds.
const (
	PromAuthNone   = "none"
	PromAuthBearer = "bearer"
	PromAuthBasic  = "basic"
	PromAuthGoogle = "google"
)

// sloWatchConf is the rest of an slo block (sloConf.Watch): the
// continuous evaluation.
type sloWatchConf struct {
	Every         string       `hcl:"every,optional"`
	Window        string       `hcl:"window,optional"`
	MinRequests   *int         `hcl:"min_requests,optional"`
	Probe         *bool        `hcl:"probe,optional"`
	ProbeRequests *int         `hcl:"probe_requests,optional"`
	Monitoring    *sloMonConf  `hcl:"monitoring,block"`
	Prometheus    *sloPromConf `hcl:"prometheus,block"`
}

type sloMonConf struct {
	Project string `hcl:"project,optional"`
}

type sloPromConf struct {
	URL            string          `hcl:"url"`
	Auth           string          `hcl:"auth,optional"`
	BearerTokenEnv string          `hcl:"bearer_token_env,optional"`
	Username       string          `hcl:"username,optional"`
	PasswordEnv    string          `hcl:"password_env,optional"`
	ErrorRatio     string          `hcl:"error_ratio_query,optional"`
	Errors         string          `hcl:"errors_query,optional"`
	Good           string          `hcl:"good_query,optional"`
	Total          string          `hcl:"total_query,optional"`
	Objective      *float64        `hcl:"objective,optional"`
	BurnRates      []*burnRateConf `hcl:"burn_rate,block"`
	// Secrets written in the plan are refused with a clear message.
	BearerToken hcl.Expression `hcl:"bearer_token,optional"`
	Password    hcl.Expression `hcl:"password,optional"`
}

type burnRateConf struct {
	Long   string  `hcl:"long"`
	Short  string  `hcl:"short"`
	Factor float64 `hcl:"factor"`
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// sloWatch resolves the continuous evaluation of an app's slo block.
func (r *resolver) sloWatch(app string, s *sloConf, body *hclsyntax.Body) SLOWatch {
	w := SLOWatch{Every: DefaultSLOEvery, Window: DefaultSLOWindow, MinRequests: DefaultSLOMinRequests,
		Probe: true, ProbeRequests: DefaultSLOProbeRequests}
	if s == nil || s.Watch == nil {
		return w
	}
	var c sloWatchConf
	if diags := gohcl.DecodeBody(s.Watch, nil, &c); diags.HasErrors() {
		r.diags = append(r.diags, diags...)
		return w
	}
	path := []string{"cutover", "slo"}
	w.Every = r.dur(body, path, "every", c.Every, DefaultSLOEvery)
	if w.Every < MinSLOEvery || w.Every > MaxSLOEvery {
		r.diags = append(r.diags, errAt(body, path, "every", "Invalid SLO interval",
			fmt.Sprintf("App %q: every = %q; the SLO is evaluated every %s to %s (e.g. \"15s\").", app, c.Every, MinSLOEvery, MaxSLOEvery)))
	}
	w.Window = r.dur(body, path, "window", c.Window, DefaultSLOWindow)
	if w.Window < w.Every {
		r.diags = append(r.diags, errAt(body, path, "window", "SLO window shorter than its interval",
			fmt.Sprintf("App %q: window = %s is shorter than every = %s: evaluations would skip traffic; make the window at least as long.", app, w.Window, w.Every)))
	}
	if c.MinRequests != nil {
		w.MinRequests = *c.MinRequests
		if w.MinRequests < 1 {
			r.diags = append(r.diags, errAt(body, path, "min_requests", "Invalid min_requests",
				fmt.Sprintf("App %q: min_requests = %d; it is at least 1.", app, w.MinRequests)))
		}
	}
	if c.Probe != nil {
		w.Probe = *c.Probe
	}
	if c.ProbeRequests != nil {
		w.ProbeRequests = *c.ProbeRequests
		if w.ProbeRequests < 1 || w.ProbeRequests > 1000 {
			r.diags = append(r.diags, errAt(body, path, "probe_requests", "Invalid probe_requests",
				fmt.Sprintf("App %q: probe_requests = %d; send 1 to 1000 synthetic requests per target per evaluation.", app, w.ProbeRequests)))
		}
	}
	if !w.Probe {
		w.ProbeRequests = 0
	}
	if c.Monitoring != nil {
		w.Monitoring = &MonitoringSLO{Project: c.Monitoring.Project}
	}
	if c.Prometheus != nil {
		w.Prometheus = r.promBurn(app, c.Prometheus, body)
	}
	if !w.Probe && w.Monitoring == nil && w.Prometheus == nil {
		r.diags = append(r.diags, errAt(body, path, "probe", "SLO gate measures nothing",
			fmt.Sprintf("App %q: probe = false and neither a monitoring nor a prometheus block: the gate would pass blind; keep the probe or add a source.", app)))
	}
	return w
}

func (r *resolver) promBurn(app string, c *sloPromConf, body *hclsyntax.Body) *PrometheusBurnSLO {
	path := []string{"cutover", "slo", "prometheus"}
	bad := func(attr, summary, detail string) {
		r.diags = append(r.diags, errAt(body, path, attr, summary, fmt.Sprintf("App %q: %s", app, detail)))
	}
	p := &PrometheusBurnSLO{URL: c.URL, Auth: or(c.Auth, PromAuthNone), BearerTokenEnv: c.BearerTokenEnv,
		Username: c.Username, PasswordEnv: c.PasswordEnv, ErrorRatio: c.ErrorRatio, Errors: c.Errors,
		Good: c.Good, Total: c.Total, Objective: DefaultSLOObjective}
	if exprSet(c.BearerToken) {
		bad("bearer_token", "Secret in the plan", "bearer_token would put a secret in a reviewed file and in workflow payloads; set bearer_token_env to the name of the worker's environment variable that holds it.")
	}
	if exprSet(c.Password) {
		bad("password", "Secret in the plan", "password would put a secret in a reviewed file and in workflow payloads; set password_env to the name of the worker's environment variable that holds it.")
	}
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		bad("url", "Invalid Prometheus URL", fmt.Sprintf("url = %q is not an http(s) base URL (e.g. \"https://prometheus.example.com\", or for Google Managed Prometheus \"https://monitoring.googleapis.com/v1/projects/PROJECT/location/global/prometheus\").", c.URL))
	case u.User != nil:
		bad("url", "Secret in the plan", "the Prometheus url carries credentials; use auth = \"basic\" with username and password_env.")
	case u.RawQuery != "":
		bad("url", "Invalid Prometheus URL", "the Prometheus url is a base URL without a query string.")
	}
	switch p.Auth {
	case PromAuthNone, PromAuthGoogle:
	case PromAuthBearer:
		if !envNameRE.MatchString(p.BearerTokenEnv) {
			bad("bearer_token_env", "Missing bearer token variable", fmt.Sprintf("auth = \"bearer\" needs bearer_token_env, the name of the worker's environment variable holding the token (got %q).", p.BearerTokenEnv))
		}
	case PromAuthBasic:
		if p.Username == "" {
			bad("username", "Missing username", "auth = \"basic\" needs username.")
		}
		if !envNameRE.MatchString(p.PasswordEnv) {
			bad("password_env", "Missing password variable", fmt.Sprintf("auth = \"basic\" needs password_env, the name of the worker's environment variable holding the password (got %q).", p.PasswordEnv))
		}
	default:
		bad("auth", "Unknown Prometheus auth", fmt.Sprintf("auth = %q; use \"none\", \"bearer\", \"basic\" or \"google\" (Application Default Credentials, for Google Managed Prometheus).", p.Auth))
	}
	if p.Auth != PromAuthBearer && p.BearerTokenEnv != "" {
		bad("bearer_token_env", "Unused bearer token", fmt.Sprintf("bearer_token_env is set but auth = %q; set auth = \"bearer\".", p.Auth))
	}
	if p.Auth != PromAuthBasic && (p.PasswordEnv != "" || p.Username != "") {
		bad("username", "Unused basic auth", fmt.Sprintf("username/password_env are set but auth = %q; set auth = \"basic\".", p.Auth))
	}
	switch {
	case p.ErrorRatio != "" && p.Errors == "" && p.Good == "" && p.Total == "":
	case p.ErrorRatio == "" && p.Total != "" && (p.Errors != "") != (p.Good != ""):
	default:
		bad("error_ratio_query", "Incomplete burn-rate queries",
			"give either error_ratio_query, or total_query with one of errors_query or good_query; each may use $window (e.g. sum(rate(http_requests_total{job=\"billing\",code=~\"5..\"}[$window]))).")
	}
	for _, q := range []struct{ attr, q string }{{"error_ratio_query", p.ErrorRatio}, {"errors_query", p.Errors}, {"good_query", p.Good}, {"total_query", p.Total}} {
		if q.q != "" && !strings.Contains(q.q, "$window") {
			bad(q.attr, "Query without $window", fmt.Sprintf("%s has no $window: every burn-rate window would measure the same thing; write the range as [$window].", q.attr))
		}
	}
	if c.Objective != nil {
		p.Objective = *c.Objective
		if p.Objective <= 0 || p.Objective >= 1 {
			bad("objective", "Invalid objective", fmt.Sprintf("objective = %g is the fraction of good requests, strictly between 0 and 1 (0.999 = 99.9 %%).", p.Objective))
		}
	}
	if len(c.BurnRates) == 0 {
		p.BurnRates = append([]BurnRate(nil), DefaultBurnRates...)
	}
	prom := firstBlock(body, "cutover")
	var brBlocks []*hclsyntax.Block
	if prom != nil {
		if s := firstBlock(prom.Body, "slo"); s != nil {
			if pb := firstBlock(s.Body, "prometheus"); pb != nil {
				brBlocks = blocksOf(pb.Body, "burn_rate")
			}
		}
	}
	for i, b := range c.BurnRates {
		var bb *hclsyntax.Body
		if i < len(brBlocks) {
			bb = brBlocks[i].Body
		}
		long, lerr := ParseDuration(b.Long)
		short, serr := ParseDuration(b.Short)
		switch {
		case lerr != nil:
			r.diags = append(r.diags, errAttr(bb, "long", "Invalid duration", lerr.Error()))
		case serr != nil:
			r.diags = append(r.diags, errAttr(bb, "short", "Invalid duration", serr.Error()))
		case short <= 0 || short >= long:
			r.diags = append(r.diags, errAttr(bb, "short", "Invalid burn-rate windows",
				fmt.Sprintf("App %q: short = %s must be shorter than long = %s (e.g. long = \"1h\", short = \"5m\").", app, short, long)))
		case long%time.Second != 0 || short%time.Second != 0:
			r.diags = append(r.diags, errAttr(bb, "long", "Invalid burn-rate windows",
				fmt.Sprintf("App %q: burn-rate windows are whole seconds (Prometheus range selectors).", app)))
		}
		if b.Factor <= 0 {
			r.diags = append(r.diags, errAttr(bb, "factor", "Invalid burn-rate factor",
				fmt.Sprintf("App %q: factor = %g; it is how many times faster than sustainable the budget burns (e.g. 14.4).", app, b.Factor)))
		}
		p.BurnRates = append(p.BurnRates, BurnRate{Long: long, Short: short, Factor: b.Factor})
	}
	return p
}

// exprSet reports whether an optional attribute was written.
func exprSet(e hcl.Expression) bool {
	if e == nil {
		return false
	}
	v, diags := e.Value(nil)
	return diags.HasErrors() || !v.IsNull()
}

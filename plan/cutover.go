package plan

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Cutover defaults.
const (
	DefaultSLORequests   = 100
	DefaultMaxErrorRatio = 0.01
	DefaultMaxP95        = 500 * time.Millisecond
)

// HealthCheckProtocols are the health_check protocols a plan may name:
// http and https (a GET of the path, the latter over TLS to VMs that
// serve TLS themselves) and tcp (a connect).
var HealthCheckProtocols = []string{"http", "https", "tcp"}

func (r *resolver) cutover(app string, c *cutoverConf, body *hclsyntax.Body, vms []VMSpec) CutoverSpec {
	if c == nil {
		c = &cutoverConf{}
	}
	path := []string{"cutover"}
	var cb *hclsyntax.Body
	if b := firstBlock(body, "cutover"); b != nil {
		cb = b.Body
	}
	kind := r.lbKind(app, c, body)
	defStrategy := "lb"
	if kind == LBInternalTCP {
		defStrategy = "dns" // no weights on a passthrough LB: one DNS step
	}
	out := CutoverSpec{
		LB:          LBSpec{Kind: kind},
		Strategy:    or(c.Strategy, defStrategy),
		PublicURL:   c.PublicURL,
		DCEndpoints: c.DCEndpoints,
		StepTimeout: r.dur(body, path, "step_timeout", c.StepTimeout, DefaultStepTimeout),
	}
	if out.Strategy != "lb" && out.Strategy != "dns" {
		r.diags = append(r.diags, errAt(body, path, "strategy", "Unknown cutover strategy",
			fmt.Sprintf("App %q: strategy = %q; use \"lb\" (weighted load balancer, hybrid NEG to the DC) or \"dns\" (record swap).", app, c.Strategy)))
	}
	stepBake := r.dur(body, path, "step_bake", c.StepBake, DefaultStepBake)
	switch {
	case len(c.Step) > 0:
		sb := blocksOf(cb, "step")
		for i, s := range c.Step {
			var b *hclsyntax.Body
			if i < len(sb) {
				b = sb[i].Body
			}
			out.Steps = append(out.Steps, Step{Percent: s.Percent, Bake: r.dur(b, nil, "bake", s.Bake, stepBake)})
		}
	case len(c.Steps) > 0:
		for _, p := range c.Steps {
			out.Steps = append(out.Steps, Step{Percent: p, Bake: stepBake})
		}
	case kind == LBInternalTCP:
		out.Steps = []Step{{Percent: 100, Bake: stepBake}}
	default:
		for _, p := range DefaultSteps {
			out.Steps = append(out.Steps, Step{Percent: p, Bake: stepBake})
		}
	}
	last := 0
	for i, s := range out.Steps {
		var rng *hcl.Range
		if len(c.Step) > 0 {
			rng = rangeOf(cb, nil, "")
			if sb := blocksOf(cb, "step"); i < len(sb) {
				rng = blockRange(sb[i])
			}
		} else {
			rng = itemRange(cb, "steps", i)
		}
		if s.Percent <= last || s.Percent > 100 {
			r.diags = append(r.diags, diagAt(hcl.DiagError, rng, "Invalid cutover steps",
				fmt.Sprintf("App %q: steps must rise strictly from 1 to 100 %% of traffic (got %d after %d).", app, s.Percent, last)))
		}
		last = s.Percent
	}
	if last != 100 && len(out.Steps) > 0 {
		r.diags = append(r.diags, errAt(body, path, "steps", "Cutover never reaches 100 %",
			fmt.Sprintf("App %q: the last step sends %d %% of traffic to GCP; end with 100.", app, last)))
	}
	out.Steps[len(out.Steps)-1].Bake = 0 // the app's bake follows 100 %

	out.HealthCheck = HealthCheck{Protocol: "http", Port: 80, Path: "/"}
	if kind == LBInternalTCP {
		out.HealthCheck.Protocol = "tcp"
	}
	for _, v := range vms {
		if len(v.Ports) > 0 {
			out.HealthCheck.Port = v.Ports[0]
			break
		}
	}
	if h := c.HealthCheck; h != nil {
		out.HealthCheck.Protocol = or(h.Protocol, out.HealthCheck.Protocol)
		if h.Port != 0 {
			out.HealthCheck.Port = h.Port
		}
		out.HealthCheck.Path = or(h.Path, out.HealthCheck.Path)
	}
	hp := append(path, "health_check")
	if p := out.HealthCheck.Protocol; !slices.Contains(HealthCheckProtocols, p) {
		r.diags = append(r.diags, errAt(body, hp, "protocol", "Unknown health check protocol",
			fmt.Sprintf("App %q: health_check protocol %q; use %s (https when the VMs serve TLS themselves: the check and the load balancer then speak TLS to them).",
				app, p, strings.Join(HealthCheckProtocols, ", "))))
	}
	if out.HealthCheck.Protocol == "tcp" {
		out.HealthCheck.Path = ""
	}
	if p := out.HealthCheck.Port; p < 1 || p > 65535 {
		r.diags = append(r.diags, errAt(body, hp, "port", "Invalid health check port",
			fmt.Sprintf("App %q: health_check port %d is not in 1-65535.", app, p)))
	}

	out.SLO = SLO{Requests: DefaultSLORequests, MaxErrorRatio: DefaultMaxErrorRatio, MaxP95: DefaultMaxP95}
	if s := c.SLO; s != nil {
		sp := append(path, "slo")
		if s.Requests != nil {
			out.SLO.Requests = *s.Requests
		}
		if s.MaxErrorRatio != nil {
			out.SLO.MaxErrorRatio = *s.MaxErrorRatio
			if *s.MaxErrorRatio < 0 || *s.MaxErrorRatio > 1 {
				r.diags = append(r.diags, errAt(body, sp, "max_error_ratio", "Invalid error ratio",
					fmt.Sprintf("App %q: max_error_ratio %g is a fraction between 0 and 1 (0.01 = 1 %%).", app, *s.MaxErrorRatio)))
			}
		}
		out.SLO.MaxP95 = r.dur(body, sp, "max_p95", s.MaxP95, out.SLO.MaxP95)
		out.SLO.PrometheusURL, out.SLO.PrometheusQuery = s.PrometheusURL, s.PrometheusQuery
		if s.PrometheusMax != nil {
			out.SLO.PrometheusMax = *s.PrometheusMax
		}
		if (s.PrometheusQuery == "") != (s.PrometheusURL == "") {
			r.diags = append(r.diags, errAt(body, sp, "", "Incomplete Prometheus gate",
				fmt.Sprintf("App %q: prometheus_url and prometheus_query go together.", app)))
		}
	}
	out.SLO.Watch = r.sloWatch(app, c.SLO, body)

	wb := blocksOf(cb, "window")
	for i, w := range c.Windows {
		var b *hclsyntax.Body
		if i < len(wb) {
			b = wb[i].Body
		}
		win := Window{Start: w.Start, TimeZone: or(w.TimeZone, "UTC")}
		if w.Days != nil && len(w.Days) == 0 {
			r.diags = append(r.diags, errAttr(b, "days", "Window never opens",
				fmt.Sprintf("App %q: days = [] allows no day; list days (e.g. [\"tue\", \"thu\"]) or leave days out for every day.", app)))
		}
		for j, d := range w.Days {
			wd, ok := parseWeekday(d)
			if !ok {
				r.diags = append(r.diags, diagAt(hcl.DiagError, itemRange(b, "days", j), "Unknown weekday",
					fmt.Sprintf("App %q: %q is not a weekday; write mon, tue, wed, thu, fri, sat or sun.", app, d)))
				continue
			}
			win.Days = append(win.Days, wd)
		}
		d, err := ParseDuration(w.Duration)
		if err != nil {
			r.diags = append(r.diags, errAttr(b, "duration", "Invalid duration", err.Error()))
		}
		win.Duration = d
		if err == nil {
			if cerr := win.Check(); cerr != nil {
				attr := "duration"
				switch {
				case strings.HasPrefix(cerr.Error(), "time zone"):
					attr = "timezone"
				case strings.HasPrefix(cerr.Error(), "start"):
					attr = "start"
				}
				r.diags = append(r.diags, errAttr(b, attr, "Window never opens", fmt.Sprintf("App %q: %v.", app, cerr)))
			}
		}
		out.Windows = append(out.Windows, win)
	}

	out.HoldTimeout = r.dur(body, path, "hold_timeout", c.HoldTimeout, 0)
	out.OutsideWindow = or(c.OutsideWindow, OutsideWindowWait)
	if o := out.OutsideWindow; o != OutsideWindowWait && o != OutsideWindowRollback {
		r.diags = append(r.diags, errAt(body, path, "outside_window", "Unknown outside_window",
			fmt.Sprintf("App %q: outside_window = %q; use \"wait\" (hold traffic where it is until the next window) or \"rollback\".", app, o)))
	}

	if d := c.DNS; d != nil {
		out.DNS = DNSTarget{ManagedZone: d.ManagedZone, Name: d.Name, TTL: 60}
		if d.TTL != nil {
			out.DNS.TTL = *d.TTL
		}
		if !strings.HasSuffix(d.Name, ".") {
			r.diags = append(r.diags, errAt(body, append(path, "dns"), "name", "DNS name is not fully qualified",
				fmt.Sprintf("App %q: dns name %q must end with a dot, e.g. \"billing.example.com.\".", app, d.Name)))
		}
	}
	if out.Strategy == "dns" && c.DNS == nil {
		r.diags = append(r.diags, errAt(body, path, "strategy", "Missing dns block",
			fmt.Sprintf("App %q: strategy \"dns\" needs a dns { managed_zone = \"...\" name = \"app.example.com.\" } block.", app)))
	}
	if (out.Strategy == "lb" || kind == LBInternalTCP) && len(out.DCEndpoints) == 0 {
		for _, v := range vms {
			if len(v.IPs) > 0 {
				out.DCEndpoints = append(out.DCEndpoints, net.JoinHostPort(v.IPs[0], strconv.Itoa(out.HealthCheck.Port)))
			}
		}
	}
	r.loadBalancer(app, c, body, &out)
	for i, e := range c.DCEndpoints {
		host, port, err := net.SplitHostPort(e)
		pn, perr := strconv.Atoi(port)
		if err != nil || net.ParseIP(host) == nil || perr != nil || pn < 1 || pn > 65535 {
			r.diags = append(r.diags, diagAt(hcl.DiagError, itemRange(cb, "dc_endpoints", i), "Invalid DC endpoint",
				fmt.Sprintf("App %q: %q is not IP:PORT (e.g. \"10.20.0.15:8080\"); the hybrid NEG needs IP addresses.", app, e)))
		}
	}
	out.ClientDNS = r.clientDNS(app, c.ClientDNS, cb, out)
	return out
}

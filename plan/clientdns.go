package plan

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The names clients use today: a cutover's client_dns blocks.
//
//	cutover {
//	  client_dns {
//	    zone       = "corp-internal"          # Cloud DNS managed zone
//	    project    = "dns-host"               # optional: the zone's project (default gcp.project)
//	    name       = "billing.corp.example."  # fully qualified
//	    ttl_during = "30s"                    # the TTL from before the cutover until it is final
//	  }
//	  client_dns {
//	    name          = "billing.legacy.example."
//	    external_hook = "infoblox"            # a hook { at = "client_dns" } of this app
//	  }
//	}
//
// Before the cutover ferry lowers the record's TTL and waits out the old
// one; at cutover it points the name at the load balancer (or the app's
// front-end instances); rollback puts the original addresses back; after
// the bake (or the rollback) the original TTL returns.

// HookClientDNS is the hook point of external DNS hooks: such a hook runs
// only when a client_dns block names it, never at a stage of its own.
const HookClientDNS = "client_dns"

// Client DNS defaults and bounds.
const (
	DefaultClientDNSTTL = 30 * time.Second
	MaxClientDNSTTL     = time.Hour
)

type clientDNSConf struct {
	Zone         string `hcl:"zone,optional"`
	Project      string `hcl:"project,optional"`
	Name         string `hcl:"name"`
	TTLDuring    string `hcl:"ttl_during,optional"`
	ExternalHook string `hcl:"external_hook,optional"`
}

// ClientDNS is one DNS name clients reach the app by: a record set in a
// Cloud DNS managed zone (Zone, in Project), or in a zone ferry does not
// own, changed by the app's hook ExternalHook.
type ClientDNS struct {
	Name         string        `json:"name"` // FQDN with trailing dot, lower case
	Zone         string        `json:"zone,omitempty"`
	Project      string        `json:"project,omitempty"`
	ExternalHook string        `json:"externalHook,omitempty"`
	TTLDuring    time.Duration `json:"ttlDuring"` // whole seconds
}

// DNSZone is a Cloud DNS managed zone, as the plan's checks need it.
type DNSZone struct {
	Name    string // e.g. corp-internal
	DNSName string // e.g. corp.example.
}

var (
	// Cloud DNS managed zone names: 1-63 of a-z, 0-9 and '-', starting with
	// a letter.
	managedZoneRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// One label of a host name: letters, digits, '-' inside, '_' for
	// service labels.
	dnsLabelRE = regexp.MustCompile(`^[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9_])?$`)
)

// CheckDNSName reports why name is not a fully qualified host name a
// client_dns block may move, or nil.
func CheckDNSName(name string) error {
	switch {
	case name == "" || name == ".":
		return fmt.Errorf("the name is empty; write the fully qualified name clients use, e.g. \"billing.corp.example.\"")
	case !strings.HasSuffix(name, "."):
		return fmt.Errorf("%q is not fully qualified: end it with a dot, e.g. %q", name, name+".")
	case len(name) > 254:
		return fmt.Errorf("%q is longer than the 253 characters a DNS name may have", clip(name))
	}
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(name, ".")), ".")
	if len(labels) < 2 {
		return fmt.Errorf("%q is a top-level name; name the host clients use, e.g. \"billing.corp.example.\"", name)
	}
	for _, l := range labels {
		switch {
		case l == "":
			return fmt.Errorf("%q has an empty label (two dots in a row)", clip(name))
		case l == "*":
			return fmt.Errorf("%q is a wildcard; name the one host clients use", clip(name))
		case len(l) > 63:
			return fmt.Errorf("%q has a label longer than 63 characters", clip(name))
		case !dnsLabelRE.MatchString(l):
			return fmt.Errorf("%q: label %q may hold only letters, digits, '-' and '_', and may not start or end with '-'", clip(name), clip(l))
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// InZone reports whether name is the zone's apex or below it.
func InZone(name, zoneDNSName string) bool {
	name, z := strings.ToLower(name), strings.ToLower(zoneDNSName)
	return name == z || strings.HasSuffix(name, "."+z)
}

// clientDNS resolves the client_dns blocks of one app's cutover (cb is the
// cutover block's body; out the cutover resolved so far).
func (r *resolver) clientDNS(app string, confs []*clientDNSConf, cb *hclsyntax.Body, out CutoverSpec) []ClientDNS {
	blocks := blocksOf(cb, "client_dns")
	var hooks []*hookConf
	if c := r.confs[app]; c != nil {
		hooks = c.Hooks
	}
	var res []ClientDNS
	seen := map[string]bool{}
	for i, c := range confs {
		var b *hclsyntax.Body
		if i < len(blocks) {
			b = blocks[i].Body
		}
		name := strings.ToLower(strings.TrimSpace(c.Name))
		cd := ClientDNS{Name: name, Zone: c.Zone, Project: or(c.Project, r.p.GCP.Project), ExternalHook: c.ExternalHook,
			TTLDuring: r.dur(b, nil, "ttl_during", c.TTLDuring, DefaultClientDNSTTL)}
		errOn := func(attr, summary, detail string) {
			r.diags = append(r.diags, errAttr(b, attr, summary, fmt.Sprintf("App %q client_dns %q: %s", app, clip(c.Name), detail)))
		}
		if err := CheckDNSName(c.Name); err != nil {
			errOn("name", "Invalid client DNS name", err.Error()+".")
		}
		if seen[name] {
			errOn("name", "Duplicate client DNS name", "this name is listed twice in the app; keep one client_dns block per name.")
		}
		seen[name] = true
		if out.Strategy == "dns" && strings.EqualFold(name, out.DNS.Name) {
			errOn("name", "Client DNS name moved twice",
				"the dns strategy already moves this record (cutover.dns); drop this client_dns block or name another record.")
		}
		if t := cd.TTLDuring; t < time.Second || t > MaxClientDNSTTL || t%time.Second != 0 {
			errOn("ttl_during", "Invalid ttl_during",
				fmt.Sprintf("ttl_during = %q; DNS TTLs are whole seconds from 1s to 1h (default 30s): clients follow a rollback within it.", c.TTLDuring))
			cd.TTLDuring = DefaultClientDNSTTL
		}
		switch {
		case c.Zone == "" && c.ExternalHook == "":
			errOn("", "Client DNS without a zone",
				"set zone = \"MANAGED_ZONE\" (a Cloud DNS managed zone) or external_hook = \"HOOK\" (a hook { at = \"client_dns\" } that changes a zone ferry does not own).")
		case c.Zone != "" && c.ExternalHook != "":
			errOn("external_hook", "Client DNS with two owners",
				"zone and external_hook both given: a name is changed either in Cloud DNS or by the hook, not both.")
		case c.ExternalHook != "":
			cd.Project = ""
			if c.Project != "" {
				errOn("project", "Project without a zone", "project names the Cloud DNS zone's project; an external_hook name has none.")
			}
			r.checkClientDNSHook(app, c, hooks, errOn)
		default:
			r.checkClientDNSZone(c, cd, errOn)
		}
		res = append(res, cd)
	}
	r.unusedDNSHooks(app, confs)
	return res
}

// unusedDNSHooks warns of client_dns hooks no client_dns block names: they
// would never run.
func (r *resolver) unusedDNSHooks(app string, confs []*clientDNSConf) {
	c := r.confs[app]
	if c == nil || c.block == nil {
		return
	}
	blocks := blocksOf(c.block.Body, "hook")
	for i, h := range c.Hooks {
		if h.At != HookClientDNS || slices.ContainsFunc(confs, func(x *clientDNSConf) bool { return x.ExternalHook == h.Name }) {
			continue
		}
		var b *hclsyntax.Body
		if i < len(blocks) {
			b = blocks[i].Body
		}
		d := errAttr(b, "at", "DNS hook never runs",
			fmt.Sprintf("App %q hook %q: at = %q runs only for client_dns blocks that name it (external_hook = %q), and none does.", app, h.Name, HookClientDNS, h.Name))
		d.Severity = hcl.DiagWarning
		r.diags = append(r.diags, d)
	}
}

func (r *resolver) checkClientDNSHook(app string, c *clientDNSConf, hooks []*hookConf, errOn func(attr, summary, detail string)) {
	i := slices.IndexFunc(hooks, func(h *hookConf) bool { return h.Name == c.ExternalHook })
	if i < 0 {
		var names []string
		for _, h := range hooks {
			if h.At == HookClientDNS {
				names = append(names, fmt.Sprintf("%q", h.Name))
			}
		}
		hint := "add hook \"" + c.ExternalHook + "\" { at = \"client_dns\" command = [...] } to the app"
		if len(names) > 0 {
			hint = "the app's client_dns hooks are " + strings.Join(names, ", ")
		}
		errOn("external_hook", "Unknown DNS hook", fmt.Sprintf("app %q has no hook %q; %s.", app, clip(c.ExternalHook), hint))
		return
	}
	if at := hooks[i].At; at != HookClientDNS {
		errOn("external_hook", "Hook is not a DNS hook",
			fmt.Sprintf("hook %q runs at %q; a hook that changes DNS needs at = %q, so it runs only for its client_dns names.", c.ExternalHook, at, HookClientDNS))
	}
}

func (r *resolver) checkClientDNSZone(c *clientDNSConf, cd ClientDNS, errOn func(attr, summary, detail string)) {
	if !managedZoneRE.MatchString(c.Zone) {
		errOn("zone", "Invalid managed zone name",
			fmt.Sprintf("zone = %q; a Cloud DNS managed zone name is 1-63 lower-case letters, digits and '-', starting with a letter (the zone's name, not its DNS name).", clip(c.Zone)))
		return
	}
	if cd.Project == "" {
		errOn("project", "No project for the zone", "set gcp.project, or project in this block.")
		return
	}
	zones, known := r.p.DNSZones[cd.Project]
	if !known {
		return // not read online: the activity checks the zone when it runs
	}
	i := slices.IndexFunc(zones, func(z DNSZone) bool { return z.Name == c.Zone })
	if i < 0 {
		var names []string
		for _, z := range zones {
			names = append(names, fmt.Sprintf("%s (%s)", z.Name, z.DNSName))
		}
		have := "it has no managed zone"
		if len(names) > 0 {
			have = "its zones are " + strings.Join(names, ", ")
		}
		errOn("zone", "Unknown managed zone", fmt.Sprintf("project %q has no Cloud DNS zone %q; %s.", cd.Project, c.Zone, have))
		return
	}
	if z := zones[i]; CheckDNSName(c.Name) == nil && !InZone(cd.Name, z.DNSName) {
		errOn("name", "Name outside its zone", fmt.Sprintf("zone %q holds %s and below; %q is not in it.", z.Name, z.DNSName, cd.Name))
	}
}

// checkClientDNSOwners reports a client name claimed by two apps: each
// would move it to its own load balancer.
func checkClientDNSOwners(specs []AppSpec, at func(app string) *hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	owner := map[string]string{}
	for _, s := range specs {
		for _, c := range s.Cutover.ClientDNS {
			if prev, ok := owner[c.Name]; ok && prev != s.Name {
				diags = append(diags, diagAt(hcl.DiagError, at(s.Name), "Client DNS name in two apps",
					fmt.Sprintf("Apps %q and %q both list client_dns %q; a name clients use points at one app: keep it in one.", prev, s.Name, c.Name)))
				continue
			}
			owner[c.Name] = s.Name
		}
	}
	return diags
}

// ClientDNSProjects lists the projects whose Cloud DNS zones the plan's
// client_dns blocks name (for a caller to read into DNSZones).
func ClientDNSProjects(p *Plan) []string {
	var out []string
	if p == nil || p.Config == nil {
		return nil
	}
	for _, a := range p.Config.Apps {
		if a.Cutover == nil {
			continue
		}
		for _, c := range a.Cutover.ClientDNS {
			if c.Zone == "" {
				continue
			}
			if pr := or(c.Project, p.GCP.Project); pr != "" && !slices.Contains(out, pr) {
				out = append(out, pr)
			}
		}
	}
	slices.Sort(out)
	return out
}

package terraform

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/plan"
)

// RenderOptions say where the generated module's provider and backend
// point. They hold no secret: against a real project the provider uses
// Application Default Credentials from the worker's environment.
type RenderOptions struct {
	GCP gcp.Config
	// ProviderConstraint is the google provider version constraint.
	ProviderConstraint string
	// LockFile, when set, is written as the module's FileLock.
	LockFile []byte
}

// DefaultProviderConstraint accepts the pinned provider (it reports 7.0.0
// from the local mirror) and current releases.
const DefaultProviderConstraint = ">= 5.0"

// Files of a rendered module.
const (
	FileVersions  = "versions.tf"
	FileInstances = "instances.tf"
	FileNetwork   = "network.tf"
	FileLB        = "lb.tf"
	FileOutputs   = "outputs.tf"
)

// GCEName turns a vCenter name into a valid, unique and stable GCE name
// (see package gcename); the result is added to taken.
func GCEName(vcenterName string, taken map[string]bool) string {
	return gcename.Name(vcenterName, taken)
}

// Render builds the app's Terraform root module with hclwrite and cty. It
// is pure: the same spec and options give the same bytes.
func Render(spec plan.AppSpec, opts RenderOptions) (map[string][]byte, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	a := arenas.Get().(*arena)
	defer func() { a.reset(); arenas.Put(a) }()
	r := &renderer{spec: &spec, opts: opts, base: sortedLabels(baseLabels(spec))}
	r.tags = sortedUnique(spec.NetworkTags)
	names := [...]string{FileVersions, FileInstances, FileNetwork, FileLB, FileOutputs}
	fns := [...]func(*tw){r.versions, r.instances, r.network, r.lb, r.outputs}
	var files [len(names)]*hclwrite.File
	for i, fn := range fns {
		files[i] = hclwrite.NewEmptyFile()
		w := a.writer(files[i])
		fn(w)
		w.flush()
	}
	all := filesBytes(a, files[:])
	out := make(map[string][]byte, len(names))
	for i, n := range names {
		out[n] = all[i]
	}
	if opts.LockFile != nil {
		out[FileLock] = opts.LockFile
	}
	return out, nil
}

func checkSpec(s plan.AppSpec) error {
	var missing []string
	if s.Name == "" {
		missing = append(missing, "name")
	}
	if s.Project == "" {
		missing = append(missing, "project")
	}
	if s.Region == "" {
		missing = append(missing, "region")
	}
	if len(s.VMs) == 0 {
		missing = append(missing, "vms")
	}
	if len(missing) > 0 {
		return fmt.Errorf("render app %q: the resolved spec lacks %s; resolve it from a validated plan (ferry plan validate)", s.Name, strings.Join(missing, ", "))
	}
	for _, v := range s.VMs {
		if !gcename.Valid(v.GCEName) {
			return fmt.Errorf("render app %q: VM %q has GCE name %q, which is not a valid RFC 1035 name; re-resolve the plan", s.Name, v.Name, v.GCEName)
		}
		if v.MachineType == "" || v.Image == "" || v.Zone == "" {
			return fmt.Errorf("render app %q: VM %q lacks machine type, image or zone; re-resolve the plan", s.Name, v.Name)
		}
		if _, err := plan.LookupMachineType(v.MachineType); err != nil {
			return fmt.Errorf("render app %q: VM %q: %w; fix the plan and run ferry plan validate", s.Name, v.Name, err)
		}
	}
	switch s.Cutover.Strategy {
	case "lb":
		for _, e := range s.Cutover.DCEndpoints {
			host, port, err := net.SplitHostPort(e)
			if _, perr := strconv.Atoi(port); err != nil || perr != nil || net.ParseIP(host) == nil {
				return fmt.Errorf("render app %q: DC endpoint %q is not IP:PORT; fix the plan and run ferry plan validate", s.Name, e)
			}
		}
	case "dns":
	default:
		return fmt.Errorf("render app %q: cutover strategy %q is not lb or dns; fix the plan and run ferry plan validate", s.Name, s.Cutover.Strategy)
	}
	if p := s.Cutover.HealthCheck.Port; p < 1 || p > 65535 {
		return fmt.Errorf("render app %q: health check port %d is not in 1-65535; fix the plan and run ferry plan validate", s.Name, p)
	}
	return checkLB(s)
}

type renderer struct {
	spec *plan.AppSpec
	opts RenderOptions
	ids  map[string]string // resource address -> provider import ID
	base []label           // labels of every resource, sorted by key
	tags []string          // the app's network tags, sorted, unique
}

type label struct{ k, v string }

// resource opens a resource block and records its import ID (id is called
// only then): an apply interrupted between a create call and the state
// write leaves an object terraform does not know, and the runner adopts it
// by this ID.
func (r *renderer) resource(w *tw, typ, name string, id func() string) {
	if r.ids != nil {
		r.ids[typ+"."+name] = id()
	}
	w.block("resource", typ, name)
}

func (r *renderer) zonal(kind, zone, name string) string {
	return "projects/" + r.spec.Project + "/zones/" + zone + "/" + kind + "/" + name
}

func (r *renderer) global(kind, name string) string {
	return "projects/" + r.spec.Project + "/global/" + kind + "/" + name
}

// ImportIDs maps each resource address of the app's module to the ID
// `terraform import` takes for it.
func ImportIDs(spec plan.AppSpec) map[string]string {
	r := &renderer{spec: &spec, ids: map[string]string{}, base: sortedLabels(baseLabels(spec)), tags: sortedUnique(spec.NetworkTags)}
	a := &arena{}
	for _, fn := range []func(*tw){r.instances, r.network, r.lb} {
		fn(a.writer(hclwrite.NewEmptyFile()))
	}
	return r.ids
}

func (r *renderer) versions(w *tw) {
	w.block("terraform")
	w.str("required_version", ">= 1.8")
	w.block("required_providers")
	constraint := r.opts.constraint()
	w.object("google", 2)
	w.entry("source", "hashicorp/google")
	w.entry("version", constraint)
	w.closeObject()
	w.end()
	be := r.spec.Backend
	switch be.Type {
	case "gcs":
		w.block("backend", "gcs")
		w.str("bucket", be.Bucket)
		w.str("prefix", StatePrefix(be, r.spec.Name))
		if ep := r.opts.GCP.StorageEndpoint; ep != "" {
			w.str("storage_custom_endpoint", ep)
		}
		if r.opts.GCP.Fake() {
			w.str("access_token", gcp.FakeAccessToken)
		}
		w.end()
	default:
		w.block("backend", "local")
		w.str("path", "terraform.tfstate")
		w.end()
	}
	w.end()
	w.nl()
	w.block("provider", "google")
	w.str("project", r.spec.Project)
	w.str("region", r.spec.Region)
	if ep := r.opts.GCP.ComputeEndpoint; ep != "" {
		w.str("compute_custom_endpoint", ep)
	}
	if ep := r.opts.GCP.DNSEndpoint; ep != "" {
		w.str("dns_custom_endpoint", ep)
	}
	if ep := r.opts.GCP.StorageEndpoint; ep != "" {
		w.str("storage_custom_endpoint", ep)
	}
	if r.opts.GCP.Fake() {
		w.str("access_token", gcp.FakeAccessToken)
	}
	w.end()
}

func (o RenderOptions) constraint() string {
	if o.ProviderConstraint == "" {
		return DefaultProviderConstraint
	}
	return o.ProviderConstraint
}

// StatePrefix is the GCS object prefix of an app's state.
func StatePrefix(be plan.Backend, app string) string {
	if be.Prefix == "" {
		return app
	}
	return strings.TrimSuffix(be.Prefix, "/") + "/" + app
}

// baseLabels are the app's labels plus ferry's own, sanitised for GCE.
func baseLabels(spec plan.AppSpec) map[string]string {
	out := map[string]string{}
	for k, v := range spec.Labels {
		out[LabelKey(k)] = LabelValue(v)
	}
	out["app"] = LabelValue(spec.Name)
	out["wave"] = LabelValue(spec.Wave)
	out["owner"] = LabelValue(spec.Owner)
	out["managed-by"] = "ferry"
	return out
}

func sortedLabels(m map[string]string) []label {
	out := make([]label, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, label{k, m[k]})
	}
	return out
}

// labels writes the base labels plus, when hasSource, the resource's
// source-vm label, sorted by key as a map value writes them.
func (r *renderer) labels(w *tw, sourceVM string, hasSource bool) {
	const extra = "source-vm"
	n := len(r.base)
	if hasSource {
		n++
		for _, l := range r.base {
			if l.k == extra {
				n--
			}
		}
	}
	w.object("labels", n)
	pending := hasSource
	v := LabelValue(sourceVM)
	for _, l := range r.base {
		if pending && l.k >= extra {
			w.entry(extra, v)
			pending = false
			if l.k == extra {
				continue
			}
		}
		w.entry(l.k, l.v)
	}
	if pending {
		w.entry(extra, v)
	}
	w.closeObject()
}

func (r *renderer) instances(w *tw) {
	for i := range r.spec.VMs {
		v := &r.spec.VMs[i]
		if i > 0 {
			w.nl()
		}
		rep := replicaOf(*r.spec, v)
		for j, gb := range v.DataDisksGB {
			if rep != nil {
				break // the replicated disks replace the empty ones
			}
			name := dataDiskName(v.GCEName, j)
			r.resource(w, "google_compute_disk", name, func() string { return r.zonal("disks", v.Zone, name) })
			w.str("name", name)
			w.str("zone", v.Zone)
			w.str("type", diskType(v))
			w.int("size", gb)
			r.labels(w, v.Name, true)
			w.end()
			w.nl()
		}
		r.resource(w, "google_compute_instance", v.GCEName, func() string { return r.zonal("instances", v.Zone, v.GCEName) })
		w.str("name", v.GCEName)
		w.str("zone", v.Zone)
		w.str("machine_type", v.MachineType)
		w.boolean("allow_stopping_for_update", true)
		r.vmTags(w, v)
		r.labels(w, v.Name, true)
		// Keys in sorted order, as a map value writes them.
		w.object("metadata", 3)
		w.entry("ferry-app", r.spec.Name)
		w.entry("ferry-source-ref", v.Ref)
		w.entry("ferry-source-vm", v.Name)
		w.closeObject()
		if rep != nil {
			r.replicaDisks(w, v, rep)
		} else {
			w.block("boot_disk")
			w.block("initialize_params")
			w.str("image", v.Image)
			w.int("size", v.DiskGB)
			w.str("type", diskType(v))
			w.end()
			w.end()
			for j := range v.DataDisksGB {
				w.block("attached_disk")
				w.ref("source", "google_compute_disk", dataDiskName(v.GCEName, j), "self_link")
				w.end()
			}
		}
		w.block("network_interface")
		w.str("network", r.spec.Network)
		if r.spec.Subnetwork != "" {
			w.str("subnetwork", r.spec.Subnetwork)
		}
		w.end()
		w.end()
	}
}

func diskType(v *plan.VMSpec) string {
	if v.DiskType == "" {
		return "pd-balanced"
	}
	return v.DiskType
}

func dataDiskName(instance string, i int) string {
	return gceName(instance + "-data-" + strconv.Itoa(i+1))
}

// gceName is gcename.Name(s, nil) without its allocations when s is already
// a name it returns unchanged: valid, and no run of dashes to collapse.
func gceName(s string) string {
	if gcename.Valid(s) && !strings.Contains(s, "--") {
		return s
	}
	return gcename.Name(s, nil)
}

func sortedUnique(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return slices.Compact(out)
}

// vmTags writes the app's network tags plus the VM's own (its firewall
// target), sorted and unique.
func (r *renderer) vmTags(w *tw, v *plan.VMSpec) {
	w.key("tags")
	w.p(hclsyntax.TokenOBrack)
	own, first := v.GCEName, true
	item := func(s string) {
		if !first {
			w.p(hclsyntax.TokenComma)
		}
		first = false
		w.quoted(s)
	}
	for _, t := range r.tags {
		if own != "" && own <= t {
			item(own)
			if own == t {
				own = ""
				continue
			}
			own = ""
		}
		item(t)
	}
	if own != "" {
		item(own)
	}
	w.p(hclsyntax.TokenCBrack)
	w.nl()
}

// Google front ends and health checkers reach backends from these ranges.
var healthCheckRanges = []string{"130.211.0.0/22", "35.191.0.0/16"}

// Observed clients of the app are inside the company's private ranges.
var privateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}

func (r *renderer) network(w *tw) {
	r.ingress(w, "health", r.name("-hc"), "Google health checkers reach the instances of "+r.spec.Name, healthCheckRanges, r.appTag(), r.spec.Cutover.HealthCheck.Port)
	for i := range r.spec.VMs {
		v := &r.spec.VMs[i]
		if len(v.Ports) == 0 {
			continue
		}
		w.nl()
		name := gceName(v.GCEName + "-in")
		r.ingress(w, name, name, "Inbound ports observed on "+v.Name+" ("+v.Ref+") in the datacenter", privateRanges, v.GCEName, v.Ports...)
	}
}

// ingress writes the firewall rule local (GCE name name) of the app's
// network: sources reach the instances tagged target on the tcp ports.
func (r *renderer) ingress(w *tw, local, name, desc string, sources []string, target string, ports ...int) {
	r.resource(w, "google_compute_firewall", local, func() string { return r.global("firewalls", name) })
	w.str("name", name)
	w.str("description", r.owned(desc))
	w.str("network", r.spec.Network)
	w.str("direction", "INGRESS")
	w.int("priority", 1000)
	w.list("source_ranges", sources...)
	w.allowTCP(target, ports...)
}

// allowTCP ends a firewall rule: the instances it targets and the tcp
// ports it opens to them.
func (w *tw) allowTCP(target string, ports ...int) {
	w.list("target_tags", target)
	w.block("allow")
	w.str("protocol", "tcp")
	w.key("ports")
	w.p(hclsyntax.TokenOBrack)
	for j, p := range ports {
		if j > 0 {
			w.p(hclsyntax.TokenComma)
		}
		w.p(hclsyntax.TokenOQuote)
		w.t(hclsyntax.TokenQuotedLit, w.a.intBytes(int64(p)))
		w.p(hclsyntax.TokenCQuote)
	}
	w.p(hclsyntax.TokenCBrack)
	w.nl()
	w.end()
	w.end()
}

// owned appends the app's OwnerNote to the description of a resource
// without labels: adoption recognises the app's objects by it.
func (r *renderer) owned(desc string) string { return desc + " (" + OwnerNote(r.spec.Name) + ")" }

func (r *renderer) appTag() string { return gcename.Tag(r.spec.Name) }

// name is an app-scoped GCE resource name (gcename.Scoped, without its
// allocations for names already valid).
func (r *renderer) name(suffix string) string {
	return gceName("ferry-" + r.spec.Name + suffix)
}

// zones maps each zone to the app's front-end instances there: one
// unmanaged instance group per zone. Front ends are the VMs seen serving
// the health-check port; without flow data, every VM.
func (r *renderer) zones() map[string][]string {
	out := map[string][]string{}
	for _, v := range r.spec.FrontEnds() {
		out[v.Zone] = append(out[v.Zone], v.GCEName)
	}
	return out
}

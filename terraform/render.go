package terraform

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/terraform/gcename"
)

// RenderOptions say where the generated module's provider and backend
// point. They hold no secret: against a real project the provider uses
// Application Default Credentials from the worker's environment.
type RenderOptions struct {
	GCP gcp.Config
	// ProviderConstraint is the google provider version constraint.
	ProviderConstraint string
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
	r := renderer{spec: spec, opts: opts, a: a, base: baseLabels(spec)}
	files := map[string]*hclwrite.File{}
	for _, f := range []struct {
		name string
		fn   func(*hclwrite.Body)
	}{
		{FileVersions, r.versions},
		{FileInstances, r.instances},
		{FileNetwork, r.network},
		{FileLB, r.lb},
		{FileOutputs, r.outputs},
	} {
		hf := hclwrite.NewEmptyFile()
		f.fn(hf.Body())
		files[f.name] = hf
	}
	out := make(map[string][]byte, len(files))
	for n, f := range files {
		out[n] = fileBytes(f)
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
	return nil
}

type renderer struct {
	spec plan.AppSpec
	opts RenderOptions
	a    *arena
	ids  map[string]string // resource address -> provider import ID
	base map[string]string // labels of every resource
}

// resource appends a resource block and records its import ID: an apply
// interrupted between a create call and the state write leaves an object
// terraform does not know, and the runner adopts it by this ID.
func (r renderer) resource(b *hclwrite.Body, typ, name, id string) *hclwrite.Body {
	if r.ids != nil {
		r.ids[typ+"."+name] = id
	}
	return b.AppendNewBlock("resource", []string{typ, name}).Body()
}

func (r renderer) zonal(kind, zone, name string) string {
	return "projects/" + r.spec.Project + "/zones/" + zone + "/" + kind + "/" + name
}

func (r renderer) global(kind, name string) string {
	return "projects/" + r.spec.Project + "/global/" + kind + "/" + name
}

// ImportIDs maps each resource address of the app's module to the ID
// `terraform import` takes for it.
func ImportIDs(spec plan.AppSpec) map[string]string {
	r := renderer{spec: spec, a: &arena{}, ids: map[string]string{}, base: baseLabels(spec)}
	for _, fn := range []func(*hclwrite.Body){r.instances, r.network, r.lb} {
		fn(hclwrite.NewEmptyFile().Body())
	}
	return r.ids
}

func (r renderer) versions(b *hclwrite.Body) {
	tf := b.AppendNewBlock("terraform", nil).Body()
	r.a.setStr(tf, "required_version", (">= 1.8"))
	rp := tf.AppendNewBlock("required_providers", nil).Body()
	constraint := r.opts.ProviderConstraint
	if constraint == "" {
		constraint = DefaultProviderConstraint
	}
	r.a.attr(rp, "google", r.a.objectTokens([]string{"source", "version"},
		[]hclwrite.Tokens{r.a.strTokens("hashicorp/google"), r.a.strTokens(constraint)}, false))
	be := r.spec.Backend
	switch be.Type {
	case "gcs":
		bb := tf.AppendNewBlock("backend", []string{"gcs"}).Body()
		r.a.setStr(bb, "bucket", (be.Bucket))
		r.a.setStr(bb, "prefix", (StatePrefix(be, r.spec.Name)))
		if ep := r.opts.GCP.StorageEndpoint; ep != "" {
			r.a.setStr(bb, "storage_custom_endpoint", (ep))
		}
		if r.opts.GCP.Fake() {
			r.a.setStr(bb, "access_token", (gcp.FakeAccessToken))
		}
	default:
		r.a.setStr(tf.AppendNewBlock("backend", []string{"local"}).Body(), "path", "terraform.tfstate")
	}
	b.AppendNewline()
	p := b.AppendNewBlock("provider", []string{"google"}).Body()
	r.a.setStr(p, "project", (r.spec.Project))
	r.a.setStr(p, "region", (r.spec.Region))
	if ep := r.opts.GCP.ComputeEndpoint; ep != "" {
		r.a.setStr(p, "compute_custom_endpoint", (ep))
	}
	if ep := r.opts.GCP.DNSEndpoint; ep != "" {
		r.a.setStr(p, "dns_custom_endpoint", (ep))
	}
	if ep := r.opts.GCP.StorageEndpoint; ep != "" {
		r.a.setStr(p, "storage_custom_endpoint", (ep))
	}
	if r.opts.GCP.Fake() {
		r.a.setStr(p, "access_token", (gcp.FakeAccessToken))
	}
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

// labels are the base labels plus a resource's own.
func (r renderer) labels(extra map[string]string) map[string]string {
	out := make(map[string]string, len(r.base)+len(extra))
	for k, v := range r.base {
		out[k] = v
	}
	for k, v := range extra {
		out[LabelKey(k)] = LabelValue(v)
	}
	return out
}

func (r renderer) instances(b *hclwrite.Body) {
	for i, v := range r.spec.VMs {
		if i > 0 {
			b.AppendNewline()
		}
		var disks []string
		for j, gb := range v.DataDisksGB {
			name := dataDiskName(v.GCEName, j)
			disks = append(disks, name)
			d := r.resource(b, "google_compute_disk", name, r.zonal("disks", v.Zone, name))
			r.a.setStr(d, "name", (name))
			r.a.setStr(d, "zone", (v.Zone))
			r.a.setStr(d, "type", (diskType(v)))
			r.a.setInt(d, "size", (gb))
			r.a.setMap(d, "labels", r.labels(map[string]string{"source-vm": v.Name}))
			b.AppendNewline()
		}
		in := r.resource(b, "google_compute_instance", v.GCEName, r.zonal("instances", v.Zone, v.GCEName))
		r.a.setStr(in, "name", (v.GCEName))
		r.a.setStr(in, "zone", (v.Zone))
		r.a.setStr(in, "machine_type", (v.MachineType))
		r.a.attr(in, "allow_stopping_for_update", r.a.boolTokens(true))
		r.a.setList(in, "tags", (r.tags(v)))
		r.a.setMap(in, "labels", r.labels(map[string]string{"source-vm": v.Name}))
		r.a.setMap(in, "metadata", map[string]string{
			"ferry-app": r.spec.Name, "ferry-source-vm": v.Name, "ferry-source-ref": v.Ref,
		})
		r.a.open(in, "boot_disk")
		ip := r.a.open(in, "initialize_params")
		r.a.setStr(ip, "image", v.Image)
		r.a.setInt(ip, "size", v.DiskGB)
		r.a.setStr(ip, "type", diskType(v))
		r.a.close(in)
		r.a.close(in)
		for _, d := range disks {
			r.a.attr(r.a.open(in, "attached_disk"), "source", r.a.ref("google_compute_disk", d, "self_link"))
			r.a.close(in)
		}
		ni := r.a.open(in, "network_interface")
		r.a.setStr(ni, "network", r.spec.Network)
		if r.spec.Subnetwork != "" {
			r.a.setStr(ni, "subnetwork", r.spec.Subnetwork)
		}
		r.a.close(in)
	}
}

func diskType(v plan.VMSpec) string {
	if v.DiskType == "" {
		return "pd-balanced"
	}
	return v.DiskType
}

func dataDiskName(instance string, i int) string {
	return gcename.Name(instance+"-data-"+strconv.Itoa(i+1), nil)
}

// tags are the app's network tags plus the VM's own (its firewall target).
func (r renderer) tags(v plan.VMSpec) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range append(append([]string{}, r.spec.NetworkTags...), v.GCEName) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// Google front ends and health checkers reach backends from these ranges.
var healthCheckRanges = []string{"130.211.0.0/22", "35.191.0.0/16"}

// Observed clients of the app are inside the company's private ranges.
var privateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}

func (r renderer) network(b *hclwrite.Body) {
	hc := r.spec.Cutover.HealthCheck
	fw := r.resource(b, "google_compute_firewall", "health", r.global("firewalls", r.name("-hc")))
	r.a.setStr(fw, "name", (r.name("-hc")))
	r.a.setStr(fw, "network", (r.spec.Network))
	r.a.setStr(fw, "direction", ("INGRESS"))
	r.a.setInt(fw, "priority", (1000))
	r.a.setList(fw, "source_ranges", (healthCheckRanges))
	r.a.setList(fw, "target_tags", ([]string{r.appTag()}))
	al := r.a.open(fw, "allow")
	r.a.setStr(al, "protocol", "tcp")
	r.a.setList(al, "ports", []string{strconv.Itoa(hc.Port)})
	r.a.close(fw)
	for _, v := range r.spec.VMs {
		if len(v.Ports) == 0 {
			continue
		}
		ports := make([]string, len(v.Ports))
		for i, p := range v.Ports {
			ports[i] = strconv.Itoa(p)
		}
		b.AppendNewline()
		name := gcename.Name(v.GCEName+"-in", nil)
		f := r.resource(b, "google_compute_firewall", name, r.global("firewalls", name))
		r.a.setStr(f, "name", (name))
		r.a.setStr(f, "description", (fmt.Sprintf("Inbound ports observed on %s (%s) in the datacenter", v.Name, v.Ref)))
		r.a.setStr(f, "network", (r.spec.Network))
		r.a.setStr(f, "direction", ("INGRESS"))
		r.a.setInt(f, "priority", (1000))
		r.a.setList(f, "source_ranges", (privateRanges))
		r.a.setList(f, "target_tags", ([]string{v.GCEName}))
		a := r.a.open(f, "allow")
		r.a.setStr(a, "protocol", "tcp")
		r.a.setList(a, "ports", ports)
		r.a.close(f)
	}
}

func (r renderer) appTag() string { return "ferry-" + gcename.Name(r.spec.Name, nil) }

// name is an app-scoped GCE resource name.
func (r renderer) name(suffix string) string {
	return gcename.Name("ferry-"+r.spec.Name+suffix, nil)
}

// zones maps each zone to the app's front-end instances there: one
// unmanaged instance group per zone. Front ends are the VMs seen serving
// the health-check port; without flow data, every VM.
func (r renderer) zones() map[string][]string {
	port := r.spec.Cutover.HealthCheck.Port
	var front []plan.VMSpec
	for _, v := range r.spec.VMs {
		for _, p := range v.Ports {
			if p == port {
				front = append(front, v)
				break
			}
		}
	}
	if len(front) == 0 {
		front = r.spec.VMs
	}
	out := map[string][]string{}
	for _, v := range front {
		out[v.Zone] = append(out[v.Zone], v.GCEName)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

package inventory

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferrymigrate/ferry/runbooks"
)

// Options say how VMs are grouped into apps and where the app directory's
// fields come from. Every name is looked up first as a tag category, then
// as a custom attribute. Zero fields take the defaults of DefaultOptions.
type Options struct {
	AppCategory  string // tag category naming the app (default "app")
	AppAttribute string // custom attribute naming the app (default "app")
	// NameRule is a regexp with a named group "app" applied to VM names
	// when neither tag nor attribute names the app; "none" disables it.
	NameRule string

	OwnerCategory     string // default "owner"
	SquadCategory     string // default "squad"
	TierCategory      string // default "tier"
	RunbookCategory   string // default "runbook"
	DependsOnCategory string // default "depends-on"; attributes hold a comma-separated list

	// App keeps only this app's VMs in the result (the workflow's view).
	App string
	// PageSize is the number of VMs per RetrievePropertiesEx page (default 1000).
	PageSize int32
	// UsageWindow is how much CPU and memory history to read from
	// vCenter's PerformanceManager for right-sizing (default 30 days, at
	// the rollup vCenter keeps for it); negative skips it.
	UsageWindow time.Duration
}

// DefaultNameRule takes the app from names like "billing-api-01": the name
// without its trailing number.
const DefaultNameRule = `^(?P<app>[a-z][a-z0-9]*(?:-[a-z0-9]+)*?)-\d+$`

// DefaultOptions are the conventions ferry documents for vCenter admins.
func DefaultOptions() Options {
	return Options{
		AppCategory: "app", AppAttribute: "app", NameRule: DefaultNameRule,
		OwnerCategory: "owner", SquadCategory: "squad", TierCategory: "tier",
		RunbookCategory: "runbook", DependsOnCategory: "depends-on",
		PageSize: defaultPage, UsageWindow: DefaultUsageWindow,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&o.AppCategory, d.AppCategory)
	set(&o.AppAttribute, d.AppAttribute)
	set(&o.NameRule, d.NameRule)
	set(&o.OwnerCategory, d.OwnerCategory)
	set(&o.SquadCategory, d.SquadCategory)
	set(&o.TierCategory, d.TierCategory)
	set(&o.RunbookCategory, d.RunbookCategory)
	set(&o.DependsOnCategory, d.DependsOnCategory)
	if o.PageSize <= 0 {
		o.PageSize = d.PageSize
	}
	if o.UsageWindow == 0 {
		o.UsageWindow = DefaultUsageWindow
	}
	return o
}

// Discover reads every VM (of the configured datacenter, or all) with its
// placement, size, guest, usage, custom attributes and tags, and groups the
// VMs into apps. Ordering is stable: VMs by name, datacenter, ref; apps by
// name.
func Discover(ctx context.Context, c *Client, opts Options) (*Inventory, error) {
	opts = opts.withDefaults()
	var rule *regexp.Regexp
	if opts.NameRule != "none" {
		r, err := regexp.Compile(opts.NameRule)
		if err != nil || r.SubexpIndex("app") < 0 {
			return nil, fmt.Errorf("name rule %q: must be a valid regexp with a named group (?P<app>...)", opts.NameRule)
		}
		rule = r
	}

	root := c.vim.ServiceContent.RootFolder
	tree := names{}
	if err := c.resolve(ctx, root, "Datacenter", namedProps, tree); err != nil {
		return nil, err
	}
	containers, err := c.containers(tree)
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"Folder", "ComputeResource", "ResourcePool"} {
		if err := c.resolve(ctx, root, k, namedProps, tree); err != nil {
			return nil, err
		}
	}
	if err := c.resolve(ctx, root, "HostSystem", hostProps, tree); err != nil {
		return nil, err
	}
	storage := names{}
	if err := c.resolve(ctx, root, "Datastore", namedProps[:1], storage); err != nil {
		return nil, err
	}
	nets := names{}
	if err := c.resolve(ctx, root, "Network", namedProps[:1], nets); err != nil {
		return nil, err
	}
	if err := c.resolve(ctx, root, "DistributedVirtualPortgroup", dvpgProps, nets); err != nil {
		return nil, err
	}
	fields, err := c.customFields(ctx)
	if err != nil {
		return nil, err
	}

	cv := converter{tree: tree, storage: storage, nets: nets, fields: fields, root: root}
	cv.indexPortgroups()
	var vms []VM
	for _, container := range containers {
		err := c.retrieve(ctx, container, "VirtualMachine", VMProperties, opts.PageSize, func(page []types.ObjectContent) error {
			var mvs []mo.VirtualMachine
			if err := c.load("VirtualMachine", page, &mvs); err != nil {
				return err
			}
			for i := range mvs {
				if mvs[i].Config != nil && mvs[i].Config.Template {
					continue // templates are images, not running apps
				}
				vms = append(vms, cv.vm(&mvs[i]))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := c.attachTags(ctx, vms); err != nil {
		return nil, err
	}
	sortVMs(vms)
	inv := group(vms, opts, rule)
	inv.Source = c.source
	inv.CollectedAt = time.Now().UTC().Truncate(time.Second)
	if opts.App != "" {
		inv = inv.Only(opts.App)
	}
	if opts.UsageWindow > 0 {
		if err := c.ReadUsageHistory(ctx, inv.VMs, opts.UsageWindow); err != nil {
			return nil, err
		}
	}
	return inv, nil
}

// containers returns the datacenter to read (GOVC_DATACENTER) or the root
// folder, failing clearly on an unknown datacenter.
func (c *Client) containers(tree names) ([]types.ManagedObjectReference, error) {
	want := strings.Trim(c.cfg.Datacenter, "/")
	if want == "" {
		return []types.ManagedObjectReference{c.vim.ServiceContent.RootFolder}, nil
	}
	var known []string
	for ref, n := range tree {
		if ref.Type != "Datacenter" {
			continue
		}
		known = append(known, n.Name)
		if n.Name == want {
			return []types.ManagedObjectReference{ref}, nil
		}
	}
	slices.Sort(known)
	return nil, &Error{Kind: KindUnknownDatacenter, Reason: runbooks.ReasonVCenterFault, Op: "find datacenter", Source: c.source,
		Msg: fmt.Sprintf("datacenter %q not found (known: %s): fix GOVC_DATACENTER, or unset it to read every datacenter", want, strings.Join(known, ", "))}
}

// customFields maps custom attribute keys to names.
func (c *Client) customFields(ctx context.Context) (map[int32]string, error) {
	out := map[int32]string{}
	if c.vim.ServiceContent.CustomFieldsManager == nil {
		return out, nil // standalone ESX
	}
	m := object.NewCustomFieldsManager(c.vim)
	var defs object.CustomFieldDefList
	err := c.retry(ctx, "read custom attribute definitions", func() error {
		var err error
		defs, err = m.Field(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		out[d.Key] = d.Name
	}
	return out, nil
}

// Only returns the inventory restricted to one app's VMs.
func (inv *Inventory) Only(app string) *Inventory {
	out := *inv
	out.Apps, out.VMs, out.Unassigned = []App{}, []VM{}, []string{}
	for _, a := range inv.Apps {
		if a.Name == app {
			out.Apps = append(out.Apps, a)
		}
	}
	for _, v := range inv.VMs {
		if v.App == app {
			out.VMs = append(out.VMs, v)
		}
	}
	return &out
}

func sortVMs(vms []VM) {
	slices.SortFunc(vms, func(a, b VM) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Datacenter, b.Datacenter); c != 0 {
			return c
		}
		return compareRefs(a.Ref, b.Ref)
	})
}

// compareRefs orders "vm-9" before "vm-10".
func compareRefs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

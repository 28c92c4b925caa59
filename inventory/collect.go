package inventory

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// VMProperties are the property paths discovery reads of every VM. The list
// is constant so vCenter serves it from one filter spec; the benchmark's
// floor retrieves exactly these paths.
var VMProperties = []string{
	"name",
	"parent",
	"resourcePool",
	"customValue",
	"config.template",
	"config.annotation",
	"config.guestId",
	"config.guestFullName",
	"config.firmware",
	"config.bootOptions",
	"config.hardware.numCPU",
	"config.hardware.memoryMB",
	"config.hardware.device",
	"runtime.powerState",
	"runtime.host",
	"guest.guestFamily",
	"guest.hostName",
	"guest.toolsStatus",
	"guest.toolsRunningStatus",
	"guest.ipAddress",
	"guest.net",
	"summary.quickStats",
	"snapshot",
}

// Property paths of the objects VMs point at, read to resolve names.
var (
	namedProps  = []string{"name", "parent"}
	hostProps   = []string{"name", "parent", "summary.hardware.cpuMhz"}
	dvpgProps   = []string{"name", "key"}
	defaultPage = int32(1000)
)

// retrieve pages through every object of kind below container, calling fn
// once per page so a large inventory never sits in memory as raw property
// content. Each page call is retried on transient faults.
func (c *Client) retrieve(ctx context.Context, container types.ManagedObjectReference, kind string, props []string, page int32, fn func([]types.ObjectContent) error) error {
	op := "retrieve " + kind
	m := view.NewManager(c.vim)
	var v *view.ContainerView
	err := c.retry(ctx, "create view of "+kind, func() error {
		var err error
		v, err = m.CreateContainerView(ctx, container, []string{kind}, true)
		return err
	})
	if err != nil {
		return err
	}
	// The view must go even when ctx is done: it holds server memory.
	defer func() { _ = v.Destroy(context.WithoutCancel(ctx)) }()

	if page <= 0 {
		page = defaultPage
	}
	req := types.RetrievePropertiesEx{
		This: c.vim.ServiceContent.PropertyCollector,
		SpecSet: []types.PropertyFilterSpec{{
			ObjectSet: []types.ObjectSpec{{
				Obj:       v.Reference(),
				Skip:      types.NewBool(true),
				SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ContainerView", Path: "view"}},
			}},
			PropSet: []types.PropertySpec{{Type: kind, PathSet: props}},
		}},
		Options: types.RetrieveOptions{MaxObjects: page},
	}
	var res *types.RetrieveResult
	err = c.retry(ctx, op, func() error {
		r, err := methods.RetrievePropertiesEx(ctx, c.vim, &req)
		if err == nil {
			res = r.Returnval
		}
		return err
	})
	if err != nil {
		return err
	}
	for res != nil {
		if err := fn(res.Objects); err != nil {
			return err
		}
		if res.Token == "" {
			return nil
		}
		next := types.ContinueRetrievePropertiesEx{This: req.This, Token: res.Token}
		// A continuation token is single-use on vCenter, so a failed
		// continuation is not retried here: the whole discovery is.
		r, err := methods.ContinueRetrievePropertiesEx(ctx, c.vim, &next)
		if err != nil {
			return classify(op, c.source, err)
		}
		res = &r.Returnval
	}
	return nil
}

// load decodes one page into dst (a pointer to a slice of mo types),
// reporting the first fault of a property vCenter refused to return.
func (c *Client) load(kind string, page []types.ObjectContent, dst any) error {
	for _, o := range page {
		for _, p := range o.MissingSet {
			if _, ok := p.Fault.Fault.(*types.NoPermission); ok {
				return classify("read "+kind+" "+o.Obj.Value+" property "+p.Path, c.source, faultError{p.Fault.Fault})
			}
		}
	}
	if err := mo.LoadObjectContent(page, dst); err != nil {
		return classify("decode "+kind, c.source, err)
	}
	return nil
}

// faultError lets a property's fault be matched like a call's fault.
type faultError struct{ f types.BaseMethodFault }

func (e faultError) Error() string                { return fmt.Sprintf("%T", e.f) }
func (e faultError) Fault() types.BaseMethodFault { return e.f }

// names resolves references to names (and parents) for one object type.
type names map[types.ManagedObjectReference]named

type named struct {
	Name   string
	Parent types.ManagedObjectReference
	Key    string // DVPG key
	CPUMHz int32  // host core speed
}

func (c *Client) resolve(ctx context.Context, container types.ManagedObjectReference, kind string, props []string, into names) error {
	return c.retrieve(ctx, container, kind, props, 0, func(page []types.ObjectContent) error {
		for _, o := range page {
			var n named
			for _, p := range o.PropSet {
				switch p.Name {
				case "name":
					n.Name, _ = p.Val.(string)
				case "parent":
					if r, ok := p.Val.(types.ManagedObjectReference); ok {
						n.Parent = r
					}
				case "key":
					n.Key, _ = p.Val.(string)
				case "summary.hardware.cpuMhz":
					n.CPUMHz, _ = p.Val.(int32)
				}
			}
			into[o.Obj] = n
		}
		return nil
	})
}

package inventory

import (
	"context"
	"slices"

	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// tagBatch is how many objects one list-attached-tags-on-objects call asks
// about; it keeps request bodies small on large inventories.
const tagBatch = 2000

// attachTags fills VM.Tags (category name -> tag names, sorted) through the
// REST tagging API: one batched call per tagBatch VMs, then one lookup per
// distinct tag and category actually attached.
func (c *Client) attachTags(ctx context.Context, vms []VM) error {
	byRef := make(map[string]int, len(vms))
	for i := range vms {
		byRef[vms[i].Ref] = i
	}
	attached := map[string][]string{} // VM ref -> tag IDs
	for start := 0; start < len(vms); start += tagBatch {
		end := min(start+tagBatch, len(vms))
		objs := make([]mo.Reference, 0, end-start)
		for _, v := range vms[start:end] {
			objs = append(objs, types.ManagedObjectReference{Type: "VirtualMachine", Value: v.Ref})
		}
		var res []tags.AttachedTags
		err := c.retry(ctx, "list attached tags", func() error {
			var err error
			res, err = c.tags.ListAttachedTagsOnObjects(ctx, objs)
			return err
		})
		if err != nil {
			return err
		}
		for _, a := range res {
			if len(a.TagIDs) > 0 {
				attached[a.ObjectID.Reference().Value] = a.TagIDs
			}
		}
	}
	if len(attached) == 0 {
		return nil
	}

	tagByID := map[string]*tags.Tag{}
	catByID := map[string]string{}
	for _, ids := range attached {
		for _, id := range ids {
			if _, ok := tagByID[id]; ok {
				continue
			}
			var t *tags.Tag
			err := c.retry(ctx, "read tag "+id, func() error {
				var err error
				t, err = c.tags.GetTag(ctx, id)
				return err
			})
			if err != nil {
				return err
			}
			tagByID[id] = t
			if _, ok := catByID[t.CategoryID]; ok {
				continue
			}
			var cat *tags.Category
			err = c.retry(ctx, "read tag category "+t.CategoryID, func() error {
				var err error
				cat, err = c.tags.GetCategory(ctx, t.CategoryID)
				return err
			})
			if err != nil {
				return err
			}
			catByID[t.CategoryID] = cat.Name
		}
	}
	for ref, ids := range attached {
		i, ok := byRef[ref]
		if !ok {
			continue
		}
		m := map[string][]string{}
		for _, id := range ids {
			t := tagByID[id]
			cat := catByID[t.CategoryID]
			m[cat] = append(m[cat], t.Name)
		}
		for k := range m {
			slices.Sort(m[k])
			m[k] = slices.Compact(m[k])
		}
		vms[i].Tags = m
	}
	return nil
}

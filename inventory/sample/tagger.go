package sample

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// tagger collects attachments and makes one call per tag.
type tagger struct {
	m     *tags.Manager
	order []string // "category\x00tag", in first-use order
	refs  map[string][]types.ManagedObjectReference
}

func newTagger(m *tags.Manager) *tagger {
	return &tagger{m: m, refs: map[string][]types.ManagedObjectReference{}}
}

func (t *tagger) add(cat, tag string, ref types.ManagedObjectReference) {
	k := cat + "\x00" + tag
	if _, ok := t.refs[k]; !ok {
		t.order = append(t.order, k)
	}
	t.refs[k] = append(t.refs[k], ref)
}

func (t *tagger) flush(ctx context.Context) error {
	cats := map[string]string{}
	for _, k := range t.order {
		cat, name, _ := strings.Cut(k, "\x00")
		cid, ok := cats[cat]
		if !ok {
			var err error
			cid, err = t.m.CreateCategory(ctx, &tags.Category{Name: cat, Cardinality: "SINGLE", AssociableTypes: []string{"VirtualMachine"}})
			if err != nil {
				return fmt.Errorf("tag category %q: %w", cat, err)
			}
			cats[cat] = cid
		}
		id, err := t.m.CreateTag(ctx, &tags.Tag{Name: name, CategoryID: cid})
		if err != nil {
			return fmt.Errorf("tag %s/%s: %w", cat, name, err)
		}
		objs := make([]mo.Reference, 0, len(t.refs[k]))
		for _, r := range t.refs[k] {
			objs = append(objs, r)
		}
		if err := t.m.AttachTagToMultipleObjects(ctx, id, objs); err != nil {
			return fmt.Errorf("attach tag %s/%s: %w", cat, name, err)
		}
	}
	return nil
}

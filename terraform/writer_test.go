package terraform

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferrymigrate/ferry/plan"
)

// The labels and tags the renderer merges in known order must be what
// hclwrite writes for the map and list values built the plain way.
func TestLabelsAndTagsMatchCtyValues(t *testing.T) {
	cases := []struct {
		name      string
		labels    map[string]string
		tags      []string
		vm        string
		hasSource bool
	}{
		{"plain", map[string]string{"cost-center": "platform"}, []string{"ferry-app"}, "app-vm-1", true},
		{"user source-vm label is overridden", map[string]string{"Source-VM": "x", "zz": "1"}, nil, "vm-a", true},
		{"vm tag already an app tag", nil, []string{"web", "vm-b", "web", "a"}, "vm-b", true},
		{"vm tag sorts last", map[string]string{"Équipe": "Données"}, []string{"a", "b"}, "zz", true},
		{"vm tag sorts first", nil, []string{"m", "n"}, "a", true},
		{"no source label", map[string]string{"a": "b"}, []string{"t"}, "vm-c", false},
	}
	for _, c := range cases {
		spec := plan.AppSpec{Name: "app", Wave: "w1", Owner: "o", Labels: c.labels, NetworkTags: c.tags}
		vm := plan.VMSpec{Name: c.vm + " (DC)", GCEName: c.vm}
		r := &renderer{spec: &spec, base: sortedLabels(baseLabels(spec)), tags: sortedUnique(spec.NetworkTags)}

		f := hclwrite.NewEmptyFile()
		w := (&arena{}).writer(f)
		w.block("x")
		r.labels(w, vm.Name, c.hasSource)
		r.vmTags(w, &vm)
		w.end()
		got := fileBytes(f)

		labels := map[string]cty.Value{}
		for k, v := range baseLabels(spec) {
			labels[k] = cty.StringVal(v)
		}
		if c.hasSource {
			labels["source-vm"] = cty.StringVal(LabelValue(vm.Name))
		}
		seen := map[string]bool{}
		var tags []string
		for _, t := range append(append([]string{}, c.tags...), c.vm) {
			if !seen[t] {
				seen[t] = true
				tags = append(tags, t)
			}
		}
		sort.Strings(tags)
		tagVals := make([]cty.Value, len(tags))
		for i, t := range tags {
			tagVals[i] = cty.StringVal(t)
		}
		ref := hclwrite.NewEmptyFile()
		b := ref.Body().AppendNewBlock("x", nil).Body()
		b.SetAttributeValue("labels", cty.MapVal(labels))
		b.SetAttributeValue("tags", cty.ListVal(tagVals))
		if want := ref.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, got, want)
		}
	}
}

// ImportIDs names every resource the module declares, with its import ID.
func TestImportIDsCoverRenderedResources(t *testing.T) {
	for _, s := range exampleSpecs(t) {
		files, err := Render(s, RenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids := ImportIDs(s)
		n := 0
		for _, f := range files {
			for _, line := range bytes.Split(f, []byte("\n")) {
				var typ, name string
				if _, err := fmt.Sscanf(string(line), "resource %q %q {", &typ, &name); err != nil {
					continue
				}
				n++
				id := ids[typ+"."+name]
				if !strings.HasPrefix(id, "projects/"+s.Project+"/") {
					t.Errorf("%s: %s.%s: import ID %q", s.Name, typ, name, id)
				}
			}
		}
		if n == 0 || n != len(ids) {
			t.Errorf("%s: %d resources rendered, %d import IDs", s.Name, n, len(ids))
		}
		for _, v := range s.VMs {
			if want := "projects/" + s.Project + "/zones/" + v.Zone + "/instances/" + v.GCEName; ids["google_compute_instance."+v.GCEName] != want {
				t.Errorf("%s: instance %s: import ID %q, want %q", s.Name, v.GCEName, ids["google_compute_instance."+v.GCEName], want)
			}
		}
	}
}

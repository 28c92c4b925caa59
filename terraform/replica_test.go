package terraform

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
)

// replicated turns spec into a data = "replicate" app (every VM's disks
// replicated: boot plus its data disks).
func replicated(spec plan.AppSpec) plan.AppSpec {
	rs := &plan.ReplicateSpec{Location: spec.Region, HostProject: spec.Project,
		TargetProject: "projects/" + spec.Project + "/locations/global/targetProjects/" + spec.Project}
	for _, v := range spec.VMs {
		rs.VMs = append(rs.VMs, plan.ReplicaVM{Ref: v.Ref, Name: v.Name, GCEName: v.GCEName,
			Source: "projects/" + spec.Project + "/locations/" + spec.Region + "/sources/vcenter-paris", Disks: 1 + len(v.DataDisksGB)})
	}
	spec.Data = plan.DataSpec{Strategy: plan.DataReplicate, Replicate: rs}
	return spec
}

func TestRenderReplicatedDisks(t *testing.T) {
	var spec plan.AppSpec
	for _, s := range exampleSpecs(t) {
		if s.Name == "billing-api" {
			spec = replicated(s)
		}
	}
	files, err := Render(spec, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, n := range slices.Sorted(maps.Keys(files)) {
		all.Write(files[n])
	}
	out := all.String()
	base := "https://www.googleapis.com/compute/v1/projects/acme-migration/zones/europe-west1-b/disks/"
	for _, want := range []string{
		`source      = "` + base + `billing-db-prod-m2vm-0"`,
		`source = "` + base + `billing-db-prod-m2vm-1"`,
		`source = "` + base + `billing-db-prod-m2vm-2"`,
		`source      = "` + base + `billing-web-1-m2vm-0"`,
		"auto_delete = false",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered module lacks %s:\n%s", want, out)
		}
	}
	for _, no := range []string{"initialize_params", `resource "google_compute_disk"`, "-data-1"} {
		if strings.Contains(out, no) {
			t.Errorf("replicated app renders %q", no)
		}
	}
	// Without replication the module is the image-based one.
	plain, _ := Render(exampleSpecs(t)[1], RenderOptions{})
	for _, f := range plain {
		if strings.Contains(string(f), "-m2vm-") {
			t.Fatal("an app without replication attaches replicated disks")
		}
	}
}

// The real google provider creates instances on disks that Migrate to
// Virtual Machines cut over (created here as the cutover job does) from a
// plan made before they existed, plans no diff afterwards, and destroying
// the instances keeps the disks.
func TestRunnerReplicatedDisks(t *testing.T) {
	fake, cfg, g := fakeEnv(t)
	ctx := context.Background()
	spec := replicated(specFor(t, "billing-api"))
	// The plan gate comes before the cutover job: terraform plans the
	// instances on disks that do not exist yet, and the approved plan
	// still applies once the cutover job created them.
	r, sum := plannedRunner(t, cfg, g, spec)
	for _, v := range spec.Data.Replicate.VMs {
		for i := 0; i < v.Disks; i++ {
			body := `{"name":"` + gcename.ReplicaDisk(v.GCEName, i) + `","sizeGb":"20","type":"pd-balanced"}`
			req, _ := http.NewRequest("POST", fake.ComputeEndpoint()+"projects/acme-migration/zones/europe-west1-b/disks", strings.NewReader(body))
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
				t.Fatalf("create replicated disk: %v %v", resp, err)
			}
		}
	}
	res, err := r.Apply(ctx, sum.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || len(res.InstanceIP) != 3 {
		t.Fatalf("apply: %+v", res)
	}
	for _, in := range fake.Resources("acme-migration", "instances") {
		disks := in.Body["disks"].([]any)
		boot := disks[0].(map[string]any)
		if boot["boot"] != true || !strings.HasSuffix(boot["source"].(string), "/disks/"+gcename.ReplicaDisk(in.Name, 0)) {
			t.Errorf("instance %s boots from %v", in.Name, boot["source"])
		}
		if in.Name == "billing-db-prod" && len(disks) != 3 {
			t.Errorf("db instance has %d disks, want the 3 replicated ones", len(disks))
		}
	}
	if n := len(fake.Resources("acme-migration", "disks")); n != 5 {
		t.Errorf("%d disks: terraform must create none besides the 5 replicated", n)
	}
	if s2, _, err := r.Plan(ctx); err != nil || s2.HasChanges() {
		t.Fatalf("plan after apply: %+v %v", s2, err)
	}
	if _, err := r.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	left := fake.Resources("acme-migration", "disks")
	if len(fake.Resources("acme-migration", "instances")) != 0 || len(left) != 5 || inUse(left) {
		t.Fatalf("after destroy: %d instances, %d disks (in use: %v)", len(fake.Resources("acme-migration", "instances")), len(left), inUse(left))
	}
}

func inUse(disks []gcpfake.Resource) bool {
	for _, d := range disks {
		if _, ok := d.Body["users"]; ok {
			return true
		}
	}
	return false
}

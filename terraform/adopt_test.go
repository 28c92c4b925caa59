package terraform

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/gcename"
)

// An apply killed with its terraform (no state saved for the last creates)
// leaves the hybrid NEG, its endpoints and the DC backend service in GCP
// but not in state. The next Apply adopts them on its first call: no
// memberAlreadyExists/alreadyExists failure, no duplicates, a clean plan.
func TestApplyAdoptsLBOrphans(t *testing.T) {
	fake, cfg, g := fakeEnv(t)
	ctx := context.Background()
	spec := specFor(t, "billing-api")
	if spec.Cutover.Strategy != "lb" || len(spec.Cutover.DCEndpoints) < 2 {
		t.Fatalf("billing-api is no lb app with two DC endpoints: %+v", spec.Cutover)
	}
	r, sum := plannedRunner(t, cfg, g, spec)
	if _, err := r.Apply(ctx, sum.Hash); err != nil {
		t.Fatal(err)
	}
	want := countResources(fake, spec.Project)

	// Forget the objects the killed apply had created but not saved.
	tf, err := r.tf()
	if err != nil {
		t.Fatal(err)
	}
	// The NEG too: its endpoints and the DC backend depend on it, so their
	// conflicts surface only once the NEG is adopted.
	orphaned := []string{"google_compute_network_endpoint_group.dc", "google_compute_backend_service.dc"}
	for i := range spec.Cutover.DCEndpoints {
		orphaned = append(orphaned, "google_compute_network_endpoint.dc-"+string(rune('1'+i)))
	}
	for _, a := range orphaned {
		if err := tf.StateRm(ctx, a); err != nil {
			t.Fatalf("state rm %s: %v", a, err)
		}
	}

	// Another worker resumes with the approved plan.
	r2, err := NewRunner(elsewhere(t, cfg), g, spec)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r2.Apply(ctx, sum.Hash)
	if err != nil {
		t.Fatalf("first re-run did not adopt the orphans: %v", err)
	}
	if !res.Resumed {
		t.Errorf("the re-run did not report resuming: %+v", res)
	}
	if got := countResources(fake, spec.Project); !equalCounts(got, want) {
		t.Fatalf("resources after adoption %v, want %v", got, want)
	}
	negs := fake.Resources(spec.Project, "networkEndpointGroups")
	if len(negs) != 1 || len(negs[0].Members) != len(spec.Cutover.DCEndpoints) {
		t.Fatalf("NEG endpoints after adoption: %+v", negs)
	}
	dc := 0
	for _, b := range fake.Resources(spec.Project, "backendServices") {
		if b.Name == gcename.DCBackend(spec.Name) {
			dc++
		}
	}
	if dc != 1 {
		t.Fatalf("%d DC backend services", dc)
	}
	if s, _, err := r2.Plan(ctx); err != nil || s.HasChanges() {
		t.Fatalf("plan after adoption: %+v %v", s, err)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The provider's create errors for these objects carry the resource
// address; orphans finds them by the API's reasons.
func TestOrphansRecognisesLBConflicts(t *testing.T) {
	d := []Diagnostic{
		{Severity: "error", Address: "google_compute_network_endpoint.dc-1", Summary: "Error creating NetworkEndpoint: googleapi: Error 400: The network endpoint 10.0.0.1:80 is already a member of 'x', memberAlreadyExists"},
		{Severity: "error", Address: "google_compute_backend_service.dc", Summary: "Error creating BackendService: googleapi: Error 409: The resource 'projects/p/global/backendServices/a-dc' already exists, alreadyExists"},
		{Severity: "error", Address: "google_compute_instance.vm", Summary: "Error creating instance: googleapi: Error 403: quota, quotaExceeded"},
	}
	got := strings.Join(orphans(d), ",")
	if got != "google_compute_backend_service.dc,google_compute_network_endpoint.dc-1" {
		t.Fatalf("orphans: %s", got)
	}
}

package terraform

import (
	"context"
	"testing"
)

// An instance created but never saved to state (the worker died between
// the create call and terraform's state write) is adopted on the next
// apply of the approved plan: the real provider's import of a real
// instance must refine the approved create, so the apply completes
// without a new approval and without a duplicate.
func TestRunnerAdoptsAnInstanceMissingFromState(t *testing.T) {
	fake, cfg, g := fakeEnv(t)
	spec := specFor(t, "billing-api")
	ctx := context.Background()
	r, sum := plannedRunner(t, cfg, g, spec)
	if _, err := r.Apply(ctx, sum.Hash); err != nil {
		t.Fatal(err)
	}
	tf, err := r.tf()
	if err != nil {
		t.Fatal(err)
	}
	addr := "google_compute_instance." + spec.VMs[0].GCEName
	if err := tf.StateRm(ctx, addr); err != nil {
		t.Fatalf("state rm %s: %v", addr, err)
	}
	// The plan now wants to create it again: that is the approved plan an
	// interrupted apply leaves.
	again, _, err := r.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Add != 1 {
		t.Fatalf("after state rm: %+v", again)
	}
	res, err := r.Apply(ctx, again.Hash)
	if err != nil {
		t.Fatalf("adoption refused: %v", err)
	}
	_ = res
	if got := countResources(fake, spec.Project); got["instances"] != len(spec.VMs) {
		t.Fatalf("instances after adoption: %v", got)
	}
	if s, _, err := r.Plan(ctx); err != nil || s.HasChanges() {
		t.Fatalf("plan after adoption: %+v %v", s, err)
	}
}

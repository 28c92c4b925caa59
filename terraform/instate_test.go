package terraform

import (
	"context"
	"testing"
)

// A run of an app that finds the resources an earlier run left (that run
// was terminated before it could undo its work) learns it from the plan:
// InState counts what the state already holds, with the real terraform
// and google provider against gcpfake. A fresh app has none.
func TestPlanCountsWhatAnEarlierRunLeft(t *testing.T) {
	_, cfg, g := fakeEnv(t)
	spec := specFor(t, "billing-api")
	ctx := context.Background()
	r, sum := plannedRunner(t, cfg, g, spec)
	if sum.InState != 0 || sum.Add == 0 {
		t.Fatalf("fresh app: %d in state, %d to add; want 0 and some", sum.InState, sum.Add)
	}
	if _, err := r.Apply(ctx, sum.Hash); err != nil {
		t.Fatal(err)
	}
	again, _, err := r.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.InState != sum.Add || again.HasChanges() {
		t.Errorf("after the earlier run's apply: %d in state, changes %v; want the %d resources it created and no change", again.InState, again.Resources, sum.Add)
	}
}

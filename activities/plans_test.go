package activities

import (
	"context"
	"fmt"
	"sync"

	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/planstore"
)

// testDigest names the reviewed plan the activity tests' store serves.
const testDigest = "sha256:00000000000000000000000000000000000000000000000000000000000000aa"

// memPlans is the activity tests' plan store: each test puts the spec it
// acts on (testRef), as publishing would.
type memPlans struct {
	mu    sync.Mutex
	specs map[string]plan.AppSpec
}

var testPlans = &memPlans{specs: map[string]plan.AppSpec{}}

// testRef publishes spec to the test store and returns its reference.
func testRef(spec plan.AppSpec) PlanRef {
	testPlans.mu.Lock()
	defer testPlans.mu.Unlock()
	testPlans.specs[spec.Name] = spec
	return PlanRef{App: spec.Name, Digest: testDigest}
}

func (p *memPlans) App(_ context.Context, app, digest string) (plan.AppSpec, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.specs[app]
	if digest != testDigest || !ok {
		return plan.AppSpec{}, fmt.Errorf("%w: %s/%s", planstore.ErrNotFound, digest, app)
	}
	return s, nil
}

func (p *memPlans) Wave(context.Context, string, string) (plan.Wave, []plan.AppSpec, error) {
	return plan.Wave{}, nil, planstore.ErrNotInPlan
}

func (p *memPlans) Current(context.Context) (string, error) { return testDigest, nil }

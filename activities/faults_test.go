package activities

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/traffic"
)

// Fault injection through the real activities: the real terraform and
// google provider, and ferry's traffic code, against gcpfake answering
// with 5xx, 429 + Retry-After, slow operations and operation errors.

// retried runs an activity as Temporal's retry policy would: again after a
// retryable failure, never after a non-retryable one. It returns the
// result, the number of attempts and the last error.
func retried(t *testing.T, env *testsuite.TestActivityEnvironment, name string, in any, max int) (converter.EncodedValue, int, error) {
	t.Helper()
	for n := 1; ; n++ {
		v, err := env.ExecuteActivity(name, in)
		var ae *temporal.ApplicationError
		if err == nil || n == max || (errors.As(err, &ae) && ae.NonRetryable()) {
			return v, n, err
		}
		t.Logf("attempt %d of %s failed, retrying: %v", n, name, err)
	}
}

func addFaults(t *testing.T, s *gcpfake.Server, faults ...gcpfake.Fault) {
	t.Helper()
	for _, f := range faults {
		if err := s.Faults().Add(f); err != nil {
			t.Fatal(err)
		}
	}
}

var faultKinds = []string{"instances", "disks", "firewalls", "instanceGroups", "healthChecks", "backendServices",
	"urlMaps", "targetHttpProxies", "forwardingRules", "networkEndpointGroups", "globalAddresses"}

// resourceCounts counts each kind of object and fails on a duplicate name.
func resourceCounts(t *testing.T, s *gcpfake.Server, project string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, k := range faultKinds {
		seen := map[string]bool{}
		for _, r := range s.Resources(project, k) {
			if seen[r.Name] {
				t.Errorf("duplicate %s %s", k, r.Name)
			}
			seen[r.Name] = true
			out[k]++
		}
	}
	return out
}

func TestTerraformApplyRidesOutTransientFaults(t *testing.T) {
	env, fake := provisionEnv(t)
	spec := ledgerSpec(t)
	pr := terraformPlan(t, env, spec)
	addFaults(t, fake,
		gcpfake.Fault{Method: "POST", PathRegexp: `/zones/[^/]+/instances$`, Status: 503, Times: 2},
		gcpfake.Fault{Method: "POST", PathRegexp: `/global/firewalls$`, Status: 429, RetryAfter: time.Second, Times: 2},
		gcpfake.Fault{Method: "GET", PathRegexp: `/global/healthChecks/`, Status: 500, Times: 2},
		gcpfake.Fault{Method: "POST", PathRegexp: `/global/backendServices$`, OpPolls: 3, Delay: 300 * time.Millisecond, Times: 1},
		gcpfake.Fault{Method: "POST", PathRegexp: `/instanceGroups$`, OpDuration: 2 * time.Second, Times: 1},
	)
	v, attempts, err := retried(t, env, TerraformApplyName, TerraformApplyInput{Plan: testRef(spec), ApprovedPlanHash: pr.Summary.Hash}, 4)
	if err != nil {
		t.Fatalf("apply through transient faults (%d attempts): %v", attempts, err)
	}
	var ar TerraformApplyResult
	if err := v.Get(&ar); err != nil || len(ar.InstanceIP) != len(spec.VMs) {
		t.Fatalf("apply result %+v %v", ar, err)
	}
	hits := fake.Faults().Hits()
	if hits < 8 {
		t.Errorf("only %d faults were hit: the test did not exercise them", hits)
	}
	got := resourceCounts(t, fake, spec.Project)
	if got["instances"] != len(spec.VMs) {
		t.Errorf("instances: %d, want %d (%v)", got["instances"], len(spec.VMs), got)
	}
	fake.Faults().Clear()
	// Converged: nothing left to do.
	if pr := terraformPlan(t, env, spec); pr.Summary.Add+pr.Summary.Change+pr.Summary.Destroy != 0 {
		t.Fatalf("plan after the faulty apply: %+v", pr.Summary)
	}
	t.Logf("FAULTS terraform-transient injected=%d attempts=%d resources=%v", hits, attempts, got)
}

func TestTerraformApplyOperationErrorNamesResource(t *testing.T) {
	env, fake := provisionEnv(t)
	spec := ledgerSpec(t)
	pr := terraformPlan(t, env, spec)
	const quota = "Quota 'CPUS' exceeded. Limit: 8.0 in region europe-west1."
	addFaults(t, fake, gcpfake.Fault{Method: "POST", PathRegexp: `/zones/[^/]+/instances$`, OpError: quota})
	_, attempts, err := retried(t, env, TerraformApplyName, TerraformApplyInput{Plan: testRef(spec), ApprovedPlanHash: pr.Summary.Hash}, 3)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != string(runbooks.ReasonTerraformApply) || !ae.NonRetryable() {
		t.Fatalf("want a non-retryable %s, got %v", runbooks.ReasonTerraformApply, err)
	}
	vm := spec.VMs[0].GCEName
	if !strings.Contains(err.Error(), "CPUS") || !strings.Contains(err.Error(), "google_compute_instance") || !strings.Contains(err.Error(), spec.Name) {
		t.Errorf("error does not name the failed resource (%s) and the cause: %v", vm, err)
	}
	if got := resourceCounts(t, fake, spec.Project); got["instances"] != 0 {
		t.Errorf("instances after a failed insert operation: %v", got)
	}
	hits, first := fake.Faults().Hits(), err
	// Quota raised (fault cleared): the retry completes the interrupted
	// apply, once.
	fake.Faults().Clear()
	_, _, err = retried(t, env, TerraformApplyName, TerraformApplyInput{Plan: testRef(spec), ApprovedPlanHash: pr.Summary.Hash}, 3)
	if err != nil {
		t.Fatalf("retry after the quota was raised: %v", err)
	}
	if got := resourceCounts(t, fake, spec.Project); got["instances"] != len(spec.VMs) {
		t.Errorf("after retry: %v", got)
	}
	t.Logf("FAULTS terraform-operr injected=%d attempts=%d error=%q", hits, attempts, first)
}

func TestShiftTrafficRidesOutTransientFaults(t *testing.T) {
	r := newCutoverRig(t)
	um := `/global/urlMaps/` + traffic.URLMapName(r.spec.Name) + `$`
	addFaults(t, r.fake,
		gcpfake.Fault{Method: "GET", PathRegexp: um, Status: 503, Times: 2},
		gcpfake.Fault{PathRegexp: um, Method: "PATCH", Status: 429, RetryAfter: time.Second, Times: 1},
		gcpfake.Fault{PathRegexp: um, Method: "PUT", Status: 429, RetryAfter: time.Second, Times: 1},
		gcpfake.Fault{PathRegexp: um, Method: "PATCH", OpPolls: 3, Delay: 200 * time.Millisecond},
		gcpfake.Fault{PathRegexp: um, Method: "PUT", OpPolls: 3, Delay: 200 * time.Millisecond},
	)
	total := 0
	for _, p := range []int{10, 50, 100} {
		before := r.fake.Faults().Hits()
		_, attempts, err := retried(t, r.env, ShiftTrafficName, ShiftTrafficInput{Plan: testRef(r.spec), Percent: p}, 4)
		if err != nil {
			t.Fatalf("shift to %d%% through faults (%d attempts): %v", p, attempts, err)
		}
		if dc, gw := r.weights(t); dc != 100-p || gw != p {
			t.Fatalf("after shift %d: dc=%d gcp=%d", p, dc, gw)
		}
		total += r.fake.Faults().Hits() - before
	}
	if total < 4 {
		t.Errorf("only %d faults hit", total)
	}
	if got := resourceCounts(t, r.fake, cutoverProject); got["urlMaps"] != 1 || got["backendServices"] != 2 {
		t.Errorf("resources after faulty shifts: %v", got)
	}
	// Rollback through the same faults.
	r.fake.Faults().Clear()
	addFaults(t, r.fake, gcpfake.Fault{Method: "GET", PathRegexp: um, Status: 502, Times: 1})
	if _, _, err := retried(t, r.env, TrafficToDatacenterName, TrafficToDatacenterInput{Plan: testRef(r.spec)}, 4); err != nil {
		t.Fatalf("traffic back to the datacenter: %v", err)
	}
	if dc, gw := r.weights(t); dc != 100 || gw != 0 {
		t.Fatalf("after rollback dc=%d gcp=%d", dc, gw)
	}
	total += r.fake.Faults().Hits()
	t.Logf("FAULTS traffic-transient injected=%d", total)
}

func TestShiftTrafficOperationErrorNamesURLMap(t *testing.T) {
	r := newCutoverRig(t)
	um := `/global/urlMaps/` + traffic.URLMapName(r.spec.Name) + `$`
	const msg = "Backend service is being modified by another operation"
	addFaults(t, r.fake, gcpfake.Fault{PathRegexp: um, Method: "PATCH", OpError: msg}, gcpfake.Fault{PathRegexp: um, Method: "PUT", OpError: msg})
	_, attempts, err := retried(t, r.env, ShiftTrafficName, ShiftTrafficInput{Plan: testRef(r.spec), Percent: 10}, 3)
	if err == nil {
		t.Fatal("shift succeeded although every update operation failed")
	}
	if !strings.Contains(err.Error(), traffic.URLMapName(r.spec.Name)) || !strings.Contains(err.Error(), msg) {
		t.Errorf("error does not name the URL map and the cause: %v", err)
	}
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != string(runbooks.ReasonTrafficShift) {
		t.Errorf("want reason %s: %v", runbooks.ReasonTrafficShift, err)
	}
	if dc, gw := r.weights(t); dc != 100 || gw != 0 {
		t.Errorf("a failed operation changed the weights: dc=%d gcp=%d", dc, gw)
	}
	t.Logf("FAULTS traffic-operr injected=%d attempts=%d error=%q", r.fake.Faults().Hits(), attempts, err)
}

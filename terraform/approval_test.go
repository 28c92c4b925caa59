package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/plan"
)

// A plan approved, then a change to the spec: the apply re-plans, finds
// another change set and refuses with the differing resources and
// attributes, applying nothing. The approved plan, re-planned unchanged,
// applies.
func TestApplyRefusesChangedPlanNamingTheDifference(t *testing.T) {
	fake, cfg, g := fakeEnv(t)
	ctx := context.Background()
	spec := specFor(t, "ledger")
	r, sum := plannedRunner(t, cfg, g, spec)
	// The provider lock is in the module and init kept it.
	if b, err := os.ReadFile(filepath.Join(r.Dir(), FileLock)); err != nil || !bytes.Contains(b, []byte(`"h1:`)) {
		t.Fatalf("module has no provider lock with a hash: %v\n%s", err, b)
	}

	changed := spec
	changed.VMs = append([]plan.VMSpec{}, spec.VMs...)
	changed.VMs[0].DiskGB++
	rc, _ := NewRunner(elsewhere(t, cfg), g, changed)
	_, err := rc.Apply(ctx, sum.Hash)
	var drift *PlanDriftError
	if !errors.As(err, &drift) || drift.Reason() != ReasonPlanChanged {
		t.Fatalf("want a PlanDriftError, got %v", err)
	}
	addr := "google_compute_instance." + spec.VMs[0].GCEName
	var found bool
	for _, d := range drift.Differences {
		found = found || d.Address == addr
	}
	if !found || !strings.Contains(err.Error(), addr) {
		t.Fatalf("the error does not name %s: %v (%+v)", addr, err, drift.Differences)
	}
	if n := len(fake.Resources(spec.Project, "instances")); n != 0 {
		t.Fatalf("a refused apply created %d instances", n)
	}
	// A forged approval hash names no record: refused, nothing applied.
	if _, err := r.Apply(ctx, "0123456789abcdef0123456789abcdef."+hashPart(sum.Hash, 1)); !errors.As(err, &drift) {
		t.Fatalf("unknown approval: want a PlanDriftError, got %v", err)
	}
	if _, err := r.Apply(ctx, "../../etc/passwd"); !errors.As(err, &drift) {
		t.Fatalf("malformed approval: want a PlanDriftError, got %v", err)
	}
	if n := len(fake.Resources(spec.Project, "instances")); n != 0 {
		t.Fatalf("a refused apply created %d instances", n)
	}
	if _, err := r.Apply(ctx, sum.Hash); err != nil {
		t.Fatalf("the approved plan: %v", err)
	}
}

// An object in the way that is not this app's (another team's health
// check with the same name) is never adopted: the apply stops with a
// ForeignObjectError naming it, and the object is left as it was.
func TestApplyRefusesForeignObject(t *testing.T) {
	fake, cfg, g := fakeEnv(t)
	ctx := context.Background()
	spec := specFor(t, "reports")
	name := gcename.HealthCheck(spec.Name)
	body, _ := json.Marshal(map[string]any{"name": name, "description": "owned by the payments team",
		"type": "TCP", "tcpHealthCheck": map[string]any{"port": 9999}})
	resp, err := http.Post(g.ComputeEndpoint+"projects/"+spec.Project+"/global/healthChecks", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create the foreign health check: %s", resp.Status)
	}
	r, sum := plannedRunner(t, cfg, g, spec)
	_, err = r.Apply(ctx, sum.Hash)
	var foreign *ForeignObjectError
	if !errors.As(err, &foreign) || foreign.Address != "google_compute_health_check.app" || !strings.Contains(err.Error(), name) {
		t.Fatalf("want a ForeignObjectError for %s, got %v", name, err)
	}
	var tfe *Error
	if !errors.As(err, &tfe) {
		t.Errorf("the foreign object error does not unwrap to the failed apply")
	}
	hcs := fake.Resources(spec.Project, "healthChecks")
	if len(hcs) != 1 {
		t.Fatalf("health checks: %+v", hcs)
	}
	tf, _ := r.tf()
	st, err := tf.Show(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Values != nil {
		for _, res := range st.Values.RootModule.Resources {
			if res.Address == "google_compute_health_check.app" {
				t.Fatal("the foreign health check was imported into the app's state")
			}
		}
	}
}

// A lock whose hash is not the mirror's provider makes terraform init
// refuse: every worker runs the locked provider or none.
func TestInitVerifiesProviderLock(t *testing.T) {
	_, cfg, g := fakeEnv(t)
	lock := filepath.Join(t.TempDir(), FileLock)
	l := ProviderLock{Version: "7.0.0", Constraints: DefaultProviderConstraint, Hashes: []string{"h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}
	if err := os.WriteFile(lock, l.LockFileBytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.LockFile = lock
	r, err := NewRunner(cfg, g, specFor(t, "reports"))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Init(context.Background())
	if err == nil || !strings.Contains(err.Error(), "checksums") {
		t.Fatalf("terraform init accepted a provider that does not match the lock: %v", err)
	}
	t.Logf("refused as expected: %v", err)
}

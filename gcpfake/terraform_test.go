package gcpfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/internal/testenv"
)

// tfRun is one terraform working directory against a fake.
type tfRun struct {
	t   *testing.T
	bin string
	env []string
	dir string
}

// newTFRun copies testdata/<module> into a temp dir and points it at s.
func newTFRun(t *testing.T, s *Server, module, project string) *tfRun {
	t.Helper()
	bin, cliConfig := testenv.Terraform(t)
	dir := t.TempDir()
	src := filepath.Join("testdata", module)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vars, _ := json.Marshal(map[string]string{
		"compute_endpoint": s.ComputeEndpoint(),
		"dns_endpoint":     s.DNSEndpoint(),
		"project":          project,
	})
	if err := os.WriteFile(filepath.Join(dir, "terraform.tfvars.json"), vars, 0o644); err != nil {
		t.Fatal(err)
	}
	env := os.Environ()
	for k, v := range testenv.TerraformEnv(cliConfig) {
		env = append(env, k+"="+v)
	}
	env = append(env, "CHECKPOINT_DISABLE=1")
	if p := os.Getenv("GCPFAKE_TF_LOG_DIR"); p != "" {
		env = append(env, "TF_LOG=DEBUG", "TF_LOG_PATH="+filepath.Join(p, t.Name()+".log"))
		_ = os.MkdirAll(filepath.Dir(filepath.Join(p, t.Name()+".log")), 0o755)
	}
	return &tfRun{t: t, bin: bin, env: env, dir: dir}
}

// run runs terraform and returns its exit code; stdout+stderr go to the
// test log on failure.
func (r *tfRun) run(args ...string) (int, string) {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Dir = r.dir
	cmd.Env = r.env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	}
	r.t.Fatalf("terraform %v: %v", args, err)
	return -1, ""
}

func (r *tfRun) must(args ...string) string {
	r.t.Helper()
	code, out := r.run(args...)
	if code != 0 {
		r.t.Fatalf("terraform %v exited %d:\n%s", args, code, out)
	}
	return out
}

// applyNoDiffDestroy is the whole life of a module: apply, a plan that
// must show no changes, destroy.
func (r *tfRun) apply(extra ...string) string {
	r.t.Helper()
	return r.must(append([]string{"apply", "-input=false", "-auto-approve", "-no-color"}, extra...)...)
}

func (r *tfRun) planNoDiff(extra ...string) {
	r.t.Helper()
	code, out := r.run(append([]string{"plan", "-input=false", "-detailed-exitcode", "-no-color"}, extra...)...)
	if code != 0 {
		r.t.Fatalf("plan after apply: exit %d (2 means a diff):\n%s", code, out)
	}
}

func (r *tfRun) destroy(extra ...string) {
	r.t.Helper()
	r.must(append([]string{"destroy", "-input=false", "-auto-approve", "-no-color"}, extra...)...)
}

// userResources counts the resources of a project beyond the default
// network a new project has.
func userResources(s *Server, project string) []Resource {
	var out []Resource
	for _, r := range s.Resources(project, "") {
		if r.Name == "default" && (r.Kind == "networks" || r.Kind == "subnetworks") {
			continue
		}
		out = append(out, r)
	}
	return out
}

func TestTerraformCore(t *testing.T) {
	s, err := Start(Options{}) // operations DONE at once; TestTerraformFull polls them
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const project = "ferry-core"
	tf := newTFRun(t, s, "core", project)
	tf.must("init", "-input=false", "-no-color")
	tf.apply()

	counts := map[string]int{}
	for _, r := range userResources(s, project) {
		counts[r.Kind]++
	}
	want := map[string]int{"instances": 2, "disks": 3, "firewalls": 1, "instanceGroups": 1, "healthChecks": 1, "backendServices": 1}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("after apply: %d %s, want %d (all: %v)", counts[k], k, n, counts)
		}
	}
	ig := s.Resources(project, "instanceGroups")[0]
	if len(ig.Members) != 2 {
		t.Errorf("instance group members = %v, want 2", ig.Members)
	}

	tf.planNoDiff()

	// In-place updates: metadata, labels, tags, firewall, health check.
	out := tf.apply("-var=generation=2")
	if !strings.Contains(out, "0 added, 4 changed, 0 destroyed") {
		t.Fatalf("update apply, want 4 in-place changes:\n%s", out)
	}
	tf.planNoDiff("-var=generation=2")
	inst := s.Resources(project, "instances")[0]
	if inst.Body["labels"].(map[string]any)["generation"] != "2" {
		t.Errorf("labels after update: %v", inst.Body["labels"])
	}
	// Drift: someone deletes the firewall rule by hand; terraform repairs it.
	if code, _, _ := do(t, "DELETE", s.ComputeEndpoint()+"projects/"+project+"/global/firewalls/billing-allow-http", ""); code != 200 {
		t.Fatalf("delete firewall: %d", code)
	}
	out = tf.apply("-var=generation=2")
	if !strings.Contains(out, "1 added, 0 changed, 0 destroyed") {
		t.Fatalf("drift repair, want 1 added:\n%s", out)
	}

	tf.destroy("-var=generation=2")
	if left := userResources(s, project); len(left) != 0 {
		t.Fatalf("after destroy, left behind: %+v", left)
	}
}

// TestTerraformFull applies every resource kind the fake serves, with the
// state in fake GCS, checks that refresh shows no diff (also after ferry-
// style weight shifts the module ignores), that the GCS lock is honoured,
// and that destroy leaves nothing behind.
func TestTerraformFull(t *testing.T) {
	s, err := Start(Options{OperationPolls: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const project = "ferry-full"
	s.CreateBucket("ferry-tfstate")
	tf := newTFRun(t, s, "full", project)
	if err := os.WriteFile(filepath.Join(tf.dir, "backend.tf"), []byte(`terraform {
  backend "gcs" {}
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	tf.must("init", "-input=false", "-no-color",
		"-backend-config=bucket=ferry-tfstate",
		"-backend-config=prefix=apps/billing",
		"-backend-config=access_token=gcpfake-token",
		"-backend-config=storage_custom_endpoint="+s.StorageEndpoint())
	tf.apply()

	want := map[string]int{
		"instances": 2, "disks": 3, "firewalls": 1, "instanceGroups": 1, "healthChecks": 1,
		"backendServices": 2, "networks": 1, "subnetworks": 1, "networkEndpointGroups": 1,
		"urlMaps": 1, "targetHttpProxies": 1, "forwardingRules": 1, "addresses": 1,
		"managedZones": 1, "rrsets": 4, // SOA, NS, A, WRR A
	}
	counts := map[string]int{}
	for _, r := range userResources(s, project) {
		counts[r.Kind]++
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("after apply: %d %s, want %d", counts[k], k, n)
		}
	}
	if len(counts) != len(want) {
		t.Errorf("after apply: kinds %v, want %v", counts, want)
	}
	neg := s.Resources(project, "networkEndpointGroups")[0]
	if len(neg.Members) != 2 {
		t.Errorf("NEG endpoints = %v, want 2", neg.Members)
	}
	if w, err := s.URLMapWeights(project, "billing-lb"); err != nil || w["billing-dc"] != 100 || w["billing-gcp"] != 0 {
		t.Errorf("URL map weights = %v, %v", w, err)
	}
	tf.planNoDiff()

	// The state lives in fake GCS.
	list, err := s.gcs.ListObjectsWithOptionsPaginated("ferry-tfstate", fakestorageListAll())
	if objs := list.Objects; err != nil || len(objs) != 1 || objs[0].Name != "apps/billing/default.tfstate" {
		t.Fatalf("state objects = %v, %v", list.Objects, err)
	}

	// ferry shifts traffic by patching the URL map; terraform ignores it.
	shiftWeights(t, s, project, "billing-lb", map[string]int{"billing-dc": 10, "billing-gcp": 90})
	tf.planNoDiff()
	if w, _ := s.URLMapWeights(project, "billing-lb"); w["billing-gcp"] != 90 {
		t.Fatalf("weights after plan = %v", w)
	}

	// A held lock stops terraform.
	putLock(t, s, "ferry-tfstate", "apps/billing/default.tflock")
	if code, out := tf.run("plan", "-input=false", "-no-color", "-lock-timeout=0s"); code == 0 || !strings.Contains(out, "lock") {
		t.Fatalf("plan under a held lock: exit %d:\n%s", code, out)
	}
	if err := s.gcs.Backend().DeleteObject("ferry-tfstate", "apps/billing/default.tflock"); err != nil {
		t.Fatal(err)
	}

	tf.destroy()
	if left := userResources(s, project); len(left) != 0 {
		for _, r := range left {
			t.Errorf("left behind: %s %s", r.Kind, r.Name)
		}
	}
}

package terraform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/terraform/gcename"
)

// DefaultLockTimeout is how long a run waits for another run's state lock.
const DefaultLockTimeout = 60 * time.Second

// PlanFile is the saved plan inside an app's working directory.
const PlanFile = "ferry.tfplan"

// Runner runs terraform for one app in its own working directory under
// Config.WorkRoot. Every call re-renders the module, so a runner on any
// worker works from the spec alone; the state lives in the backend.
type Runner struct {
	cfg         Config
	spec        plan.AppSpec
	opts        RenderOptions
	dir         string
	LockTimeout time.Duration
	// Progress receives apply and destroy progress (heartbeats).
	Progress func(Progress)
	// Owner is the activity attempt running terraform. With a gcs backend
	// the runner writes it next to the state while it runs (OwnerObject)
	// and force-unlocks a lock an earlier attempt of the same migration
	// left behind. Nil: no marker, no recovery.
	Owner *Owner
	// Recovered lists the stale locks this runner force-unlocked.
	Recovered []RecoveredLock
}

// NewRunner prepares the runner of one app.
func NewRunner(cfg Config, g gcp.Config, spec plan.AppSpec) (*Runner, error) {
	if cfg.Binary == "" {
		return nil, errors.New("terraform: no binary configured: set FERRY_TERRAFORM (or put terraform on PATH)")
	}
	if cfg.WorkRoot == "" {
		return nil, errors.New("terraform: no working root configured: set FERRY_STATE_DIR")
	}
	return &Runner{cfg: cfg, spec: spec, opts: RenderOptions{GCP: g},
		dir: filepath.Join(cfg.WorkRoot, "apps", gcename.Name(spec.Name, nil)), LockTimeout: DefaultLockTimeout}, nil
}

// Dir is the app's working directory.
func (r *Runner) Dir() string { return r.dir }

// Error is a failed terraform run with terraform's own diagnostics.
type Error struct {
	Op, App     string
	Diagnostics []Diagnostic
	Err         error
}

func (e *Error) Error() string {
	var parts []string
	seen := map[string]bool{}
	for _, d := range e.Diagnostics {
		if s := d.String(); !seen[s] {
			seen[s] = true
			parts = append(parts, s)
		}
	}
	msg := fmt.Sprintf("terraform %s of app %q failed", e.Op, e.App)
	if len(parts) > 0 {
		return msg + ": " + strings.Join(parts, "; ")
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// PlanDriftError says the plan no longer matches the approved one.
type PlanDriftError struct {
	App, Approved, Now string
	Summary            PlanSummary
}

func (e *PlanDriftError) Error() string {
	return fmt.Sprintf("terraform plan of app %q changed since it was approved (approved %s, now %s: %d to add, %d to change, %d to destroy): "+
		"retry the plan stage and approve the new plan", e.App, short(e.Approved), short(e.Now), e.Summary.Add, e.Summary.Change, e.Summary.Destroy)
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func (r *Runner) tf() (*tfexec.Terraform, error) {
	tf, err := tfexec.NewTerraform(r.dir, r.cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("terraform for app %q: %w", r.spec.Name, err)
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && !strings.HasPrefix(k, "TF_") {
			env[k] = v
		}
	}
	env["CHECKPOINT_DISABLE"] = "1"
	if r.cfg.CLIConfigFile != "" {
		env["TF_CLI_CONFIG_FILE"] = r.cfg.CLIConfigFile
	}
	if err := tf.SetEnv(env); err != nil {
		return nil, err
	}
	return tf, nil
}

func (r *Runner) lockTimeout() string { return fmt.Sprintf("%ds", int(r.LockTimeout/time.Second)) }

// Init renders the module into the working directory (removing stale
// files) and runs terraform init against the app's backend.
func (r *Runner) Init(ctx context.Context) error {
	defer r.claim(ctx)()
	return r.init(ctx)
}

func (r *Runner) init(ctx context.Context) error {
	files, err := Render(r.spec, r.opts)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("terraform working directory of app %q: %w", r.spec.Name, err)
	}
	old, _ := filepath.Glob(filepath.Join(r.dir, "*.tf"))
	for _, f := range old {
		if _, keep := files[filepath.Base(f)]; !keep {
			_ = os.Remove(f)
		}
	}
	for name, b := range files {
		if err := writeIfChanged(filepath.Join(r.dir, name), b); err != nil {
			return fmt.Errorf("write terraform module of app %q: %w", r.spec.Name, err)
		}
	}
	tf, err := r.tf()
	if err != nil {
		return err
	}
	// init takes no -lock-timeout, yet with a new gcs state it writes the
	// state under the lock: wait for a held lock here as plan and apply do.
	deadline := time.Now().Add(r.LockTimeout)
	for {
		s := newJSONStream(nil)
		err = tf.InitJSON(ctx, s, tfexec.Reconfigure(true), tfexec.Upgrade(false))
		s.close()
		err = r.fail("init", err, s.errors())
		var locked *LockedError
		if !errors.As(err, &locked) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

func writeIfChanged(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(b) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (r *Runner) fail(op string, err error, diags []Diagnostic) error {
	if err == nil {
		return nil
	}
	if l := lockError(r.spec.Name, diags); l != nil {
		return l
	}
	// init reports a refused lock (its first state write) on stderr only,
	// not as a JSON diagnostic: read the lock info from the error text.
	if msg := err.Error(); strings.Contains(msg, "Lock Info:") {
		if l := lockError(r.spec.Name, []Diagnostic{{Summary: "Error acquiring the state lock", Detail: msg}}); l != nil {
			return l
		}
	}
	// A lock refused (412 on the .tflock object) and released before
	// terraform could read who held it: report it as a lock whose holder is
	// gone, which the callers retry (see raced).
	texts := []string{err.Error()}
	for _, d := range diags {
		texts = append(texts, d.Summary+" "+d.Detail)
	}
	for _, t := range texts {
		if strings.Contains(t, ".tflock") && (strings.Contains(t, "412") || strings.Contains(t, "conditionNotMet")) {
			return &LockedError{App: r.spec.Name}
		}
	}
	return &Error{Op: op, App: r.spec.Name, Diagnostics: diags, Err: err}
}

// Plan runs terraform plan -out and summarises `show -json` of the saved
// plan. It returns the summary and the plan file's path.
func (r *Runner) Plan(ctx context.Context) (PlanSummary, string, error) {
	defer r.claim(ctx)()
	return r.initPlan(ctx)
}

func (r *Runner) initPlan(ctx context.Context) (PlanSummary, string, error) {
	if err := r.init(ctx); err != nil {
		return PlanSummary{}, "", err
	}
	return r.plan(ctx, false)
}

func (r *Runner) plan(ctx context.Context, destroy bool) (PlanSummary, string, error) {
	tf, err := r.tf()
	if err != nil {
		return PlanSummary{}, "", err
	}
	out := filepath.Join(r.dir, PlanFile)
	err = r.untilLockSettles(ctx, func() error {
		s := newJSONStream(nil)
		_, err := tf.PlanJSON(ctx, s, tfexec.Out(out), tfexec.LockTimeout(r.lockTimeout()), tfexec.Destroy(destroy))
		s.close()
		return r.fail("plan", err, s.errors())
	})
	if err != nil {
		return PlanSummary{}, "", err
	}
	p, err := tf.ShowPlanFile(ctx, out)
	if err != nil {
		return PlanSummary{}, "", r.fail("show", err, nil)
	}
	sum, err := summarise(p, r.configHash())
	if err != nil {
		return PlanSummary{}, "", fmt.Errorf("summarise terraform plan of app %q: %w", r.spec.Name, err)
	}
	return sum, out, nil
}

func (r *Runner) configHash() string {
	files, err := Render(r.spec, r.opts)
	if err != nil {
		return ""
	}
	h := sha256.New()
	for _, n := range sortedKeys(files) {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// ApplyResult is what an apply did and what now exists.
type ApplyResult struct {
	Summary    PlanSummary
	Changed    bool
	Resumed    bool              // a partial earlier apply was completed
	InstanceIP map[string]string // GCE name -> internal IP
	Outputs    map[string]string
}

// Apply re-renders and re-plans the app, then applies that saved plan only
// if it is the approved one: same hash, or — after an interrupted apply —
// the same module with nothing left to do but create or update toward it.
// Applying an applied app changes nothing.
func (r *Runner) Apply(ctx context.Context, approvedHash string) (ApplyResult, error) {
	defer r.claim(ctx)()
	sum, file, err := r.initPlan(ctx)
	if err != nil {
		return ApplyResult{}, err
	}
	res := ApplyResult{Summary: sum}
	if !sum.HasChanges() {
		return r.withOutputs(ctx, res)
	}
	if sum.Hash != approvedHash {
		approvedCfg := hashPart(approvedHash, 1)
		if approvedCfg == "" || approvedCfg != hashPart(sum.Hash, 1) || sum.Destroy > 0 {
			return res, &PlanDriftError{App: r.spec.Name, Approved: approvedHash, Now: sum.Hash, Summary: sum}
		}
		res.Resumed = true
	}
	if err := r.applyFile(ctx, file); err != nil {
		var tfe *Error
		adopt := []string(nil)
		if errors.As(err, &tfe) && ctx.Err() == nil {
			adopt = orphans(tfe.Diagnostics)
		}
		if len(adopt) == 0 {
			return res, err
		}
		res.Resumed = true
		if _, err := r.adoptAndApply(ctx, adopt); err != nil {
			return res, err
		}
	}
	res.Changed = true
	return r.withOutputs(ctx, res)
}

func (r *Runner) applyFile(ctx context.Context, file string) error {
	tf, err := r.tf()
	if err != nil {
		return err
	}
	return r.untilLockSettles(ctx, func() error {
		s := newJSONStream(r.Progress)
		err := tf.ApplyJSON(ctx, s, tfexec.DirOrPlan(file), tfexec.LockTimeout(r.lockTimeout()))
		s.close()
		return r.fail("apply", err, s.errors())
	})
}

// raced reports a lock refusal whose holder vanished before terraform could
// read its lock info: the lock was released in between, so trying again is
// safe (terraform gives up at once in that case, whatever -lock-timeout).
func raced(err error) bool {
	var l *LockedError
	return errors.As(err, &l) && l.ID == "" && l.Who == ""
}

// untilLockSettles runs op again while it loses that race, until the lock
// timeout.
func (r *Runner) untilLockSettles(ctx context.Context, op func() error) error {
	deadline := time.Now().Add(r.LockTimeout)
	for {
		err := op()
		if !raced(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (r *Runner) withOutputs(ctx context.Context, res ApplyResult) (ApplyResult, error) {
	tf, err := r.tf()
	if err != nil {
		return res, err
	}
	outs, err := tf.Output(ctx)
	if err != nil {
		return res, r.fail("output", err, nil)
	}
	res.Outputs = map[string]string{}
	for k, o := range outs {
		if k == "instance_ips" {
			_ = json.Unmarshal(o.Value, &res.InstanceIP)
			continue
		}
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			res.Outputs[k] = s
		}
	}
	return res, nil
}

// Destroy removes everything the app's state holds and reports how many
// resources went.
func (r *Runner) Destroy(ctx context.Context) (int, error) {
	defer r.claim(ctx)()
	if err := r.init(ctx); err != nil {
		return 0, err
	}
	tf, err := r.tf()
	if err != nil {
		return 0, err
	}
	s := newJSONStream(r.Progress)
	err = tf.DestroyJSON(ctx, s, tfexec.LockTimeout(r.lockTimeout()))
	s.close()
	if err := r.fail("destroy", err, s.errors()); err != nil {
		return s.deleted, err
	}
	return s.deleted, nil
}

// PlanSummary is terraform's plan as evidence for the approve-plan gate.
type PlanSummary struct {
	Add, Change, Destroy int
	Resources            []string // "create google_compute_instance.web-1"
	MachineTypes         []string // "web-1: e2-standard-2"
	MonthlyUSDDelta      float64
	// Hash is "<changes>.<module>": a hash of the resource changes and of
	// the rendered module.
	Hash string
}

// HasChanges reports whether applying would change anything.
func (s PlanSummary) HasChanges() bool { return s.Add+s.Change+s.Destroy > 0 }

func hashPart(h string, i int) string {
	parts := strings.Split(h, ".")
	if len(parts) != 2 {
		return ""
	}
	return parts[i]
}

type hashedChange struct {
	Address      string   `json:"address"`
	Actions      []string `json:"actions"`
	Before       any      `json:"before"`
	After        any      `json:"after"`
	AfterUnknown any      `json:"afterUnknown"`
}

func summarise(p *tfjson.Plan, configHash string) (PlanSummary, error) {
	var s PlanSummary
	var hashed []hashedChange
	for _, rc := range p.ResourceChanges {
		if rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode {
			continue
		}
		a := rc.Change.Actions
		var verb string
		switch {
		case a.Create():
			s.Add++
			verb = "create"
		case a.Update():
			s.Change++
			verb = "update"
		case a.Delete():
			s.Destroy++
			verb = "delete"
		case a.Replace():
			s.Add++
			s.Destroy++
			verb = "replace"
		default:
			continue // no-op, read
		}
		s.Resources = append(s.Resources, verb+" "+rc.Address)
		before, after := costOf(rc.Type, rc.Change.Before), costOf(rc.Type, rc.Change.After)
		if a.Delete() {
			after = 0
		}
		s.MonthlyUSDDelta += after - before
		if rc.Type == "google_compute_instance" && !a.Delete() {
			if m, ok := rc.Change.After.(map[string]any); ok {
				s.MachineTypes = append(s.MachineTypes, fmt.Sprintf("%s: %v", m["name"], m["machine_type"]))
			}
		}
		var acts []string
		for _, x := range a {
			acts = append(acts, string(x))
		}
		hashed = append(hashed, hashedChange{rc.Address, acts, rc.Change.Before, rc.Change.After, rc.Change.AfterUnknown})
	}
	sort.Strings(s.Resources)
	sort.Strings(s.MachineTypes)
	sort.Slice(hashed, func(i, j int) bool { return hashed[i].Address < hashed[j].Address })
	b, err := json.Marshal(hashed)
	if err != nil {
		return s, err
	}
	sum := sha256.Sum256(b)
	s.Hash = hex.EncodeToString(sum[:])[:32] + "." + configHash
	s.MonthlyUSDDelta = float64(int64(s.MonthlyUSDDelta*100)) / 100
	return s, nil
}

// costOf estimates the monthly cost of an instance or disk value from a
// plan (machine type, boot disk, disk size and type).
func costOf(typ string, v any) float64 {
	m, ok := v.(map[string]any)
	if !ok {
		return 0
	}
	switch typ {
	case "google_compute_instance":
		var c float64
		if mt, err := plan.LookupMachineType(fmt.Sprint(m["machine_type"])); err == nil {
			c += mt.MonthlyUSD()
		}
		if bd, ok := m["boot_disk"].([]any); ok && len(bd) > 0 {
			if ip, ok := bd[0].(map[string]any)["initialize_params"].([]any); ok && len(ip) > 0 {
				p := ip[0].(map[string]any)
				c += plan.DiskMonthlyUSD(fmt.Sprint(p["type"]), toInt(p["size"]))
			}
		}
		return c
	case "google_compute_disk":
		return plan.DiskMonthlyUSD(fmt.Sprint(m["type"]), toInt(m["size"]))
	}
	return 0
}

func toInt(v any) int64 {
	if f, ok := v.(float64); ok {
		return int64(f)
	}
	return 0
}

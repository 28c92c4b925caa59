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

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/plan"
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
	opts := RenderOptions{GCP: g}
	lock, err := lockFile(cfg, opts.constraint())
	if err != nil {
		return nil, fmt.Errorf("terraform for app %q: %w", spec.Name, err)
	}
	opts.LockFile = lock
	return &Runner{cfg: cfg, spec: spec, opts: opts,
		dir: filepath.Join(cfg.WorkRoot, "apps", gcename.Name(spec.Name, nil)), LockTimeout: DefaultLockTimeout}, nil
}

// lockFile is the provider lock file every module of this worker gets:
// the configured one, or one built from the filesystem mirror.
func lockFile(cfg Config, constraint string) ([]byte, error) {
	if cfg.LockFile != "" {
		b, err := os.ReadFile(cfg.LockFile)
		if err != nil {
			return nil, fmt.Errorf("provider lock file (FERRY_TERRAFORM_LOCK_FILE): %w", err)
		}
		return b, nil
	}
	if cfg.CLIConfigFile == "" {
		return nil, nil
	}
	if m, err := mirrorPath(cfg.CLIConfigFile); err != nil || m == "" {
		return nil, err // no filesystem mirror: terraform init locks what it installs
	}
	l, err := MirrorLock(cfg.CLIConfigFile, constraint)
	if err != nil {
		return nil, err
	}
	return l.LockFileBytes(), nil
}

// Dir is the app's working directory.
func (r *Runner) Dir() string { return r.dir }

func (r *Runner) tf() (*tfexec.Terraform, error) {
	tf, err := tfexec.NewTerraform(r.dir, r.cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("terraform for app %q: %w", r.spec.Name, err)
	}
	if err := setEnv(tf, r.cfg); err != nil {
		return nil, fmt.Errorf("terraform environment for app %q: %w", r.spec.Name, err)
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
		if err == nil {
			err = r.lockKept(files[FileLock])
		}
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

// lockKept checks that terraform init verified the provider against the
// lock file rather than rewriting it (which it does for a provider the
// lock does not cover).
func (r *Runner) lockKept(want []byte) error {
	if want == nil {
		return nil
	}
	got, err := os.ReadFile(filepath.Join(r.dir, FileLock))
	if err == nil && string(got) == string(want) {
		return nil
	}
	return fmt.Errorf("terraform init of app %q rewrote the provider lock file %s: the provider it selected is not the locked one; "+
		"check the constraint and the provider mirror (make tools) or FERRY_TERRAFORM_LOCK_FILE", r.spec.Name, FileLock)
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
// plan. It records the plan's full change set next to the state under the
// summary's hash, for the apply of that approval. It returns the summary
// and the plan file's path.
func (r *Runner) Plan(ctx context.Context) (PlanSummary, string, error) {
	defer r.claim(ctx)()
	p, err := r.initPlan(ctx)
	if err != nil {
		return PlanSummary{}, "", err
	}
	if err := r.saveChanges(ctx, p.sum.Hash, p.changes); err != nil {
		return PlanSummary{}, "", err
	}
	return p.sum, p.file, nil
}

// planned is one terraform plan: its summary, saved file and change set.
type planned struct {
	sum     PlanSummary
	file    string
	changes ChangeSet
}

func (r *Runner) initPlan(ctx context.Context) (planned, error) {
	if err := r.init(ctx); err != nil {
		return planned{}, err
	}
	return r.plan(ctx, false)
}

func (r *Runner) plan(ctx context.Context, destroy bool) (planned, error) {
	tf, err := r.tf()
	if err != nil {
		return planned{}, err
	}
	out := filepath.Join(r.dir, PlanFile)
	err = r.untilLockSettles(ctx, func() error {
		s := newJSONStream(nil)
		_, err := tf.PlanJSON(ctx, s, tfexec.Out(out), tfexec.LockTimeout(r.lockTimeout()), tfexec.Destroy(destroy))
		s.close()
		return r.fail("plan", err, s.errors())
	})
	if err != nil {
		return planned{}, err
	}
	p, err := tf.ShowPlanFile(ctx, out)
	if err != nil {
		return planned{}, r.fail("show", err, nil)
	}
	sum, changes, err := summarise(p, r.configHash())
	if err != nil {
		return planned{}, fmt.Errorf("summarise terraform plan of app %q: %w", r.spec.Name, err)
	}
	return planned{sum: sum, file: out, changes: changes}, nil
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
// if it is the approved one: the same full change set (hash), or — after
// an interrupted apply — the same module with what is left of the approved
// change set (Refines). Objects an interrupted apply created but did not
// save are adopted when labelled as this app's. Anything else is a
// PlanDriftError naming the differences. Applying an applied app changes
// nothing.
func (r *Runner) Apply(ctx context.Context, approvedHash string) (ApplyResult, error) {
	defer r.claim(ctx)()
	p, err := r.initPlan(ctx)
	if err != nil {
		return ApplyResult{}, err
	}
	res := ApplyResult{Summary: p.sum}
	if !p.sum.HasChanges() {
		return r.withOutputs(ctx, res)
	}
	approved := p.changes
	if p.sum.Hash != approvedHash {
		if approved, err = r.approvedChanges(ctx, approvedHash, p); err != nil {
			return res, err
		}
		if ok, diffs := Refines(p.changes, approved); !ok {
			return res, r.drift(approvedHash, p, diffs, "")
		}
		res.Resumed = true
	}
	if err := r.applyFile(ctx, p.file); err != nil {
		var tfe *Error
		adopt := []string(nil)
		if errors.As(err, &tfe) && ctx.Err() == nil {
			adopt = orphans(tfe.Diagnostics)
		}
		if len(adopt) == 0 {
			return res, err
		}
		res.Resumed = true
		if err := r.adoptAndApply(ctx, adopt, approvedHash, approved, tfe); err != nil {
			return res, err
		}
	}
	res.Changed = true
	return r.withOutputs(ctx, res)
}

// approvedChanges reads the approved change set for a plan p whose hash
// differs from the approved one; a different module, or no record, is
// drift already.
func (r *Runner) approvedChanges(ctx context.Context, approvedHash string, p planned) (ChangeSet, error) {
	if cfg := hashPart(approvedHash, 1); cfg == "" || cfg != hashPart(p.sum.Hash, 1) {
		return nil, r.drift(approvedHash, p, Diff(nil, p.changes), "the rendered module (resources, provider or its lock) differs from the approved one")
	}
	approved, err := r.loadChanges(ctx, approvedHash)
	if errors.Is(err, errNoRecord) {
		return nil, r.drift(approvedHash, p, Diff(nil, p.changes), "the approved plan's change set is not on record next to the state, so the difference cannot be shown")
	}
	return approved, err
}

func (r *Runner) drift(approvedHash string, p planned, diffs []ResourceDiff, why string) error {
	return &PlanDriftError{App: r.spec.Name, Approved: approvedHash, Now: p.sum.Hash, Summary: p.sum, Differences: diffs, Why: why}
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
	// Hash is "<changes>.<module>": the hash of the full change set (every
	// resource's actions and attributes, see ChangeSet.Hash) and of the
	// rendered module, provider lock file included.
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

func summarise(p *tfjson.Plan, configHash string) (PlanSummary, ChangeSet, error) {
	var s PlanSummary
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
	}
	sort.Strings(s.Resources)
	sort.Strings(s.MachineTypes)
	changes := changesOf(p)
	h, err := changes.Hash()
	if err != nil {
		return s, nil, err
	}
	s.Hash = h + "." + configHash
	s.MonthlyUSDDelta = float64(int64(s.MonthlyUSDDelta*100)) / 100
	return s, changes, nil
}

// costOf estimates the monthly cost of an instance, disk or forwarding
// rule value from a plan, priced in the region of its zone (GCE catalogue
// snapshot): machine type, Windows Server licence for a windows-cloud
// image, boot disk; disk size and type; a forwarding rule alone.
func costOf(typ string, v any) float64 {
	m, ok := v.(map[string]any)
	if !ok {
		return 0
	}
	region := regionOfZone(fmt.Sprint(m["zone"]))
	switch typ {
	case "google_compute_instance":
		guest, diskType, diskGB := "linuxGuest", "", int64(0)
		if bd, ok := m["boot_disk"].([]any); ok && len(bd) > 0 {
			if ip, ok := bd[0].(map[string]any)["initialize_params"].([]any); ok && len(ip) > 0 {
				p := ip[0].(map[string]any)
				diskType, diskGB = fmt.Sprint(p["type"]), toInt(p["size"])
				if strings.Contains(fmt.Sprint(p["image"]), "windows-cloud") {
					guest = "windowsGuest"
				}
			}
		}
		return plan.EstimateVM(fmt.Sprint(m["machine_type"]), region, guest, diskType, diskGB).Total
	case "google_compute_disk":
		return plan.DiskMonthlyUSDIn(fmt.Sprint(m["type"]), region, toInt(m["size"]))
	case "google_compute_global_forwarding_rule", "google_compute_forwarding_rule":
		return plan.ForwardingRulesMonthlyUSD(1)
	}
	return 0
}

// regionOfZone is "europe-west1" for "europe-west1-b"; "" (priced as
// us-central1) when v is not a zone.
func regionOfZone(zone string) string {
	if i := strings.LastIndex(zone, "-"); i > 0 && zone != "<nil>" {
		return zone[:i]
	}
	return ""
}

func toInt(v any) int64 {
	if f, ok := v.(float64); ok {
		return int64(f)
	}
	return 0
}

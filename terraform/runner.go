package terraform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/plan"
)

// DefaultLockTimeout is how long a run waits for another run's state lock.
const DefaultLockTimeout = 60 * time.Second

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

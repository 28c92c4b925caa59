package terraform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
)

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

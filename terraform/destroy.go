package terraform

import (
	"context"

	"github.com/hashicorp/terraform-exec/tfexec"
)

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

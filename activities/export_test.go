package activities

import "context"

// MigratedFromVisibility is what CheckDependencies counts as already on
// GCP, for the external tests that run it inside a real worker.
func MigratedFromVisibility(ctx context.Context, a *Activities) ([]string, string) {
	return a.migrated(ctx, nil)
}

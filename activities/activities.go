// Package activities holds every side effect of a migration: reading
// vCenter, running terraform, shifting traffic, running hooks, notifying.
// Workflows call the methods of *Activities by method value; the worker registers one
// instance built from its own environment, so secrets stay in the worker.
package activities

import (
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/hooks"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/notify"
	"github.com/ferrymigrate/ferry/terraform"
	"github.com/ferrymigrate/ferry/traffic"
)

// Activities holds the dependencies of every activity.
type Activities struct {
	VCenter   inventory.Config
	GCP       gcp.Config
	Terraform terraform.Config
	Traffic   traffic.Config
	Hooks     hooks.Config
	Notify    notify.Config
	// Flows are connection record files (NSX, NetFlow, ss) read by the
	// dependency check.
	Flows []string
	// Plans is the worker's store of reviewed plans: every spec an
	// activity acts on comes from it, never from its input.
	Plans Plans
	// Visibility tells the dependency check which apps are already on
	// GCP (their migration is Done); nil uses the worker's own Temporal
	// client (activity.GetClient).
	Visibility Visibility
}

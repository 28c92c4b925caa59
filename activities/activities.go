// Package activities holds every side effect of a migration: reading
// vCenter, running terraform, shifting traffic, running hooks, notifying.
// Workflows reference the methods of *Activities; the worker registers one
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
}

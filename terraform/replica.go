package terraform

import (
	"fmt"

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/plan"
)

// replicaOf returns the replication of v when the app's data is
// "replicate": its instance then boots from the disk Migrate to Virtual
// Machines cut over (gcename.ReplicaDisk) and attaches the others, instead
// of an image and empty data disks.
func replicaOf(spec plan.AppSpec, v *plan.VMSpec) *plan.ReplicaVM {
	rs := spec.Data.Replicate
	if spec.Data.Strategy != plan.DataReplicate || rs == nil {
		return nil
	}
	for i := range rs.VMs {
		if rs.VMs[i].Ref == v.Ref {
			return &rs.VMs[i]
		}
	}
	return nil
}

// replicaDisks attaches the cut-over disks by selfLink. They are not
// terraform's: destroying the instance keeps them (auto_delete = false),
// and the replication cleanup deletes them when a rollback says so.
func (r *renderer) replicaDisks(w *tw, v *plan.VMSpec, rep *plan.ReplicaVM) {
	link := func(i int) string {
		return fmt.Sprintf("%sprojects/%s/zones/%s/disks/%s", computeSelfLinkBase, r.spec.Project, v.Zone, gcename.ReplicaDisk(v.GCEName, i))
	}
	w.block("boot_disk")
	w.boolean("auto_delete", false)
	w.str("source", link(0))
	w.end()
	for i := 1; i < rep.Disks; i++ {
		w.block("attached_disk")
		w.str("source", link(i))
		w.end()
	}
}

// computeSelfLinkBase is the prefix of Compute Engine selfLinks, the form
// the provider stores (another form shows as a diff).
const computeSelfLinkBase = "https://www.googleapis.com/compute/v1/"

package activities

// Estate-wide replication caps. Waves run as independent workflows on any
// number of workers, so no worker's memory can hold the count: before a
// replication starts, the activity counts the MigratingVms the service
// itself lists (every source of the plan's host project and location) and
// groups them by the labels ferry puts on each (ferry-host, ferry-ds-*)
// and by source. The service is the only shared record, and it survives
// worker kills. A start that would exceed a cap is not made; the activity
// fails with the retryable reason replication-capacity and the workflow's
// retry policy tries again later, so any number of waves queue on the same
// caps. Two workers may count at the same instant and both start: each
// recounts after its start, and the youngest replications beyond the cap
// pause again (the per-project cap of 200 is enforced by the service too).

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/plan"
)

// counted reports whether a MigratingVm holds one of the service's active
// replications (started, not yet finalized).
func counted(st vmmigrationpb.MigratingVm_State) bool {
	switch st {
	case vmmigrationpb.MigratingVm_FIRST_SYNC, vmmigrationpb.MigratingVm_ACTIVE, vmmigrationpb.MigratingVm_PAUSED,
		vmmigrationpb.MigratingVm_CUTTING_OVER, vmmigrationpb.MigratingVm_FINAL_SYNC, vmmigrationpb.MigratingVm_CUTOVER,
		vmmigrationpb.MigratingVm_FINALIZING:
		return true
	}
	return false
}

// loading reports whether a MigratingVm reads its source now or between
// cycles: what the vCenter, host and datastore caps limit.
func loading(st vmmigrationpb.MigratingVm_State) bool {
	switch st {
	case vmmigrationpb.MigratingVm_FIRST_SYNC, vmmigrationpb.MigratingVm_ACTIVE,
		vmmigrationpb.MigratingVm_CUTTING_OVER, vmmigrationpb.MigratingVm_FINAL_SYNC:
		return true
	}
	return false
}

type member struct {
	name  string
	since time.Time // start of the first sync (zero: long replicating)
}

// estate is one count of the replications that share the caps.
type estate struct {
	project int
	groups  map[string][]member // "source S", "host H", "datastore D" -> loading replications
}

func (r *replication) census(ctx context.Context) (*estate, error) {
	e := &estate{groups: map[string][]member{}}
	parent := fmt.Sprintf("projects/%s/locations/%s", r.rs.HostProject, r.rs.Location)
	for src, err := range r.api.ListSources(ctx, &vmmigrationpb.ListSourcesRequest{Parent: parent}).All() {
		if err != nil {
			return nil, m2vmError(err, "list sources of "+parent)
		}
		for mv, err := range r.api.ListMigratingVms(ctx, &vmmigrationpb.ListMigratingVmsRequest{Parent: src.GetName(), PageSize: 500}).All() {
			if err != nil {
				return nil, m2vmError(err, "list MigratingVms of "+src.GetName())
			}
			if counted(mv.GetState()) {
				e.project++
			}
			if !loading(mv.GetState()) {
				continue
			}
			m := member{name: mv.GetName()}
			if mv.GetState() == vmmigrationpb.MigratingVm_FIRST_SYNC {
				m.since = mv.GetStateTime().AsTime()
			}
			e.groups["source "+src.GetName()] = append(e.groups["source "+src.GetName()], m)
			for k, v := range mv.GetLabels() {
				switch {
				case k == "ferry-host":
					e.groups["host "+v] = append(e.groups["host "+v], m)
				case len(k) > 9 && k[:9] == "ferry-ds-":
					e.groups["datastore "+k[9:]] = append(e.groups["datastore "+k[9:]], m)
				}
			}
		}
	}
	return e, nil
}

// caps are the groups vm belongs to, with their limits (0: none).
func caps(l plan.ReplicationLimits, vm plan.ReplicaVM) map[string]int {
	out := map[string]int{}
	if l.PerSource > 0 {
		out["source "+vm.Source] = l.PerSource
	}
	if l.PerHost > 0 && vm.Host != "" {
		out["host "+gcename.Name(vm.Host, nil)] = l.PerHost
	}
	if l.PerDatastore > 0 {
		for _, ds := range vm.Datastores {
			out["datastore "+gcename.Name("ferry-ds-"+ds, nil)[9:]] = l.PerDatastore
		}
	}
	return out
}

func others(ms []member, self string) int {
	n := 0
	for _, m := range ms {
		if m.name != self {
			n++
		}
	}
	return n
}

// full says which cap leaves no room for self to start, or "".
func (e *estate) full(l plan.ReplicationLimits, vm plan.ReplicaVM, self string) string {
	if l.PerProject > 0 && e.project >= l.PerProject {
		return fmt.Sprintf("project: %d of %d active replications", e.project, l.PerProject)
	}
	for _, g := range slices.Sorted(maps.Keys(caps(l, vm))) {
		limit := caps(l, vm)[g]
		if n := others(e.groups[g], self); n >= limit {
			return fmt.Sprintf("%s: %d of %d replications running", g, n, limit)
		}
	}
	return ""
}

// over says which cap self (just started) exceeds as one of the youngest
// replications beyond it, or "".
func (e *estate) over(l plan.ReplicationLimits, vm plan.ReplicaVM, self string) string {
	c := caps(l, vm)
	for _, g := range slices.Sorted(maps.Keys(c)) {
		ms := append([]member(nil), e.groups[g]...)
		if len(ms) <= c[g] {
			continue
		}
		sort.Slice(ms, func(i, j int) bool {
			if !ms[i].since.Equal(ms[j].since) {
				return ms[i].since.Before(ms[j].since)
			}
			return ms[i].name < ms[j].name
		})
		for _, m := range ms[c[g]:] {
			if m.name == self {
				return fmt.Sprintf("%s: %d replications started at once for a cap of %d", g, len(ms), c[g])
			}
		}
	}
	return ""
}

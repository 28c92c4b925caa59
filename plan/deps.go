package plan

import (
	"strings"

	"github.com/ferrymigrate/ferry/deps"
)

// depsView is what dependency mapping contributes to the plan.
type depsView struct {
	inboundPorts map[string][]deps.Port // VM ref -> ports it serves
	dependsOn    map[string][]string    // app -> apps it calls
	waves        [][]string             // suggested move order
}

func viewDeps(r *deps.Result) *depsView {
	v := &depsView{inboundPorts: map[string][]deps.Port{}, dependsOn: map[string][]string{}}
	if r == nil {
		return v
	}
	v.inboundPorts = r.InboundPorts
	external := map[string]bool{}
	for _, n := range r.Apps {
		if n.External || n.Kind != deps.KindApp {
			external[n.ID] = true
		}
	}
	for _, e := range r.Edges {
		if e.App != "" || external[e.To] || external[e.From] || strings.Contains(e.To, ":") {
			continue
		}
		v.dependsOn[e.From] = append(v.dependsOn[e.From], e.To)
	}
	for _, w := range r.Waves {
		v.waves = append(v.waves, w.Apps)
	}
	return v
}

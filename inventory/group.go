package inventory

import (
	"regexp"
	"slices"
	"strings"
)

// How an app was recognised, in order of precedence.
const (
	MatchedByTag       = "tag"
	MatchedByAttribute = "attribute"
	MatchedByName      = "name"
)

var matchRank = map[string]int{MatchedByTag: 0, MatchedByAttribute: 1, MatchedByName: 2}

// group assigns each VM (already sorted) to an app, first match wins: tag,
// attribute, naming rule. VMs that match nothing are listed in Unassigned.
func group(vms []VM, o Options, rule *regexp.Regexp) *Inventory {
	inv := &Inventory{Schema: SchemaVersion, Apps: []App{}, VMs: vms, Unassigned: []string{}}
	idx := map[string]int{}
	for i := range vms {
		v := &vms[i]
		app, by := appOf(v, o, rule)
		if app == "" {
			inv.Unassigned = append(inv.Unassigned, v.Ref)
			continue
		}
		v.App = app
		j, ok := idx[app]
		if !ok {
			j = len(inv.Apps)
			idx[app] = j
			inv.Apps = append(inv.Apps, App{Name: app, MatchedBy: by})
		}
		a := &inv.Apps[j]
		if matchRank[by] < matchRank[a.MatchedBy] {
			a.MatchedBy = by
		}
		a.VMs = append(a.VMs, v.Ref)
		// The first VM (in name order) that carries a field sets it.
		fill := func(dst *string, key string) {
			if *dst == "" {
				*dst = lookup(v, key)
			}
		}
		fill(&a.Owner, o.OwnerCategory)
		fill(&a.Squad, o.SquadCategory)
		fill(&a.Tier, o.TierCategory)
		fill(&a.Runbook, o.RunbookCategory)
		for _, d := range lookupAll(v, o.DependsOnCategory) {
			if d != app && !slices.Contains(a.DependsOn, d) {
				a.DependsOn = append(a.DependsOn, d)
			}
		}
	}
	for i := range inv.Apps {
		slices.Sort(inv.Apps[i].DependsOn)
	}
	slices.SortFunc(inv.Apps, func(a, b App) int { return strings.Compare(a.Name, b.Name) })
	return inv
}

func appOf(v *VM, o Options, rule *regexp.Regexp) (string, string) {
	if t := v.Tags[o.AppCategory]; len(t) > 0 {
		return t[0], MatchedByTag
	}
	if a := strings.TrimSpace(v.CustomAttributes[o.AppAttribute]); a != "" {
		return a, MatchedByAttribute
	}
	if rule != nil {
		if m := rule.FindStringSubmatch(v.Name); m != nil {
			if app := m[rule.SubexpIndex("app")]; app != "" {
				return app, MatchedByName
			}
		}
	}
	return "", ""
}

// lookup reads a field from a tag category, else from a custom attribute.
func lookup(v *VM, key string) string {
	if t := v.Tags[key]; len(t) > 0 {
		return t[0]
	}
	return strings.TrimSpace(v.CustomAttributes[key])
}

func lookupAll(v *VM, key string) []string {
	if t := v.Tags[key]; len(t) > 0 {
		return t
	}
	var out []string
	for _, s := range strings.Split(v.CustomAttributes[key], ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

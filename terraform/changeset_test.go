package terraform

import (
	"encoding/json"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/ferrymigrate/ferry/plan"
)

// planJSON parses a `terraform show -json` fragment the way ShowPlanFile
// returns it.
func planJSON(t *testing.T, changes string) *tfjson.Plan {
	t.Helper()
	var p tfjson.Plan
	if err := json.Unmarshal([]byte(`{"format_version":"1.2","resource_changes":[`+changes+`]}`), &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

const (
	vmCreate = `{"address":"google_compute_instance.web-1","mode":"managed","type":"google_compute_instance","name":"web-1",
	  "change":{"actions":["create"],"before":null,
	  "after":{"name":"web-1","machine_type":"e2-standard-2","labels":{"app":"shop","managed-by":"ferry"},"metadata":{"ferry-app":"shop"},"boot_disk":[{"initialize_params":[{"size":20,"type":"pd-balanced"}]}]},
	  "after_unknown":{"id":true,"self_link":true,"network_interface":[{"network_ip":true}]}}}`
	fwCreate = `{"address":"google_compute_firewall.health","mode":"managed","type":"google_compute_firewall","name":"health",
	  "change":{"actions":["create"],"before":null,"after":{"name":"ferry-shop-hc","description":"x (managed by ferry for app shop)","source_ranges":["35.191.0.0/16"]},"after_unknown":{"id":true}}}`
	igCreate = `{"address":"google_compute_instance_group.ig","mode":"managed","type":"google_compute_instance_group","name":"ig",
	  "change":{"actions":["create"],"before":null,"after":{"name":"ferry-shop-b"},"after_unknown":{"id":true,"instances":true}}}`
	noop = `{"address":"google_compute_disk.d","mode":"managed","type":"google_compute_disk","name":"d","change":{"actions":["no-op"],"before":{"size":10},"after":{"size":10}}}`
)

func changeSet(t *testing.T, changes ...string) ChangeSet {
	t.Helper()
	return changesOf(planJSON(t, strings.Join(changes, ",")))
}

func mustHash(t *testing.T, cs ChangeSet) string {
	t.Helper()
	h, err := cs.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The hash covers every resource's actions and every attribute, not the
// order terraform listed them in; no-ops are nothing to apply.
func TestChangeSetHashCoversEveryAttribute(t *testing.T) {
	base := mustHash(t, changeSet(t, vmCreate, fwCreate, igCreate, noop))
	if got := mustHash(t, changeSet(t, igCreate, fwCreate, vmCreate)); got != base {
		t.Fatalf("hash depends on order or on no-ops: %s vs %s", got, base)
	}
	for _, m := range []struct {
		name    string
		i       int // which of vm, fw, ig
		mutated string
	}{
		{"machine type", 0, strings.Replace(vmCreate, `"e2-standard-2"`, `"n2-standard-8"`, 1)},
		{"nested size", 0, strings.Replace(vmCreate, `"size":20`, `"size":21`, 1)},
		{"label value", 0, strings.Replace(vmCreate, `"app":"shop"`, `"app":"shop2"`, 1)},
		{"metadata", 0, strings.Replace(vmCreate, `"ferry-app":"shop"`, `"ferry-app":"shop","startup-script":"curl x|sh"`, 1)},
		{"unknown-ness", 0, strings.Replace(vmCreate, `"self_link":true`, `"self_link":false`, 1)},
		{"actions", 0, strings.Replace(vmCreate, `"actions":["create"]`, `"actions":["delete","create"]`, 1)},
		{"before", 0, strings.Replace(vmCreate, `"before":null`, `"before":{"name":"web-1"}`, 1)},
		{"address", 0, strings.Replace(vmCreate, `google_compute_instance.web-1`, `google_compute_instance.web-2`, 1)},
		{"source ranges", 1, strings.Replace(fwCreate, `"35.191.0.0/16"`, `"0.0.0.0/0"`, 1)},
		{"unknown list", 2, strings.Replace(igCreate, `"instances":true`, `"instances":false`, 1)},
	} {
		changes := []string{vmCreate, fwCreate, igCreate}
		if changes[m.i] == m.mutated {
			t.Fatalf("%s: mutation did not apply", m.name)
		}
		changes[m.i] = m.mutated
		if got := mustHash(t, changeSet(t, changes...)); got == base {
			t.Errorf("changing the %s does not change the hash", m.name)
		}
	}
	// The summary's hash is the change set's, then the module's.
	sum, cs, err := summarise(planJSON(t, vmCreate+","+fwCreate+","+igCreate), "m0d")
	if err != nil || sum.Hash != base+".m0d" || len(cs) != 3 {
		t.Fatalf("summary hash %q (%v), want %s.m0d", sum.Hash, err, base)
	}
}

func TestRefinesAndDiff(t *testing.T) {
	approved := changeSet(t, vmCreate, fwCreate, igCreate)
	// After an interrupted apply: the VM exists, the group's instances are
	// known now.
	igKnown := strings.Replace(igCreate, `"after":{"name":"ferry-shop-b"},"after_unknown":{"id":true,"instances":true}`,
		`"after":{"name":"ferry-shop-b","instances":["projects/p/zones/z/instances/web-1"]},"after_unknown":{"id":true}`, 1)
	if ok, d := Refines(changeSet(t, fwCreate, igKnown), approved); !ok {
		t.Fatalf("the rest of an approved plan is refused: %+v", d)
	}
	if ok, _ := Refines(changeSet(t), approved); !ok {
		t.Fatal("nothing left to do is refused")
	}
	for name, now := range map[string]ChangeSet{
		"known value changed": changeSet(t, strings.Replace(vmCreate, `"e2-standard-2"`, `"n2-standard-8"`, 1)),
		"not approved":        changeSet(t, strings.Replace(fwCreate, `google_compute_firewall.health`, `google_compute_firewall.extra`, 1)),
		"replace":             changeSet(t, strings.Replace(fwCreate, `"actions":["create"]`, `"actions":["delete","create"]`, 1)),
		"attribute added":     changeSet(t, strings.Replace(fwCreate, `"name":"ferry-shop-hc"`, `"name":"ferry-shop-hc","priority":1`, 1)),
	} {
		ok, diffs := Refines(now, approved)
		if ok || len(diffs) != 1 {
			t.Errorf("%s: refines = %v, diffs %+v", name, ok, diffs)
		}
	}
	// Differences name the resource and the attribute, never the value.
	now := changeSet(t, strings.Replace(vmCreate, `"e2-standard-2"`, `"n2-standard-8"`, 1), fwCreate)
	diffs := Diff(approved, now)
	text := ""
	for _, d := range diffs {
		text += d.String() + "\n"
	}
	if len(diffs) != 2 || !strings.Contains(text, "google_compute_instance.web-1: approved create, now create (attributes machine_type)") ||
		!strings.Contains(text, "google_compute_instance_group.ig: approved create, now nothing") {
		t.Fatalf("diff:\n%s", text)
	}
	if strings.Contains(text, "n2-standard-8") || strings.Contains(text, "e2-standard-2") {
		t.Fatalf("diff shows values:\n%s", text)
	}
	err := (&PlanDriftError{App: "shop", Approved: "a.b", Now: "c.d", Differences: diffs}).Error()
	if !strings.Contains(err, "machine_type") || !strings.Contains(err, "retry the plan stage") || strings.Contains(err, "n2-standard-8") {
		t.Fatalf("drift error: %s", err)
	}
}

// An adopted object must have been approved for creation and import as
// approved.
func TestRefinesImports(t *testing.T) {
	approved := changeSet(t, fwCreate)
	imp := func(actions, after string) ChangeSet {
		return changeSet(t, `{"address":"google_compute_firewall.health","mode":"managed","type":"google_compute_firewall","name":"health",
		  "change":{"actions":`+actions+`,"before":`+after+`,"after":`+after+`,"importing":{"id":"projects/p/global/firewalls/ferry-shop-hc"}}}`)
	}
	same := `{"name":"ferry-shop-hc","description":"x (managed by ferry for app shop)","source_ranges":["35.191.0.0/16"],"id":"x"}`
	if ok, d := Refines(imp(`["no-op"]`, same), approved); !ok {
		t.Fatalf("importing the approved object refused: %+v", d)
	}
	// An import that needs an update is an object unlike the approved one.
	upd := changeSet(t, `{"address":"google_compute_firewall.health","mode":"managed","type":"google_compute_firewall","name":"health",
	  "change":{"actions":["update"],"before":`+strings.Replace(same, `35.191.0.0/16`, `0.0.0.0/0`, 1)+`,"after":`+same+`,"importing":{"id":"projects/p/global/firewalls/ferry-shop-hc"}}}`)
	if ok, d := Refines(upd, approved); ok || len(d) != 1 || d[0].Attributes[0] != "source_ranges[0]" {
		t.Fatalf("an import that differs from the approved object: ok=%v %+v", ok, d)
	}
	if ok, _ := Refines(imp(`["no-op"]`, same), changeSet(t)); ok {
		t.Fatal("an import of an object never approved passed")
	}
}

// Sensitive values are stored and compared as digests: never written,
// yet a changed secret is a changed attribute.
func TestSensitiveValuesAreRedacted(t *testing.T) {
	sens := `{"address":"google_compute_instance.web-1","mode":"managed","type":"google_compute_instance","name":"web-1",
	  "change":{"actions":["create"],"before":null,"after":{"name":"web-1","metadata":{"token":"s3cr3t-value"},"key":null},"after_sensitive":{"metadata":{"token":true},"key":true}}}`
	cs := changeSet(t, sens)
	red := cs.redacted()
	if !red[0].Redacted {
		t.Fatal("sensitive change not marked as redacted")
	}
	b, _ := json.Marshal(red)
	if strings.Contains(string(b), "s3cr3t-value") {
		t.Fatalf("stored change set holds the secret: %s", b)
	}
	if ok, d := Refines(cs, red); !ok {
		t.Fatalf("the same change against its stored form: %+v", d)
	}
	other := changeSet(t, strings.Replace(sens, "s3cr3t-value", "another-secret", 1))
	ok, d := Refines(other, red)
	if ok || len(d) != 1 || d[0].Attributes[0] != "metadata.token" {
		t.Fatalf("a changed secret passed: %v %+v", ok, d)
	}
	if strings.Contains(d[0].String(), "another-secret") {
		t.Fatal("difference shows the secret")
	}
}

// Adoption takes only objects marked as this app's.
func TestNotOurs(t *testing.T) {
	r := &Runner{spec: plan.AppSpec{Name: "Shop"}}
	obj := func(addr string, before map[string]any) Change {
		return Change{Address: addr, Actions: []string{"no-op"}, Importing: "projects/p/x", Before: before}
	}
	neg := obj("google_compute_network_endpoint_group.dc", map[string]any{"description": "Endpoints (" + OwnerNote("Shop") + ")"})
	foreignNEG := obj("google_compute_network_endpoint_group.dc", map[string]any{"description": "someone's"})
	ep := obj("google_compute_network_endpoint.dc-1", map[string]any{"ip_address": "10.0.0.1"})
	for _, tc := range []struct {
		name    string
		c       Change
		all     ChangeSet
		foreign bool
	}{
		{"labelled", obj("google_compute_instance.web", map[string]any{"effective_labels": map[string]any{"managed-by": "ferry", "app": "shop"}}), nil, false},
		{"labels only in labels", obj("google_compute_disk.d", map[string]any{"labels": map[string]any{"managed-by": "ferry", "app": "shop"}}), nil, false},
		{"other app", obj("google_compute_instance.web", map[string]any{"effective_labels": map[string]any{"managed-by": "ferry", "app": "shop2"}}), nil, true},
		{"unlabelled instance", obj("google_compute_instance.web", map[string]any{"effective_labels": map[string]any{}}), nil, true},
		{"labels but description note", obj("google_compute_instance.web", map[string]any{"effective_labels": map[string]any{}, "description": OwnerNote("Shop")}), nil, true},
		{"description note", obj("google_compute_url_map.app", map[string]any{"description": "split (" + OwnerNote("Shop") + ")"}), nil, false},
		{"note of another app", obj("google_compute_url_map.app", map[string]any{"description": "split (" + OwnerNote("Shop2") + ")"}), nil, true},
		{"note without its parentheses", obj("google_compute_url_map.app", map[string]any{"description": OwnerNote("Shop")}), nil, true},
		{"no description", obj("google_compute_backend_service.dc", map[string]any{"name": "shop-dc"}), nil, true},
		{"nothing read", obj("google_compute_backend_service.dc", nil), nil, true},
		{"endpoint of adopted NEG", ep, ChangeSet{neg, ep}, false},
		{"endpoint of foreign NEG", ep, ChangeSet{foreignNEG, ep}, true},
		{"endpoint of NEG in state", ep, ChangeSet{ep}, false},
	} {
		why := r.notOurs(tc.c, tc.all)
		if (why != "") != tc.foreign {
			t.Errorf("%s: notOurs = %q, want foreign=%v", tc.name, why, tc.foreign)
		}
	}
	e := &ForeignObjectError{App: "Shop", Address: "google_compute_url_map.app", ImportID: "projects/p/global/urlMaps/shop-lb", Why: "its description lacks the note"}
	if !strings.Contains(e.Error(), "projects/p/global/urlMaps/shop-lb") || e.Reason() != ReasonForeignObject {
		t.Fatalf("foreign object error: %s", e.Error())
	}
}

// An adopted object whose update only writes what import cannot read
// back refines an approved create, even where its values are the API's
// (an image's self link); one whose update changes anything else does not.
func TestRefinesAdoptedUpdate(t *testing.T) {
	approved := ChangeSet{{Address: "google_compute_instance.web", Actions: []string{"create"},
		After: map[string]any{"name": "web", "image": "debian-12", "labels": map[string]any{"app": "shop"}, "allow_stopping_for_update": true}}}
	adopted := func(before, after map[string]any) ChangeSet {
		return ChangeSet{{Address: "google_compute_instance.web", Actions: []string{"update"}, Importing: "projects/p/zones/z/instances/web",
			Before: before, After: after}}
	}
	read := map[string]any{"name": "web", "image": "projects/debian-cloud/global/images/debian-12-v1", "labels": map[string]any{}, "effective_labels": map[string]any{"app": "shop"}}
	want := map[string]any{"name": "web", "image": "projects/debian-cloud/global/images/debian-12-v1", "labels": map[string]any{"app": "shop"}, "effective_labels": map[string]any{"app": "shop"}, "allow_stopping_for_update": true}
	if ok, d := Refines(adopted(read, want), approved); !ok {
		t.Fatalf("an adoption that only writes import artifacts was refused: %+v", d)
	}
	relabel := map[string]any{"name": "web", "image": "x", "labels": map[string]any{}, "effective_labels": map[string]any{"app": "other"}}
	wantX := map[string]any{"name": "web", "image": "x", "labels": map[string]any{"app": "shop"}, "effective_labels": map[string]any{"app": "other"}, "allow_stopping_for_update": true}
	if ok, d := Refines(adopted(relabel, wantX), approved); ok || len(d) != 1 {
		t.Fatalf("an adoption that changes a label's value passed: %v %+v", ok, d)
	}
	renamed := map[string]any{"name": "old", "image": "x", "labels": map[string]any{}, "effective_labels": map[string]any{"app": "shop"}}
	if ok, d := Refines(adopted(renamed, want), approved); ok || len(d) != 1 {
		t.Fatalf("an adoption that renames passed: %v %+v", ok, d)
	}
}

package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const dataPlanHead = `gcp {
  project = "acme-migration"
  region  = "europe-west1"
}
wave "w" {
  apps = ["billing-api", "ledger", "reports"]
}
`

const m2vmBlock = `migrate_to_vm {
  test_network = "migration-test"
  datacenter "dc-paris" {
    source = "projects/acme-migration/locations/europe-west1/sources/vcenter-paris"
  }
  limits {
    per_host = 2
  }
}
`

func resolveData(t *testing.T, src string) ([]AppSpec, hcl.Diagnostics) {
	t.Helper()
	p, diags := Parse("data.hcl", []byte(src))
	if p == nil {
		t.Fatalf("parse: %v", diags)
	}
	specs, d := Resolve(p, loadInventory(t), nil)
	return specs, append(diags, d...)
}

func specNamed(specs []AppSpec, name string) AppSpec {
	for _, s := range specs {
		if s.Name == name {
			return s
		}
	}
	return AppSpec{}
}

func TestDataResolves(t *testing.T) {
	specs, diags := resolveData(t, dataPlanHead+m2vmBlock+`
app "billing-api" {
  data = "replicate"
}
app "reports" {
  data = "sync"
  sync {
    lag_command = ["./lag.sh"]
    max_lag     = "45s"
  }
}
`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := specNamed(specs, "billing-api")
	r := b.Data.Replicate
	if b.Data.Strategy != DataReplicate || r == nil || !r.TestClone || r.TestNetwork != "migration-test" {
		t.Fatalf("billing-api data: %+v", b.Data)
	}
	if r.HostProject != "acme-migration" || r.Location != "europe-west1" ||
		r.TargetProject != "projects/acme-migration/locations/global/targetProjects/acme-migration" {
		t.Errorf("replicate location: %+v", r)
	}
	if r.Limits != (ReplicationLimits{PerProject: 200, PerHost: 2}) {
		t.Errorf("limits: %+v", r.Limits)
	}
	if len(r.VMs) != 3 || r.VMs[2].Name != "Billing_DB.prod" || r.VMs[2].Disks != 3 || r.VMs[2].GCEName != "billing-db-prod" ||
		!strings.HasSuffix(r.VMs[0].Source, "/sources/vcenter-paris") || r.VMs[0].Datacenter != "dc-paris" {
		t.Errorf("replica VMs: %+v", r.VMs)
	}
	if l := specNamed(specs, "ledger").Data; l.Strategy != DataNone || l.Replicate != nil || l.Sync != nil {
		t.Errorf("default data: %+v", l)
	}
	s := specNamed(specs, "reports").Data.Sync
	if s == nil || s.MaxLag.String() != "45s" || s.Every != DefaultLagEvery || s.Timeout != DefaultSyncTimeout || s.Lag[0] != "./lag.sh" {
		t.Errorf("sync: %+v", s)
	}
}

func TestDataDiagnostics(t *testing.T) {
	badM2VM := `migrate_to_vm {
  datacenter "dc-paris" {
    source = "vcenter-paris"
  }
  datacenter "dc-paris" {
    source = "projects/acme-migration/locations/europe-west1/sources/vcenter-paris"
  }
  limits {
    per_project = 500
    per_host    = 0
  }
}
`
	otherDC := strings.Replace(m2vmBlock, `"dc-paris"`, `"dc-lyon"`, 1)
	for _, c := range []struct {
		name, src string
		want      []string // "line: summary"
	}{
		{"unknown strategy", dataPlanHead + `app "ledger" {
  data = "copy"
}
`, []string{"9: Unknown data strategy"}},
		{"replicate without migrate_to_vm", dataPlanHead + `app "ledger" {
  data = "replicate"
}
`, []string{"9: No migrate_to_vm block"}},
		{"tier-1 without test clone", dataPlanHead + m2vmBlock + `app "billing-api" {
  data = "replicate"
  replicate {
    test_clone = false
  }
}
`, []string{"20: Tier-1 app without a test clone"}},
		{"no test network", dataPlanHead + strings.Replace(m2vmBlock, `  test_network = "migration-test"`+"\n", "", 1) + `app "ledger" {
  data = "replicate"
}
`, []string{"8: No test network for the test clone"}},
		{"datacenter without source", dataPlanHead + otherDC + `app "ledger" {
  data = "replicate"
}
`, []string{"18: No Migrate to Virtual Machines source for a datacenter"}},
		{"bad migrate_to_vm", dataPlanHead + badM2VM, []string{"10: Invalid Migrate to Virtual Machines source",
			"12: Duplicate datacenter", "16: Replication limit above the service's", "17: Invalid replication limit"}},
		{"sync without block", dataPlanHead + `app "ledger" {
  data = "sync"
}
`, []string{"9: No sync block"}},
		{"sync with empty command and zero lag", dataPlanHead + `app "ledger" {
  data = "sync"
  sync {
    lag_command = []
    max_lag     = "0s"
  }
}
`, []string{"11: Empty sync command", "12: Invalid max_lag"}},
		{"blocks without their strategy", dataPlanHead + m2vmBlock + `app "ledger" {
  replicate {}
  sync {
    lag_command = ["x"]
  }
}
`, []string{`18: replicate block without data = "replicate"`, `19: sync block without data = "sync"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, diags := resolveData(t, c.src)
			var got []string
			for _, d := range diags {
				if d.Severity != hcl.DiagError {
					continue
				}
				line := 0
				if d.Subject != nil {
					line = d.Subject.Start.Line
				}
				got = append(got, fmt.Sprintf("%d: %s", line, d.Summary))
			}
			for _, w := range c.want {
				found := false
				for _, g := range got {
					found = found || g == w
				}
				if !found {
					t.Errorf("want %q among %q", w, got)
				}
			}
		})
	}
}

// A replicating app is warned that its cutover is one step and that a
// "keep" rollback leaves stale disks; with destroy and one step, not.
func TestReplicateWarnsOfTheCutoverItChanges(t *testing.T) {
	warned := func(app string) string {
		_, diags := resolveData(t, dataPlanHead+m2vmBlock+app)
		for _, d := range diags {
			if d.Severity == hcl.DiagWarning && d.Summary == "Replication changes the cutover" {
				return d.Detail
			}
		}
		return ""
	}
	if w := warned("app \"billing-api\" {\n  data = \"replicate\"\n}\n"); !strings.Contains(w, "one 100 % step") || !strings.Contains(w, `rollback = "keep"`) {
		t.Errorf("default cutover and rollback: warning %q", w)
	}
	if w := warned("app \"billing-api\" {\n  data = \"replicate\"\n  rollback = \"destroy\"\n  cutover {\n    steps = [100]\n  }\n}\n"); w != "" {
		t.Errorf("one step, destroy: unexpected warning %q", w)
	}
}

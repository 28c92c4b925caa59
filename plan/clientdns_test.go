package plan

import (
	"strings"
	"testing"
	"time"
)

const clientDNSPlan = `
gcp {
  project = "p"
  region  = "europe-west1"
}
wave "wave-1" {
  apps = ["billing-api"]
}
app "billing-api" {
  hook "infoblox" {
    at      = "client_dns"
    command = ["./dns.sh"]
  }
  cutover {
    client_dns {
      zone       = "corp-internal"
      name       = "Billing.Corp.Example."
      ttl_during = "20s"
    }
    client_dns {
      zone    = "public"
      project = "dns-host"
      name    = "billing.example.com."
    }
    client_dns {
      name          = "billing.legacy.example."
      external_hook = "infoblox"
    }
  }
}
`

func TestClientDNSResolves(t *testing.T) {
	p, diags := Parse("ferry.hcl", []byte(clientDNSPlan))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	specs, diags := Resolve(p, loadInventory(t), testDeps())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := specs[0].Cutover.ClientDNS
	want := []ClientDNS{
		{Name: "billing.corp.example.", Zone: "corp-internal", Project: "p", TTLDuring: 20 * time.Second},
		{Name: "billing.example.com.", Zone: "public", Project: "dns-host", TTLDuring: DefaultClientDNSTTL},
		{Name: "billing.legacy.example.", ExternalHook: "infoblox", TTLDuring: DefaultClientDNSTTL},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("client_dns %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// With the zones the projects really have (read online by the caller), an
// unknown zone and a name outside its zone are errors at the block.
func TestClientDNSZonesOnline(t *testing.T) {
	p, diags := Parse("ferry.hcl", []byte(clientDNSPlan))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p.DNSZones = map[string][]DNSZone{
		"p":        {{Name: "corp-internal", DNSName: "other.example."}},
		"dns-host": {{Name: "corp", DNSName: "example.com."}},
	}
	diags = Validate(p, loadInventory(t), testDeps())
	var msgs []string
	for _, d := range diags {
		msgs = append(msgs, d.Subject.String()+": "+d.Summary+": "+d.Detail)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		`ferry.hcl:17,20-43: Name outside its zone: App "billing-api" client_dns "Billing.Corp.Example.": zone "corp-internal" holds other.example. and below`,
		`ferry.hcl:21,17-25: Unknown managed zone: App "billing-api" client_dns "billing.example.com.": project "dns-host" has no Cloud DNS zone "public"; its zones are corp (example.com.)`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in\n%s", want, all)
		}
	}
	p.DNSZones = map[string][]DNSZone{"p": {{Name: "corp-internal", DNSName: "corp.example."}}, "dns-host": {{Name: "public", DNSName: "example.com."}}}
	for _, d := range Validate(p, loadInventory(t), testDeps()) {
		if strings.Contains(d.Detail, "client_dns") {
			t.Errorf("zones that exist: %s: %s", d.Summary, d.Detail)
		}
	}
}

func TestCheckDNSName(t *testing.T) {
	for _, ok := range []string{"billing.corp.example.", "_sip._tcp.corp.example.", "a.b.", "x1-2.example."} {
		if err := CheckDNSName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for bad, why := range map[string]string{
		"":                                       "empty",
		".":                                      "empty",
		"billing.corp.example":                   "end it with a dot",
		"example.":                               "top-level",
		"a..b.":                                  "empty label",
		"*.corp.example.":                        "wildcard",
		"-x.corp.example.":                       "may not start or end",
		"bill ing.corp.example.":                 "only letters",
		"bill\x00ing.corp.example.":              "only letters",
		strings.Repeat("a", 64) + ".com.":        "longer than 63",
		strings.Repeat("abcdefgh.", 29) + "com.": "253",
	} {
		err := CheckDNSName(bad)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: got %v, want %q", bad, err, why)
		}
	}
}

package gcename

import (
	"regexp"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	taken := map[string]bool{}
	cases := []struct{ in, want string }{
		{"web-1", "web-1"},
		{"Billing_DB.prod", "billing-db-prod"},
		{"  --web--2--  ", "web-2"},
		{"42-app", "vm-42-app"},
		{"", "vm"},
		{"ÉCOLE-serveur", "cole-serveur"},
	}
	for _, c := range cases {
		if got := Name(c.in, taken); got != c.want {
			t.Errorf("Name(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Collisions get a suffix hashed from the vCenter name: stable.
	a := Name("WEB-1", taken)
	if a == "web-1" || !strings.HasPrefix(a, "web-1-") || !Valid(a) {
		t.Errorf("collision: got %q", a)
	}
	if b := Name("WEB-1", map[string]bool{"web-1": true}); b != a {
		t.Errorf("collision suffix not stable: %q vs %q", a, b)
	}
	long := strings.Repeat("very-long-name-", 10)
	l1, l2 := Name(long, nil), Name(long+"x", nil)
	if len(l1) > 63 || l1 == l2 || !Valid(l1) || !Valid(l2) {
		t.Errorf("truncation: %q %q", l1, l2)
	}
}

// The app-scoped names: readable app names give the names terraform and
// the traffic strategies have always used (existing state depends on
// them); any app name gives valid and distinct names through the one
// sanitiser.
func TestAppScopedNames(t *testing.T) {
	rfc1035 := regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	if got := []string{URLMap("shop"), GCPBackend("shop"), DCBackend("shop"), DCNEG("shop"), ForwardingRule("shop"), HealthCheck("shop"), Proxy("shop"), Tag("shop"), Scoped("shop", "-europe-west1-b")}; strings.Join(got, " ") !=
		"shop-lb shop-gcp shop-dc shop-dc-neg ferry-shop-fr ferry-shop-hc ferry-shop-proxy ferry-shop ferry-shop-europe-west1-b" {
		t.Fatalf("app-scoped names changed: %v", got)
	}
	cases := map[string]string{
		"billing-api":  "billing-api-lb",
		"Billing_API":  "billing-api-lb",
		"café ünïcode": "caf-n-code-lb",
		// One rule for every name: the leading-digit prefix is Name's
		// ("vm-"), no longer traffic's own "app-".
		"9lives": "vm-9lives-lb",
	}
	for app, want := range cases {
		if got := URLMap(app); got != want {
			t.Errorf("URLMap(%q) = %q, want %q", app, got, want)
		}
	}
	for _, app := range []string{"billing-api", "9lives", "--", "", strings.Repeat("a", 80), strings.Repeat("ab-", 30) + "x"} {
		names := []string{URLMap(app), GCPBackend(app), DCBackend(app), DCNEG(app), ForwardingRule(app), HealthCheck(app), Proxy(app), Tag(app)}
		seen := map[string]bool{}
		for _, n := range names {
			if !rfc1035.MatchString(n) {
				t.Errorf("%q from app %q is not a GCE name", n, app)
			}
			if seen[n] {
				t.Errorf("app %q: two kinds share the name %q", app, n)
			}
			seen[n] = true
		}
	}
}

func FuzzName(f *testing.F) {
	for _, s := range []string{"web-1", "Billing_DB.prod", "", "9", "-", strings.Repeat("a", 80), "ÉCOLE", "a--b", "x_y z"} {
		f.Add(s, "web-1")
	}
	f.Fuzz(func(t *testing.T, name, other string) {
		taken := map[string]bool{}
		o := Name(other, taken)
		got := Name(name, taken)
		if !Valid(got) {
			t.Fatalf("Name(%q) = %q: not a valid GCE name", name, got)
		}
		if got == o {
			t.Fatalf("Name(%q) = %q collides with Name(%q)", name, got, other)
		}
		if again := Name(name, map[string]bool{o: true}); again != got {
			t.Fatalf("Name(%q) not stable: %q then %q", name, got, again)
		}
	})
}

package terraform

import (
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/terraform/gcename"
)

func TestGCEName(t *testing.T) {
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
		if got := GCEName(c.in, taken); got != c.want {
			t.Errorf("GCEName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Collisions get a suffix hashed from the vCenter name: stable.
	a := GCEName("WEB-1", taken)
	if a == "web-1" || !strings.HasPrefix(a, "web-1-") || !gcename.Valid(a) {
		t.Errorf("collision: got %q", a)
	}
	if b := GCEName("WEB-1", map[string]bool{"web-1": true}); b != a {
		t.Errorf("collision suffix not stable: %q vs %q", a, b)
	}
	long := strings.Repeat("very-long-name-", 10)
	l1, l2 := GCEName(long, nil), GCEName(long+"x", nil)
	if len(l1) > 63 || l1 == l2 || !gcename.Valid(l1) || !gcename.Valid(l2) {
		t.Errorf("truncation: %q %q", l1, l2)
	}
}

func FuzzGCEName(f *testing.F) {
	for _, s := range []string{"web-1", "Billing_DB.prod", "", "9", "-", strings.Repeat("a", 80), "ÉCOLE", "a--b", "x_y z"} {
		f.Add(s, "web-1")
	}
	f.Fuzz(func(t *testing.T, name, other string) {
		taken := map[string]bool{}
		o := GCEName(other, taken)
		got := GCEName(name, taken)
		if !gcename.Valid(got) {
			t.Fatalf("GCEName(%q) = %q: not a valid GCE name", name, got)
		}
		if got == o {
			t.Fatalf("GCEName(%q) = %q collides with GCEName(%q)", name, got, other)
		}
		if again := GCEName(name, map[string]bool{o: true}); again != got {
			t.Fatalf("GCEName(%q) not stable: %q then %q", name, got, again)
		}
	})
}

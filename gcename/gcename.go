// Package gcename is the one home of ferry's external resource names: it
// turns vCenter and app names into valid, unique and stable Google Compute
// Engine names with one sanitiser (Name), and spells the app-scoped names
// (load balancer, backends, NEG, health check...) that terraform creates
// and the traffic strategies patch, so both agree. It is a leaf: the plan,
// the terraform renderer and traffic all import it, it imports none of
// them.
package gcename

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// MaxLen is the longest GCE resource name (RFC 1035 label).
const MaxLen = 63

const hashLen = 8

// Name returns a name matching [a-z]([-a-z0-9]{0,61}[a-z0-9])?. Readable
// names pass through lowercased, with runs of other characters turned into
// one "-". A name that had to be truncated, or that collides with one in
// taken, gets a suffix hashed from the original vCenter name, so the result
// depends only on the name and the names already taken, never on map order
// or time. The result is added to taken when taken is not nil.
func Name(vcenterName string, taken map[string]bool) string {
	base := sanitize(vcenterName)
	name := base
	if len(name) > MaxLen {
		name = withSuffix(base, hash(vcenterName))
	}
	for i := 1; taken[name]; i++ {
		seed := vcenterName
		if i > 1 {
			seed += "#" + strconv.Itoa(i)
		}
		name = withSuffix(base, hash(seed))
	}
	if taken != nil {
		taken[name] = true
	}
	return name
}

// Valid reports whether s is a valid GCE resource name.
func Valid(s string) bool {
	if len(s) == 0 || len(s) > MaxLen || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func sanitize(in string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(in) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	s := b.String()
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "vm-" + s
		s = strings.TrimSuffix(s, "-")
	}
	return s
}

func withSuffix(base, h string) string {
	keep := MaxLen - 1 - hashLen
	if len(base) > keep {
		base = base[:keep]
	}
	return strings.TrimRight(base, "-") + "-" + h
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:hashLen]
}

// App-scoped names. Terraform creates these objects (terraform/) and the
// traffic strategies patch them (traffic/), so both spell them here. Each
// goes through Name: a long or odd app name gives a valid, stable name.

// URLMap is the URL map whose default route splits traffic between the
// datacenter and GCP backend services.
func URLMap(app string) string { return Name(app+"-lb", nil) }

// GCPBackend is the backend service over the app's instance groups on GCE.
func GCPBackend(app string) string { return Name(app+"-gcp", nil) }

// DCBackend is the backend service over the hybrid connectivity NEG that
// holds the app's datacenter endpoints.
func DCBackend(app string) string { return Name(app+"-dc", nil) }

// DCNEG is the hybrid connectivity network endpoint group behind DCBackend.
func DCNEG(app string) string { return Name(app+"-dc-neg", nil) }

// Scoped is an app's own object of the given kind suffix, prefixed
// "ferry-": the health check ("-hc"), proxy ("-proxy"), forwarding rule
// ("-fr"), instance group per zone ("-<zone>").
func Scoped(app, suffix string) string { return Name("ferry-"+app+suffix, nil) }

// ForwardingRule is the app's global forwarding rule; its address is the
// load balancer's public address.
func ForwardingRule(app string) string { return Scoped(app, "-fr") }

// HealthCheck is the app's health check (and its health-checker firewall).
func HealthCheck(app string) string { return Scoped(app, "-hc") }

// Proxy is the app's target HTTP proxy.
func Proxy(app string) string { return Scoped(app, "-proxy") }

// Tag is the network tag on every instance of the app: "ferry-" and the
// app's Name (so "9lives" gives "ferry-vm-9lives", as plans resolved so
// far do), shortened with a hash when that exceeds MaxLen.
func Tag(app string) string {
	t := "ferry-" + Name(app, nil)
	if len(t) > MaxLen {
		t = Name(t, nil)
	}
	return t
}

// Package gcename turns vCenter names into valid, unique and stable Google
// Compute Engine resource names. It is a leaf package so both the plan and
// the terraform renderer can use it.
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

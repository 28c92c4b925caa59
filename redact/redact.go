// Package redact removes secrets from text before it leaves ferry: hook
// output, notifications, log records and error messages. It knows the
// secret values of the process environment (GOVC_PASSWORD, the webhook URL,
// the codec key, tokens) and the shapes of common credentials.
package redact

import (
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Marker replaces every secret.
const Marker = "[REDACTED]"

// minLen is the shortest value treated as a secret: shorter ones would
// blank out ordinary words. Named secrets (GOVC_PASSWORD) use minNamedLen.
const (
	minNamedLen   = 4
	minGenericLen = 8
)

// Registry holds known secret values. The zero value is empty and usable.
type Registry struct {
	mu      sync.RWMutex
	secrets map[string]struct{}
	sorted  []string // longest first, so a secret containing another goes first
}

// Add registers secret values; values shorter than 4 bytes are ignored.
func (r *Registry) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, s := range secrets {
		s = strings.TrimSpace(s)
		if len(s) < minNamedLen {
			continue
		}
		if r.secrets == nil {
			r.secrets = map[string]struct{}{}
		}
		if _, ok := r.secrets[s]; !ok {
			r.secrets[s] = struct{}{}
			changed = true
		}
	}
	if changed {
		r.sorted = r.sorted[:0]
		for s := range r.secrets {
			r.sorted = append(r.sorted, s)
		}
		sort.Slice(r.sorted, func(i, j int) bool {
			if len(r.sorted[i]) != len(r.sorted[j]) {
				return len(r.sorted[i]) > len(r.sorted[j])
			}
			return r.sorted[i] < r.sorted[j]
		})
	}
}

// Len reports how many secret values are known.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.secrets)
}

// String redacts s: the registry's values, the extra secrets given, and
// credential-shaped text.
func (r *Registry) String(s string, extra ...string) string {
	if s == "" {
		return s
	}
	r.mu.RLock()
	known := r.sorted
	r.mu.RUnlock()
	s = replaceLiterals(s, known, extra)
	out := redactPatterns(s)
	if out == s {
		return s
	}
	// Patterns only ever insert Marker, but a pattern's replacement may
	// have joined the two halves of a literal; a second pass is needed then.
	return replaceLiterals(out, known, extra)
}

func replaceLiterals(s string, known, extra []string) string {
	for _, sec := range extra {
		if len(sec) >= minNamedLen && !strings.Contains(Marker, sec) {
			s = strings.ReplaceAll(s, sec, Marker)
		}
	}
	for _, sec := range known {
		if !strings.Contains(Marker, sec) {
			s = strings.ReplaceAll(s, sec, Marker)
		}
	}
	return s
}

// FromEnviron registers the secrets found in environ ("KEY=value" lines):
// the well-known names ferry and its tools use, the password of any URL's
// userinfo in them, and any variable whose name says it is a secret.
func (r *Registry) FromEnviron(environ []string) {
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			continue
		}
		r.addEnv(k, v)
	}
}

// namedSecrets are environment variables whose whole value is a secret.
var namedSecrets = map[string]bool{
	"GOVC_PASSWORD":             true,
	"VSPHERE_PASSWORD":          true,
	"FERRY_VCENTER_PASSWORD":    true,
	"FERRY_WEBHOOK_URL":         true,
	"FERRY_CODEC_KEY":           true,
	"FERRY_CODEC_TOKEN":         true,
	"GOOGLE_OAUTH_ACCESS_TOKEN": true,
	"TEMPORAL_API_KEY":          true,
	"AWS_SECRET_ACCESS_KEY":     true,
	"AWS_SESSION_TOKEN":         true,
	"SLACK_WEBHOOK_URL":         true,
}

// urlVars hold URLs whose userinfo may carry a password.
var urlVars = map[string]bool{"GOVC_URL": true, "VSPHERE_URL": true, "FERRY_VCENTER_URL": true}

var genericName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY)`)

func (r *Registry) addEnv(k, v string) {
	up := strings.ToUpper(k)
	switch {
	case namedSecrets[up]:
		r.Add(v)
		if u, err := url.Parse(v); err == nil && u.Host != "" {
			// A webhook URL's token is its path (Slack: /services/T/B/token).
			if len(u.Path) >= minGenericLen {
				r.Add(u.Path)
			}
			if u.RawQuery != "" && len(u.RawQuery) >= minGenericLen {
				r.Add(u.RawQuery)
			}
		}
	case urlVars[up]:
		if u, err := url.Parse(v); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok {
				r.Add(p, url.QueryEscape(p))
			}
		}
	case strings.HasSuffix(up, "_FILE") || strings.HasSuffix(up, "_PATH") || strings.HasSuffix(up, "_DIR"):
		// A path to a secret is not the secret.
	case genericName.MatchString(up) && len(v) >= minGenericLen:
		r.Add(v)
	}
}

var (
	defaultReg  Registry
	defaultOnce sync.Once
)

// Default returns the process-wide registry, loaded from the environment on
// first use.
func Default() *Registry {
	defaultOnce.Do(func() { defaultReg.FromEnviron(os.Environ()) })
	return &defaultReg
}

// Register adds secret values to the process-wide registry (e.g. keys read
// from a file).
func Register(secrets ...string) { Default().Add(secrets...) }

// String redacts s with the process-wide registry and the extra secrets.
func String(s string, secrets ...string) string { return Default().String(s, secrets...) }

// Refresh re-reads the environment into the process-wide registry (after
// the worker loaded secrets into its environment late, or in tests).
func Refresh() { Default().FromEnviron(os.Environ()) }

// Error returns err with its message redacted; errors.Is/As still reach
// the original through Unwrap, so only print what Error() returns.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := String(msg, secrets...); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

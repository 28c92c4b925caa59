package redact

import (
	"regexp"
	"strings"
)

// A rule finds a credential shape; repl keeps what names it (the key, the
// separator) and puts Marker where the value was. Rules run only when one
// of their triggers (lower case) occurs in the text, and single-line rules
// run only on the lines that hold a trigger: Go's regexp costs ~10 ms per
// rule on 64 KiB, a substring search microseconds.
type rule struct {
	re        *regexp.Regexp
	repl      string
	triggers  []string
	multiline bool
}

var rules = []rule{
	// PEM private keys, also when output truncation cut off the END line.
	{re: regexp.MustCompile(`-----BEGIN[A-Z ]*PRIVATE KEY-----(?s:.*?)(?:-----END[A-Z ]*PRIVATE KEY-----|$)`), repl: Marker,
		triggers: []string{"private key-----"}, multiline: true},
	// The END of a key whose BEGIN was cut off by truncation.
	{re: regexp.MustCompile(`\A(?s:.*?)-----END[A-Z ]*PRIVATE KEY-----`), repl: Marker,
		triggers: []string{"-----end"}, multiline: true},
	// Authorization headers and bearer tokens.
	{re: regexp.MustCompile(`(?i)\b(bearer[ \t]+)[A-Za-z0-9\-._~+/]{8,}=*`), repl: "${1}" + Marker, triggers: []string{"bearer"}},
	{re: regexp.MustCompile(`(?i)(authorization"?[ \t]*[:=][ \t]*"?(?:basic|bearer|token|digest)?[ \t]*)[^\s"',;]+`), repl: "${1}" + Marker,
		triggers: []string{"authorization"}},
	// URL userinfo: scheme://user:password@host.
	{re: regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+@`), repl: "${1}" + Marker + "@", triggers: []string{"://"}},
	// key=value, key: value and "key": "value" where the key names a secret.
	{re: regexp.MustCompile(`(?i)([a-z0-9_.\-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key[_-]?id|credential)[a-z0-9_.\-]*"?[ \t]*[=:][ \t]*"?)([^\s"'&,;]+)`),
		repl: "${1}" + Marker, triggers: []string{"password", "passwd", "secret", "token", "key", "credential"}},
	// Slack webhook and tokens.
	{re: regexp.MustCompile(`https://hooks\.slack\.com/[A-Za-z0-9/_\-]+`), repl: "https://hooks.slack.com/" + Marker, triggers: []string{"hooks.slack.com"}},
	{re: regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9\-]{8,}`), repl: Marker, triggers: []string{"xox"}},
	// GitHub tokens.
	{re: regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{20,}`), repl: Marker, triggers: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}},
	// AWS access key ids.
	{re: regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`), repl: Marker, triggers: []string{"akia", "asia"}},
	// Google API keys and OAuth access tokens.
	{re: regexp.MustCompile(`\bAIza[0-9A-Za-z\-_]{35}`), repl: Marker, triggers: []string{"aiza"}},
	{re: regexp.MustCompile(`\bya29\.[0-9A-Za-z\-_.]+`), repl: Marker, triggers: []string{"ya29."}},
}

func redactPatterns(s string) string {
	lower := asciiLower(s)
	for _, r := range rules {
		if !containsAny(lower, r.triggers) {
			continue
		}
		if r.multiline {
			s = r.re.ReplaceAllString(s, r.repl)
		} else {
			s = perLine(s, r)
		}
		lower = asciiLower(s)
	}
	return s
}

// perLine applies a single-line rule to the lines holding a trigger.
func perLine(s string, r rule) string {
	var b strings.Builder
	changed := false
	rest := s
	for len(rest) > 0 {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		if containsAny(asciiLower(line), r.triggers) {
			if out := r.re.ReplaceAllString(line, r.repl); out != line {
				if !changed {
					b.Grow(len(s))
					b.WriteString(s[:len(s)-len(rest)-len(line)])
					changed = true
				}
				b.WriteString(out)
				continue
			}
		}
		if changed {
			b.WriteString(line)
		}
	}
	if !changed {
		return s
	}
	return b.String()
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// asciiLower lowers ASCII letters only, so byte offsets stay aligned.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

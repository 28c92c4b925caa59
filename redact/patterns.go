package redact

import "regexp"

// A rule finds a credential shape; repl keeps what names it (the key, the
// separator) and puts Marker where the value was.
type rule struct {
	re   *regexp.Regexp
	repl string
}

var rules = []rule{
	// PEM private keys, also when output truncation cut off the END line.
	{regexp.MustCompile(`-----BEGIN[A-Z ]*PRIVATE KEY-----(?s:.*?)(?:-----END[A-Z ]*PRIVATE KEY-----|$)`), Marker},
	// The END of a key whose BEGIN was cut off by truncation.
	{regexp.MustCompile(`\A(?s:.*?)-----END[A-Z ]*PRIVATE KEY-----`), Marker},
	// Authorization headers and bearer tokens.
	{regexp.MustCompile(`(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*`), "${1}" + Marker},
	{regexp.MustCompile(`(?i)(authorization"?\s*[:=]\s*"?(?:basic|bearer|token|digest)?\s*)[^\s"',;]+`), "${1}" + Marker},
	// URL userinfo: scheme://user:password@host.
	{regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+@`), "${1}" + Marker + "@"},
	// key=value, key: value and "key": "value" where the key names a secret.
	{regexp.MustCompile(`(?i)([a-z0-9_.\-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key[_-]?id|credential)[a-z0-9_.\-]*"?\s*[=:]\s*"?)([^\s"'&,;]+)`), "${1}" + Marker},
	// Slack webhook and tokens.
	{regexp.MustCompile(`https://hooks\.slack\.com/[A-Za-z0-9/_\-]+`), "https://hooks.slack.com/" + Marker},
	{regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9\-]{8,}`), Marker},
	// GitHub tokens.
	{regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{20,}`), Marker},
	// AWS access key ids.
	{regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`), Marker},
	// Google API keys and OAuth access tokens.
	{regexp.MustCompile(`\bAIza[0-9A-Za-z\-_]{35}`), Marker},
	{regexp.MustCompile(`\bya29\.[0-9A-Za-z\-_.]+`), Marker},
}

func redactPatterns(s string) string {
	for _, r := range rules {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

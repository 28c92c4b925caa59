package redact

import (
	"regexp"
	"slices"
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

// secretKey is the name part of key=value rules: a word that says its
// value is a secret (db_password, client_secret, X-Api-Key, refresh_token).
const secretKey = `[a-z0-9_.\-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key(?:[_-]?id)?|credential)[a-z0-9_.\-]*`

var secretKeyTriggers = []string{"password", "passwd", "secret", "token", "key", "credential"}

var rules = []rule{
	// PEM private keys (PKCS#1/8, OpenSSH, PGP blocks), also when output
	// truncation cut off the END line.
	{re: regexp.MustCompile(`-----BEGIN[A-Z ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END[A-Z ]*PRIVATE KEY(?: BLOCK)?-----|$)`), repl: Marker,
		triggers: []string{"private key"}, multiline: true},
	// The END of a key whose BEGIN was cut off by truncation.
	{re: regexp.MustCompile(`\A(?s:.*?)-----END[A-Z ]*PRIVATE KEY(?: BLOCK)?-----`), repl: Marker,
		triggers: []string{"-----end"}, multiline: true},
	// Authorization headers: the whole value up to the end of the line or
	// a closing quote or bracket (schemes like AWS4-HMAC-SHA256 or
	// Negotiate carry several words); the scheme word stays readable.
	{re: regexp.MustCompile(`(?i)((?:proxy-)?authorization"?'?[ \t]*[:=][ \t]*"?'?(?:(?:basic|bearer|token|digest|negotiate|ntlm|aws4-hmac-sha256)[ \t]+)?)(?:\[REDACTED\]|[^\s"'\]])(?:\[REDACTED\]|[^"'\]\r\n])*`), repl: "${1}" + Marker,
		triggers: []string{"authorization"}},
	// Bearer tokens anywhere.
	{re: regexp.MustCompile(`(?i)\b(bearer[ \t]+)[A-Za-z0-9\-._~+/]{8,}=*`), repl: "${1}" + Marker, triggers: []string{"bearer"}},
	// URL userinfo: scheme://user:password@host. The user may hold an @
	// (administrator@vsphere.local, as govc writes it) and so may the
	// password: like url.Parse, the userinfo ends at the last @ before the
	// path.
	{re: regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/?#"'<>]*:)[^\s/?#"'<>]*@`), repl: "${1}" + Marker + "@", triggers: []string{"://"}},
	// The govc form without a scheme: GOVC_URL=user:password@host, or
	// "administrator@vsphere.local:pw@vc01" in a message.
	{re: regexp.MustCompile(`((?:^|[\s"'=(,;\[])[^\s:/?#"'<>=,;()\[\]]+:)[^\s/?#"'<>]*@([A-Za-z0-9\[])`), repl: "${1}" + Marker + "@${2}", triggers: []string{"@"}},
	// Quoted values under a secret key, spaces included:
	// "password": "correct horse battery staple", client_secret='a b',
	// password="x y" (JSON, YAML, HCL, shell).
	{re: regexp.MustCompile(`(?i)(` + secretKey + `"?[ \t]*[=:][ \t]*")((?:[^"\\\n]|\\.)*)"`), repl: "${1}" + Marker + `"`, triggers: secretKeyTriggers},
	{re: regexp.MustCompile(`(?i)(` + secretKey + `'?[ \t]*[=:][ \t]*')([^'\n]*)'`), repl: "${1}" + Marker + `'`, triggers: secretKeyTriggers},
	// A line that starts with a secret key (YAML, .env, config dumps): the
	// rest of the line is the value, however many words.
	{re: regexp.MustCompile(`(?im)^([ \t]*(?:- )?(?:export[ \t]+)?` + secretKey + `[ \t]*[=:][ \t]*)([^\s"'].*?)[ \t\r]*$`), repl: "${1}" + Marker, triggers: secretKeyTriggers},
	// key=value and key: value elsewhere in a line: the value up to a
	// separator.
	{re: regexp.MustCompile(`(?i)(` + secretKey + `"?[ \t]*[=:][ \t]*"?)([^\s"'&,;]+)`),
		repl: "${1}" + Marker, triggers: secretKeyTriggers},
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
	// Rules that share a trigger list (the secret-key rules) share the
	// search for their lines while the text is unchanged.
	var cachedFor *string
	var cached [][2]int
	for _, r := range rules {
		if !containsAny(lower, r.triggers) {
			continue
		}
		var out string
		if r.multiline {
			out = r.re.ReplaceAllString(s, r.repl)
		} else {
			if cachedFor != &r.triggers[0] {
				cached, cachedFor = triggerLines(lower, r.triggers), &r.triggers[0]
			}
			out = perLine(s, cached, r)
		}
		if out != s {
			s = out
			lower = asciiLower(s)
			cachedFor = nil
		}
	}
	return s
}

// perLine applies a single-line rule to the lines of s that hold one of
// its triggers (from triggerLines: searching the whole text for each
// trigger is much faster than testing every line).
func perLine(s string, lines [][2]int, r rule) string {
	var b strings.Builder
	done := 0 // s[:done] is in b (once something changed)
	changed := false
	for _, ln := range lines {
		line := s[ln[0]:ln[1]]
		if out := r.re.ReplaceAllString(line, r.repl); out != line {
			if !changed {
				b.Grow(len(s))
				changed = true
			}
			b.WriteString(s[done:ln[0]])
			b.WriteString(out)
			done = ln[1]
		}
	}
	if !changed {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// triggerLines returns the [start, end) offsets of the lines (newline
// included) of lower that contain one of the triggers, in order.
func triggerLines(lower string, triggers []string) [][2]int {
	var starts []int
	for _, tr := range triggers {
		for from := 0; from < len(lower); {
			i := strings.Index(lower[from:], tr)
			if i < 0 {
				break
			}
			i += from
			start := strings.LastIndexByte(lower[:i], '\n') + 1
			starts = append(starts, start)
			end := strings.IndexByte(lower[i:], '\n')
			if end < 0 {
				break
			}
			from = i + end + 1
		}
	}
	if len(starts) == 0 {
		return nil
	}
	slices.Sort(starts)
	starts = slices.Compact(starts)
	lines := make([][2]int, len(starts))
	for k, st := range starts {
		end := len(lower)
		if j := strings.IndexByte(lower[st:], '\n'); j >= 0 {
			end = st + j + 1
		}
		lines[k] = [2]int{st, end}
	}
	return lines
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

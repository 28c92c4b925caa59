// Package textsafe makes untrusted text (vCenter names, tags, custom
// attributes, hook output) safe to print where its bytes would otherwise
// become structure: terminal tables and one-line logs (control characters,
// escape sequences, bidi overrides), markdown shown by the Temporal UI, and
// Slack mrkdwn. It escapes visibly instead of dropping, so a reader still
// sees that something odd was there.
package textsafe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line returns s on one line with every control character written as a
// visible escape: \n, \r, \t, \x1b for C0 and DEL, \u0085 for C1, \u2028
// and \u2029 for line and paragraph separators, \u202e etc. for the bidi
// controls and other invisible format characters (Unicode Cf), and \xff
// for bytes that are not UTF-8. Everything else, backslashes included, is
// kept as is, so ordinary names (DOMAIN\user, café) print unchanged.
func Line(s string) string {
	if clean(s, false) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	writeLine(&b, s, false)
	return b.String()
}

// Text is Line for multi-line text (hook output, error details shown in a
// code block): newlines and tabs stay, every other control character is
// escaped as Line does.
func Text(s string) string {
	if clean(s, true) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	writeLine(&b, s, true)
	return b.String()
}

// unsafeRune reports whether r must be escaped: Unicode control (C0, DEL,
// C1), line/paragraph separators, and format characters, which include
// the bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069),
// the directional marks and zero-width characters.
func unsafeRune(r rune) bool {
	if r < 0x20 || r == 0x7f {
		return true
	}
	if r < 0x80 {
		return false
	}
	return (r >= 0x80 && r <= 0x9f) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r)
}

// clean reports whether s needs no escaping (the common case: no
// allocation).
func clean(s string, keepNewlines bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 || c == 0x7f) && !(keepNewlines && (c == '\n' || c == '\t')) {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unsafeRune(r) {
			return false
		}
		i += n
	}
	return true
}

func writeLine(b *strings.Builder, s string, keepNewlines bool) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(b, `\x%02x`, s[i])
		case keepNewlines && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		case unsafeRune(r) && r > 0xffff:
			fmt.Fprintf(b, `\U%08x`, r)
		case unsafeRune(r):
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
}

package textsafe

import "strings"

// mdAlways are the ASCII characters that can start or end markdown (and
// GFM) structure anywhere in a line: code spans, emphasis, links and
// images, headings, HTML and entities, tables, strikethrough, and the
// {{...}} templates the Temporal UI expands before rendering. CommonMark
// lets any ASCII punctuation be escaped with a backslash, and the
// backslash itself must be, or input could cancel an escape.
const mdAlways = "\\`*_{}[]()#<>|~!&$"

// Markdown returns s as one line of literal markdown text: control
// characters are escaped as Line does, markdown punctuation is
// backslash-escaped, and what only has meaning at the start of a line (list
// markers -, +, =, "1." or "1)", block quotes) or as an autolink
// (https://, www.) is escaped there. The result renders as the original
// text and cannot open a link, image, code span, table, heading or HTML
// element of its own, wherever in a line the caller puts it.
func Markdown(s string) string {
	s = Line(s)
	// What only has meaning at the start of a line: a list or heading
	// marker after optional spaces, or the dot of an ordered list ("1.").
	lead, dot := -1, -1
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && strings.IndexByte("-+=", s[i]) >= 0 {
		lead = i
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j > i && j < len(s) && s[j] == '.' {
		dot = j
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte(mdAlways, c) >= 0, i == lead, i == dot:
			b.WriteByte('\\')
		case c == ':' && strings.HasPrefix(s[i:], "://"):
			b.WriteByte('\\')
		case c == '.' && i >= 3 && strings.EqualFold(s[i-3:i], "www"):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Slack returns s as one line of literal Slack mrkdwn text: control
// characters are escaped as Line does and &, <, > become &amp;, &lt;, &gt;,
// the only escapes Slack defines, so text cannot form a mention
// (<!channel>, <@U123>) or a link with a label of its own (<url|label>).
func Slack(s string) string { return slackEscape(Line(s)) }

// SlackText is Slack for multi-line text (hook output in a code block):
// newlines and tabs stay.
func SlackText(s string) string { return slackEscape(Text(s)) }

var slackReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackEscape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return slackReplacer.Replace(s)
}

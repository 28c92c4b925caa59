package textsafe

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	cases := []struct{ in, want string }{
		{"billing-api", "billing-api"},
		{`CORP\ana café 東京`, `CORP\ana café 東京`},
		{"", ""},
		{"web\nowner = \"evil\"", `web\nowner = "evil"`},
		{"a\r\nb\tc", `a\r\nb\tc`},
		{"red \x1b[31mALERT\x1b[0m", `red \x1b[31mALERT\x1b[0m`},
		{"title \x1b]0;pwned\x07", `title \x1b]0;pwned\x07`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"c1 \u0085 csi \u009b2J", `c1 \u0085 csi \u009b2J`},
		{"line\u2028sep\u2029", `line\u2028sep\u2029`},
		{"invoice-\u202egpj.exe", `invoice-\u202egpj.exe`},
		{"\u2066iso\u2069 \u202a\u202b\u202c\u202d", `\u2066iso\u2069 \u202a\u202b\u202c\u202d`},
		{"zero\u200bwidth\ufeff", `zero\u200bwidth\ufeff`},
		{"tag\U000e0041", `tag\U000e0041`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
	}
	for _, c := range cases {
		if got := Line(c.in); got != c.want {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestText(t *testing.T) {
	in := "step 1 ok\n\tstep 2 \x1b[2Kfailed\r\u202eok"
	want := "step 1 ok\n\tstep 2 \\x1b[2Kfailed\\r\\u202eok"
	if got := Text(in); got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
}

func TestMarkdown(t *testing.T) {
	cases := []struct{ in, want string }{
		{"billing-api", "billing-api"},
		{"ana@example.com", "ana@example.com"},
		{"[click](https://evil.example/x)", `\[click\]\(https\://evil.example/x\)`},
		{"![img](javascript:alert(1))", `\!\[img\]\(javascript:alert\(1\)\)`},
		{"`code` **bold** _it_ ~~s~~", "\\`code\\` \\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~"},
		{"# Approved", `\# Approved`},
		{"- approve with ana", `\- approve with ana`},
		{"  + item", `  \+ item`},
		{"1. first", `1\. first`},
		{"v1.2", "v1.2"},
		{"a | b | c", `a \| b \| c`},
		{"<img src=x onerror=alert(1)>", `\<img src=x onerror=alert\(1\)\>`},
		{"&lt;b&gt;", `\&lt;b\&gt;`},
		{"{{namespace}}", `\{\{namespace\}\}`},
		{`trailing\`, `trailing\\`},
		{`\*not escaped twice`, `\\\*not escaped twice`},
		{"x\n# heading\n[a](b)", `x\\n\# heading\\n\[a\]\(b\)`},
		{"see www.evil.example", `see www\.evil.example`},
		{"\u202e", `\\u202e`},
	}
	for _, c := range cases {
		if got := Markdown(c.in); got != c.want {
			t.Errorf("Markdown(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSlack(t *testing.T) {
	cases := []struct{ in, want string }{
		{"billing-api", "billing-api"},
		{"<!channel> deploy now", "&lt;!channel&gt; deploy now"},
		{"<https://evil.example|click here>", "&lt;https://evil.example|click here&gt;"},
		{"<@U012AB3CD> & co", "&lt;@U012AB3CD&gt; &amp; co"},
		{"&lt;already", "&amp;lt;already"},
		{"a\n*Approved by:* ceo", `a\n*Approved by:* ceo`},
		{"\x1b[31m", `\x1b[31m`},
	}
	for _, c := range cases {
		if got := Slack(c.in); got != c.want {
			t.Errorf("Slack(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := SlackText("out:\n<!here>\x07"); got != "out:\n&lt;!here&gt;\\x07" {
		t.Errorf("SlackText = %q", got)
	}
}

func TestCleanInputNotCopied(t *testing.T) {
	s := strings.Repeat("ordinary vm name ", 10)
	if a := testing.AllocsPerRun(100, func() { _ = Line(s) }); a != 0 {
		t.Errorf("Line allocates %v times on clean input", a)
	}
}

// FuzzEscapes checks the guarantees the callers rely on for any input.
func FuzzEscapes(f *testing.F) {
	for _, s := range []string{"a\nb", "\x1b[31m", "[x](y)", "\u202e", "<!channel>", `\`, "1. x", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line := Line(s)
		if !utf8.ValidString(line) {
			t.Fatalf("Line(%q) = %q: not UTF-8", s, line)
		}
		for _, r := range line {
			if unsafeRune(r) {
				t.Fatalf("Line(%q) = %q: keeps %U", s, line, r)
			}
		}
		md := Markdown(s)
		for i := 0; i < len(md); i++ {
			if md[i] == '\\' {
				i++ // the escaped character is literal
				continue
			}
			if strings.IndexByte(mdAlways, md[i]) >= 0 {
				t.Fatalf("Markdown(%q) = %q: unescaped %q at %d", s, md, md[i], i)
			}
		}
		for _, r := range md {
			if unicode.IsControl(r) {
				t.Fatalf("Markdown(%q) keeps control %U", s, r)
			}
		}
		sl := Slack(s)
		if strings.ContainsAny(sl, "<>\n") {
			t.Fatalf("Slack(%q) = %q", s, sl)
		}
		if strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(sl, "&amp;", ""), "&lt;", ""), "&gt;", "") != strings.NewReplacer("&", "", "<", "", ">", "").Replace(Line(s)) {
			t.Fatalf("Slack(%q) = %q: & not escaped", s, sl)
		}
	})
}

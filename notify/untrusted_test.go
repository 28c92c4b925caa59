package notify

import (
	"encoding/json"
	"strings"
	"testing"
)

// Names, owners and stage text come from vCenter tags and attributes and
// hook output: none of it may mention a channel, open a link of its own or
// forge a line of the message.
func TestFormatEscapesUntrustedText(t *testing.T) {
	m := Message{
		Event:      "custom <!everyone>",
		App:        "billing <!channel>",
		Owner:      "ana\n*Approved by:* the CEO",
		Stage:      "<https://evil.example|Approve here>",
		Needed:     "click <@U0123ABCD> & \x1b[31mnow\u202e",
		WorkflowID: "ferry-app-billing",
		AppRunbook: "javascript:alert(1)",
		Detail:     "line 1\n```\n<!here> injected\n\x1b]0;title\x07",
	}
	p := Format(m, Links{Workflow: "http://ui/namespaces/default/workflows/ferry-app-billing", AppRunbook: m.AppRunbook})
	var texts []string
	texts = append(texts, p.Text)
	for _, b := range p.Blocks {
		if b.Text != nil {
			texts = append(texts, b.Text.Text)
		}
		for _, f := range append(b.Fields, b.Elements...) {
			texts = append(texts, f.Text)
		}
	}
	all := strings.Join(texts, "\n---\n")
	for _, bad := range []string{"<!channel>", "<!everyone>", "<!here>", "<@U0123ABCD>", "<https://evil.example", "\x1b", "\u202e", "\x07", "\n*Approved by:*", "<javascript:"} {
		if strings.Contains(all, bad) {
			t.Errorf("message holds %q:\n%s", bad, all)
		}
	}
	for _, want := range []string{"billing &lt;!channel&gt;", `ana\n*Approved by:* the CEO`, "&amp;", `\x1b[31mnow\u202e`, "<http://ui/namespaces/default/workflows/ferry-app-billing|Workflow in Temporal UI>", "app runbook: javascript:alert(1)", "line 1\n'''\n&lt;!here&gt; injected"} {
		if !strings.Contains(all, want) {
			t.Errorf("message lacks %q:\n%s", want, all)
		}
	}
	// Only ferry's own links contain a raw '<'.
	for _, s := range texts {
		for i := strings.IndexByte(s, '<'); i >= 0; i = strings.IndexByte(s, '<') {
			if !strings.HasPrefix(s[i:], "<http://ui/") {
				t.Errorf("raw '<' in %q", s)
				break
			}
			s = s[i+1:]
		}
	}
	if _, err := json.Marshal(p); err != nil {
		t.Fatal(err)
	}
}

func TestFormatCutsLongDetailOnARune(t *testing.T) {
	m := sample()
	m.Detail = strings.Repeat("é", 2000) // 4000 bytes: cut at 2500 lands inside a rune
	p := Format(m, Links{})
	last := p.Blocks[len(p.Blocks)-1].Text.Text
	if strings.Contains(last, `\x`) || !strings.HasSuffix(last, "…```") {
		t.Errorf("cut detail: ...%s", last[len(last)-40:])
	}
}

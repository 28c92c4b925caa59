package notify

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/textsafe"
)

// Events ferry notifies about.
const (
	EventGateWaiting      = "gate-waiting"
	EventGateReminder     = "gate-reminder"
	EventParked           = "parked"
	EventRollback         = "rollback"
	EventCutoverDone      = "cutover-done"
	EventDecommissionDone = "decommission-done"
)

// Message is one notification, independent of the sink.
type Message struct {
	Event      string
	App        string
	Owner      string
	Stage      string
	Needed     string // what a person must do
	WorkflowID string
	Reason     runbooks.Reason // links its runbook; empty: none
	AppRunbook string          // the app team's own runbook URL
	Detail     string
}

var eventTitles = map[string][2]string{ // emoji, words
	EventGateWaiting:      {":hourglass:", "waiting for approval"},
	EventGateReminder:     {":alarm_clock:", "still waiting for approval"},
	EventParked:           {":warning:", "parked, needs attention"},
	EventRollback:         {":rewind:", "rolling back"},
	EventCutoverDone:      {":white_check_mark:", "cutover done"},
	EventDecommissionDone: {":checkered_flag:", "decommission done"},
}

// KnownEvent reports whether e is one of the events above.
func KnownEvent(e string) bool { _, ok := eventTitles[e]; return ok }

// WorkflowURL links a workflow in the Temporal UI.
func WorkflowURL(uiBase, namespace, workflowID string) string {
	if uiBase == "" || workflowID == "" {
		return ""
	}
	if namespace == "" {
		namespace = "default"
	}
	return strings.TrimRight(uiBase, "/") + "/namespaces/" + url.PathEscape(namespace) + "/workflows/" + url.PathEscape(workflowID)
}

// SlackPayload is Slack-compatible incoming-webhook JSON: text for
// notifications and clients without blocks, blocks for the rest.
type SlackPayload struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks,omitempty"`
}

// SlackBlock is a section or context block.
type SlackBlock struct {
	Type     string      `json:"type"`
	Text     *SlackText  `json:"text,omitempty"`
	Fields   []SlackText `json:"fields,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
}

// SlackText is a mrkdwn text object.
type SlackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func mrkdwn(s string) SlackText { return SlackText{Type: "mrkdwn", Text: s} }

// escape makes untrusted text (vCenter names, owners, hook output) one
// literal line of mrkdwn: no mention, link or forged line of its own.
func escape(s string) string { return textsafe.Slack(s) }

// link is a mrkdwn link; the URL cannot close the link or start another.
// Only http(s) URLs become links; anything else is shown as text.
func link(u, label string) string {
	if !webURL(u) {
		return escape(label) + ": " + escape(u)
	}
	u = strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C", " ", "%20").Replace(textsafe.Line(u))
	return "<" + u + "|" + escape(label) + ">"
}

func webURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// Links are resolved URLs for a message.
type Links struct {
	Workflow   string
	Runbook    string
	AppRunbook string
}

// LinksFor resolves the message's links with the config.
func LinksFor(cfg Config, m Message) Links {
	l := Links{Workflow: WorkflowURL(cfg.UIBaseURL, cfg.Namespace, m.WorkflowID), AppRunbook: m.AppRunbook}
	if m.Reason != "" {
		l.Runbook = runbooks.Link(m.Reason)
	}
	return l
}

// Format renders a message as Slack JSON. Callers redact first.
func Format(m Message, l Links) SlackPayload {
	t, ok := eventTitles[m.Event]
	if !ok {
		t = [2]string{":information_source:", m.Event}
	}
	// The top-level text is mrkdwn too (notifications, clients without
	// blocks): every value in it is escaped.
	head := fmt.Sprintf("ferry: %s %s", escape(m.App), escape(t[1]))
	if m.Stage != "" {
		head += " (" + escape(m.Stage) + ")"
	}
	if m.Owner != "" {
		head += ", owner " + escape(m.Owner)
	}
	var text strings.Builder
	text.WriteString(head)
	if m.Needed != "" {
		text.WriteString(". Needed: " + escape(m.Needed))
	}
	if l.Workflow != "" {
		text.WriteString(". Workflow: " + escape(l.Workflow))
	}
	if l.Runbook != "" {
		text.WriteString(". Runbook: " + escape(l.Runbook))
	}
	if l.AppRunbook != "" {
		text.WriteString(". App runbook: " + escape(l.AppRunbook))
	}

	blocks := []SlackBlock{{Type: "section", Text: &SlackText{Type: "mrkdwn",
		Text: fmt.Sprintf("%s *%s* %s", t[0], escape(m.App), escape(t[1]))}}}
	fields := []SlackText{mrkdwn("*App*\n" + escape(m.App))}
	if m.Owner != "" {
		fields = append(fields, mrkdwn("*Owner*\n"+escape(m.Owner)))
	}
	if m.Stage != "" {
		fields = append(fields, mrkdwn("*Stage*\n"+escape(m.Stage)))
	}
	if m.Reason != "" {
		fields = append(fields, mrkdwn("*Reason*\n"+escape(string(m.Reason))))
	}
	blocks = append(blocks, SlackBlock{Type: "section", Fields: fields})
	if m.Needed != "" {
		blocks = append(blocks, SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: "*Needed:* " + escape(m.Needed)}})
	}
	if m.Detail != "" {
		d := m.Detail
		if len(d) > 2500 { // Slack caps a text object at 3000
			d = strings.ToValidUTF8(d[:2500], "") + "…"
		}
		blocks = append(blocks, SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: "```" + strings.ReplaceAll(textsafe.SlackText(d), "```", "'''") + "```"}})
	}
	var links []SlackText
	if l.Workflow != "" {
		links = append(links, mrkdwn(link(l.Workflow, "Workflow in Temporal UI")))
	}
	if l.Runbook != "" {
		links = append(links, mrkdwn(link(l.Runbook, "ferry runbook: "+string(m.Reason))))
	}
	if l.AppRunbook != "" {
		links = append(links, mrkdwn(link(l.AppRunbook, "app runbook")))
	}
	if len(links) > 0 {
		blocks = append(blocks, SlackBlock{Type: "context", Elements: links})
	}
	return SlackPayload{Text: text.String(), Blocks: blocks}
}

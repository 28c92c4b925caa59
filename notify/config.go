// Package notify tells people what a migration needs: Slack-compatible
// webhooks, retried with backoff, with no secrets in payloads.
package notify

// Config says where notifications go. The webhook URL is a secret (Slack
// URLs embed a token) and is never serialised.
type Config struct {
	WebhookURL string `json:"-"`
	UIBaseURL  string `json:"uiBaseURL,omitempty"` // Temporal UI, for workflow links
	Namespace  string `json:"namespace,omitempty"`
}

// Package notify tells people what a migration needs: Slack-compatible
// webhooks, retried with backoff, with no secrets in payloads.
package notify

import "os"

// EnvWebhookURL holds the webhook URL (a secret: Slack URLs embed a token).
const EnvWebhookURL = "FERRY_WEBHOOK_URL"

// Config says where notifications go. The webhook URL is a secret (Slack
// URLs embed a token) and is never serialised.
type Config struct {
	WebhookURL string `json:"-"`
	UIBaseURL  string `json:"uiBaseURL,omitempty"` // Temporal UI, for workflow links
	Namespace  string `json:"namespace,omitempty"`
}

// ConfigFromEnv reads FERRY_WEBHOOK_URL, FERRY_UI_URL and FERRY_NAMESPACE
// (defaults: no webhook, http://localhost:8233, default).
func ConfigFromEnv(getenv func(string) string) Config {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Config{WebhookURL: getenv(EnvWebhookURL), UIBaseURL: getenv("FERRY_UI_URL"), Namespace: getenv("FERRY_NAMESPACE")}
	if c.UIBaseURL == "" {
		c.UIBaseURL = "http://localhost:8233"
	}
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	return c
}

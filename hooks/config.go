// Package hooks runs the commands an app team declares in the plan
// (pre_provision, post_provision, pre_cutover, smoke_test, post_cutover),
// capturing truncated output with secrets redacted.
package hooks

// Config holds the hook runner's settings.
type Config struct {
	MaxOutputBytes int `json:"maxOutputBytes,omitempty"`
}

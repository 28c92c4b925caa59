// Package hooks runs the commands an app team declares in the plan
// (pre_provision, post_provision, pre_cutover, smoke_test, post_cutover,
// and client_dns for names in zones ferry does not own),
// capturing truncated output with secrets redacted.
package hooks

import "time"

// Config holds the hook runner's settings.
type Config struct {
	MaxOutputBytes int `json:"maxOutputBytes,omitempty"`
	// DefaultTimeout applies to hooks whose plan gives none.
	DefaultTimeout time.Duration `json:"defaultTimeout,omitempty"`
	// BaseDir resolves relative working directories (usually the directory
	// of the plan file on the worker).
	BaseDir string `json:"baseDir,omitempty"`
	// ProgressEvery is how often a running hook reports progress (the
	// activity heartbeats with it); 0: a third of the heartbeat timeout,
	// at most 5s.
	ProgressEvery time.Duration `json:"progressEvery,omitempty"`
}

// Defaults.
const (
	DefaultMaxOutputBytes = 64 << 10
	DefaultTimeout        = 10 * time.Minute
	DefaultKillGrace      = 5 * time.Second
)

package runbooks

import (
	"embed"
	"errors"
	"os"
	"strings"
	"sync"

	"go.temporal.io/sdk/temporal"
)

//go:embed *.md
var files embed.FS

// EnvBaseURL overrides where runbook links point (e.g. the repository's
// web view: https://github.com/org/ferry/blob/main/runbooks/).
const EnvBaseURL = "FERRY_RUNBOOK_BASE_URL"

// DefaultBaseURL is the repository-relative folder of the runbooks.
const DefaultBaseURL = "runbooks/"

var (
	baseMu  sync.RWMutex
	baseURL = os.Getenv(EnvBaseURL)
)

// SetBaseURL sets the prefix of runbook links; "" restores the default.
func SetBaseURL(u string) {
	baseMu.Lock()
	baseURL = u
	baseMu.Unlock()
}

// BaseURL is the prefix of runbook links this process uses (SetBaseURL,
// else FERRY_RUNBOOK_BASE_URL, else "").
func BaseURL() string {
	baseMu.RLock()
	defer baseMu.RUnlock()
	return baseURL
}

// Link is a stable link to a reason's runbook: <base>/<reason>.md, with
// this process's BaseURL.
func Link(r Reason) string { return LinkAt(BaseURL(), r) }

// LinkAt is the link to a reason's runbook under base (DefaultBaseURL
// when empty). Workflow code calls it with the base the worker reported
// through an activity, never a package global.
func LinkAt(b string, r Reason) string {
	if b == "" {
		b = DefaultBaseURL
	}
	if !strings.HasSuffix(b, "/") {
		b += "/"
	}
	if !Known(r) {
		r = ReasonUnknown
	}
	return b + string(r) + ".md"
}

// Get returns a reason's runbook (markdown).
func Get(r Reason) (string, bool) {
	b, err := files.ReadFile(string(r) + ".md")
	if err != nil {
		return "", false
	}
	return string(b), true
}

// All lists every reason: failures first, then gates and waits.
func All() []Reason {
	out := make([]Reason, 0, len(failures)+len(gates))
	out = append(out, failures...)
	return append(out, gates...)
}

// Known reports whether r is one of ferry's reasons.
func Known(r Reason) bool {
	for _, k := range All() {
		if k == r {
			return true
		}
	}
	return false
}

// IsGate reports whether r is a healthy wait (for people or time) rather
// than a failure.
func IsGate(r Reason) bool {
	for _, g := range gates {
		if g == r {
			return true
		}
	}
	return false
}

// Summary is the runbook's one-line summary: its title.
func Summary(r Reason) string {
	text, ok := Get(r)
	if !ok {
		return ""
	}
	first, _, _ := strings.Cut(text, "\n")
	return strings.TrimSpace(strings.TrimPrefix(first, "# "+string(r)+":"))
}

// ReasonOf finds the reason in an error chain: the type of a Temporal
// ApplicationError (as activities return them), else ReasonUnknown.
func ReasonOf(err error) Reason {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		if r := Reason(ae.Type()); Known(r) {
			return r
		}
	}
	var r Reason
	if errors.As(err, &r) && Known(r) {
		return r
	}
	return ReasonUnknown
}

// Error makes a Reason usable as a sentinel error.
func (r Reason) Error() string { return string(r) }

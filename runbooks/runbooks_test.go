package runbooks

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
)

var sections = []string{"## What happened", "## How to check", "## How to fix", "## Retry, skip or rollback"}

func TestEveryReasonHasARunbook(t *testing.T) {
	for _, r := range All() {
		text, ok := Get(r)
		if !ok {
			t.Errorf("reason %s has no runbook %s.md", r, r)
			continue
		}
		if !strings.HasPrefix(text, "# "+string(r)+": ") {
			t.Errorf("%s.md must start with '# %s: <title>'", r, r)
		}
		last := -1
		for _, s := range sections {
			i := strings.Index(text, "\n"+s+"\n")
			if i < 0 {
				t.Errorf("%s.md lacks section %q", r, s)
				continue
			}
			if i < last {
				t.Errorf("%s.md: section %q out of order", r, s)
			}
			last = i
		}
		if Summary(r) == "" {
			t.Errorf("%s.md: empty summary", r)
		}
		// Every runbook tells people how to look and what to send.
		if !strings.Contains(text, "ferry migrate status APP") {
			t.Errorf("%s.md does not say how to check with `ferry migrate status APP`", r)
		}
		if !strings.Contains(text, `"by":"you@example.com"`) && !strings.Contains(text, `"approver":"you@example.com"`) {
			t.Errorf("%s.md gives no signal JSON payload", r)
		}
	}
}

func TestEveryRunbookMapsToAReason(t *testing.T) {
	names, err := fs.Glob(files, "*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(All()) {
		t.Errorf("%d runbooks for %d reasons", len(names), len(All()))
	}
	for _, n := range names {
		if r := Reason(strings.TrimSuffix(n, ".md")); !Known(r) {
			t.Errorf("runbook %s has no reason in reasons.go", n)
		}
	}
}

func TestGatesAreWaits(t *testing.T) {
	for _, r := range []Reason{ReasonGateApproveCutover, ReasonChangeWindow, ReasonRetention} {
		if !IsGate(r) {
			t.Errorf("%s is a gate", r)
		}
	}
	if IsGate(ReasonHookFailed) {
		t.Error("hook-failed is not a gate")
	}
	text, _ := Get(ReasonGateApproveCutover)
	if !strings.Contains(text, "ferry migrate approve APP --stage cutover --print-signal") || !strings.Contains(text, `{"stage":"cutover","approver":"you@example.com","comment":"..."`) {
		t.Error("the cutover gate runbook lacks how to produce the signed approve JSON")
	}
}

func TestLink(t *testing.T) {
	t.Cleanup(func() { SetBaseURL("") })
	SetBaseURL("")
	if got := Link(ReasonHookFailed); got != "runbooks/hook-failed.md" {
		t.Errorf("default link %q", got)
	}
	SetBaseURL("https://git.example.com/ferry/blob/main/runbooks")
	if got := Link(ReasonSLOGate); got != "https://git.example.com/ferry/blob/main/runbooks/slo-gate-failed.md" {
		t.Errorf("link %q", got)
	}
	if got := Link("no-such-reason"); !strings.HasSuffix(got, "/unknown.md") {
		t.Errorf("unknown reason link %q", got)
	}
}

func TestReasonOf(t *testing.T) {
	appErr := temporal.NewNonRetryableApplicationError("hook smoke exited 3", string(ReasonHookFailed), nil, "output")
	wrapped := fmt.Errorf("activity RunHook: %w", appErr)
	cases := map[error]Reason{
		appErr:  ReasonHookFailed,
		wrapped: ReasonHookFailed,
		temporal.NewApplicationError("x", "SomethingElse"): ReasonUnknown,
		errors.New("plain"): ReasonUnknown,
		nil:                 ReasonUnknown,
		fmt.Errorf("locked: %w", error(ReasonTerraformLocked)):          ReasonTerraformLocked,
		temporal.NewApplicationError("slow", string(ReasonHookTimeout)): ReasonHookTimeout,
	}
	for err, want := range cases {
		if got := ReasonOf(err); got != want {
			t.Errorf("ReasonOf(%v) = %s, want %s", err, got, want)
		}
	}
}

package workflows

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/runbooks"
)

// A parked step links its runbook under the base the worker reported when
// it resolved the spec, not under whatever the package global says when
// the workflow code runs: workflow code reads no configuration.
func TestRunbookLinkFromTheWorkerNotAGlobal(t *testing.T) {
	t.Cleanup(func() { runbooks.SetBaseURL("") })
	runbooks.SetBaseURL("https://wiki.example/ferry/runbooks/")
	h := newHarness(t)
	failed := false
	h.f.Fail = func(n string) error {
		if n == activities.TerraformApplyName && !failed {
			failed = true
			runbooks.SetBaseURL("https://elsewhere.example/") // the global moves after the resolve
			return temporal.NewNonRetryableApplicationError("apply failed", "test-failure", nil)
		}
		return nil
	}
	var parked Status
	at(h.env, 90*time.Minute, func() {
		parked = status(h.env)
		signal(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "stop"})
	})
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.run()
	if parked.LastError == nil {
		t.Fatalf("not parked: %+v", parked)
	}
	if got := parked.LastError.Runbook; !strings.HasPrefix(got, "https://wiki.example/ferry/runbooks/") {
		t.Errorf("runbook link %q, want one under the base the worker reported (https://wiki.example/ferry/runbooks/)", got)
	}
}

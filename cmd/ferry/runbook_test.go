package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/runbooks"
)

func TestRunbookList(t *testing.T) {
	out, err := run(t, "runbook")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runbooks.All() {
		if !strings.Contains(out, string(r)+" ") {
			t.Errorf("list lacks %s", r)
		}
	}
	if !strings.Contains(out, "A plan hook exited with an error") {
		t.Errorf("list has no summaries:\n%s", out)
	}
}

func TestRunbookOne(t *testing.T) {
	out, err := run(t, "runbook", "hook-timeout")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# hook-timeout:", "## How to fix", "ferry migrate retry APP", "Link: runbooks/hook-timeout.md"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	out, err = run(t, "runbook", "gate-approve-cutover", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var row runbookRow
	if err := json.Unmarshal([]byte(out), &row); err != nil || row.Kind != "gate" || !strings.Contains(row.Text, `"stage":"cutover"`) {
		t.Fatalf("json: %v %+v", err, row)
	}
	if _, err := run(t, "runbook", "no-such-reason"); err == nil || !strings.Contains(err.Error(), "ferry runbook") {
		t.Fatalf("unknown reason: %v", err)
	}
}

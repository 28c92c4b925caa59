package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/readiness"
)

func TestReadinessSample(t *testing.T) {
	out, err := run(t, "readiness", "--sample", "--strict")
	if err != nil {
		t.Fatalf("the default sample has no not-ready app: %v\n%s", err, out)
	}
	if !strings.Contains(out, "catalog-db") || !strings.Contains(out, "CentOS 7 reached end of life") || !strings.Contains(out, "fix: ") {
		t.Errorf("table:\n%s", out)
	}
	out, err = run(t, "readiness", "--sample", "--app", "hr-db", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep readiness.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Schema != readiness.SchemaVersion || len(rep.Apps) != 1 || rep.Apps[0].Name != "hr-db" {
		t.Fatalf("json: %v %+v", err, rep)
	}
	if _, err := run(t, "readiness", "--sample", "--app", "no-such-app"); err == nil || !strings.Contains(err.Error(), "ferry apps") {
		t.Errorf("unknown app: %v", err)
	}
}

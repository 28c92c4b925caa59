package test

import (
	"context"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/plan"
	ferryworker "github.com/ferrymigrate/ferry/worker"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestRecordClientDNSHistory records, into workflows/testdata, migrations
// whose client names move with the cutover (behind GetVersion
// client-dns): one to the end (TTL lowered, waited out, names pointed at
// the load balancer, TTL back after the decommission approval), and one
// rolled back after its cutover (names restored, then their TTL).
//
//	FERRY_RECORD_HISTORY=clientdns go test ./test -run RecordClientDNSHistory
func TestRecordClientDNSHistory(t *testing.T) {
	if v := os.Getenv("FERRY_RECORD_HISTORY"); v != "1" && v != "clientdns" {
		t.Skip("set FERRY_RECORD_HISTORY=clientdns to re-record workflows/testdata/history-client-dns*.json")
	}
	srv := startDevServer(t)
	c := srv.Client(t)
	names := func(s *plan.AppSpec) {
		s.Cutover.ClientDNS = []plan.ClientDNS{{Name: s.Name + ".corp.example.", Zone: "corp", Project: "ferry-history", TTLDuring: 30 * time.Second}}
	}
	plans := recPlans{edits: map[string]func(*plan.AppSpec){"history-client-dns": names, "history-client-dns-rollback": names}}
	f := &fakeacts.Fakes{Plans: plans}
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	f.Register(w)
	ferryworker.RegisterWorkflows(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, tc := range []struct {
		app        string
		rollbackAt string // stage the rollback is sent at, "" for none
		want       string
	}{
		{"history-client-dns", "", workflows.StageDone},
		{"history-client-dns-rollback", workflows.StageApproveDecommission, workflows.StageRolledBack},
	} {
		f.ClientDNS.WaitUntil = time.Now().Add(3 * time.Second) // the old TTL runs out: a recorded timer
		if _, err := startQuick(ctx, c, tc.app); err != nil {
			t.Fatal(err)
		}
		d := &driver{c: c}
		if tc.rollbackAt != "" {
			if _, err := d.run(ctx, tc.app, tc.rollbackAt); err != nil {
				t.Fatal(err)
			}
			if _, err := rollbackAs(ctx, c, tc.app, "ana@example.com", testKeys, "recorded rollback after cutover"); err != nil {
				t.Fatal(err)
			}
		}
		got, err := d.run(ctx, tc.app, "")
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Fatalf("%s ended %s, want %s", tc.app, got, tc.want)
		}
		saveHistory(ctx, t, c, workflows.AppWorkflowID(tc.app), tc.app)
	}
}

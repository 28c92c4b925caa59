package test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/plan"
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
	startFakeWorker(t, c, f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	recordRuns(ctx, t, c, []recordedRun{
		{"history-client-dns", "", workflows.StageDone},
		{"history-client-dns-rollback", workflows.StageApproveDecommission, workflows.StageRolledBack},
	}, func(recordedRun) {
		f.ClientDNS.WaitUntil = time.Now().Add(3 * time.Second) // the old TTL runs out: a recorded timer
	})
}

package activities

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/gcpfake"
)

// An attempt that dies while the cutover jobs run (here: its poll of a
// job fails, as when the worker loses the API or is killed after creating
// the jobs): the next attempt, on another worker, adopts the running jobs
// and creates none.
func TestCutoverAttemptDiesMidJobAdopts(t *testing.T) {
	e := replicaFake(t)
	spec := replicaSpec("ledger-db", 0, [3]string{"vm-301", "pg-1", "2"}, [3]string{"vm-302", "pg-2", "2"})
	ref := testRef(spec)
	var sr StartReplicationResult
	e.must(StartReplicationName, ReplicationInput{Plan: ref}, &sr)
	e.waitStatus(ref, func(s ReplicationStatusResult) bool { return s.Ready })
	// Cutover jobs that last seconds: shutting the sources down is slow.
	slow := 2 * time.Second
	restore := e.fake.M2VM().SetStepOverhead(slow)
	defer restore()

	var s testsuite.WorkflowTestSuite
	first := s.NewTestActivityEnvironment()
	first.RegisterActivity(&Activities{Plans: testPlans, GCP: e.gcp})
	if err := e.fake.Faults().Add(gcpfake.Fault{PathRegexp: "VmMigration/GetCutoverJob$", Status: 503, Times: 1}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err := first.ExecuteActivity(CutoverReplicationName, ReplicationInput{Plan: ref})
	if reasonOf(err) != "gcp-api-error" || time.Since(began) > 2*time.Second {
		t.Fatalf("the first attempt: %v after %s", err, time.Since(began))
	}
	jobs := e.fake.M2VM().Calls()["CreateCutoverJob"]
	if jobs != 2 {
		t.Fatalf("%d cutover jobs created by the first attempt", jobs)
	}
	restore()
	var cr CutoverReplicationResult
	e.must(CutoverReplicationName, ReplicationInput{Plan: ref}, &cr)
	if !cr.VMs[0].Adopted || !cr.VMs[1].Adopted || e.fake.M2VM().Calls()["CreateCutoverJob"] != jobs || cr.VMs[0].State != "SUCCEEDED" {
		t.Fatalf("second attempt: %+v, jobs %d -> %d", cr, jobs, e.fake.M2VM().Calls()["CreateCutoverJob"])
	}
	for _, m := range e.fake.M2VM().MigratingVMs() {
		if len(m.CutoverJobs) != 1 || !strings.HasSuffix(m.CutoverJobs[0], "SUCCEEDED") {
			t.Fatalf("%s: cutover jobs %v", m.Name, m.CutoverJobs)
		}
	}
}

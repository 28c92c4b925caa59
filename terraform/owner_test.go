package terraform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/gcpfake"
)

func ownerObject(app string) string { return StatePrefix(specForBackend(), app) + "/" + OwnerObject }

// writeOwner writes the run marker the way an earlier attempt did.
func writeOwner(t *testing.T, s *gcpfake.Server, app string, o Owner) {
	t.Helper()
	b, _ := json.Marshal(o)
	u := fmt.Sprintf("%s/upload/storage/v1/b/%s/o?uploadType=media&name=%s", s.URL(), stateBucket, url.QueryEscape(ownerObject(app)))
	resp, err := http.Post(u, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("write owner marker: %s", resp.Status)
	}
}

func objectExists(t *testing.T, s *gcpfake.Server, name string) bool {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/storage/v1/b/%s/o/%s", s.URL(), stateBucket, url.PathEscape(name)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

var earlier = Owner{WorkflowID: "migrate-ledger", RunID: "run-1", ActivityID: "12", Attempt: 1, Worker: "worker-a/4242"}

// A worker died mid-run: its lock and its marker stay. The next attempt of
// the same activity force-unlocks that lock at once (well inside the lock
// timeout), runs, and leaves neither lock nor marker behind.
func TestStaleLockOfEarlierAttemptRecovered(t *testing.T) {
	fake, cfg, g := fakeEnv(t)
	spec := specFor(t, "ledger")
	prev := earlier
	prev.Started = time.Now().UTC()
	writeOwner(t, fake, spec.Name, prev)
	id, _ := holdLock(t, fake, spec.Name)

	r, _ := NewRunner(cfg, g, spec)
	r.LockTimeout = 2 * time.Second
	me := earlier
	me.Attempt, me.Worker, me.Started = 2, "worker-b/77", time.Now().UTC()
	r.Owner = &me
	var msgs []string
	r.Progress = func(p Progress) { msgs = append(msgs, p.Message) }
	if _, _, err := r.Plan(context.Background()); err != nil {
		t.Fatalf("plan after a dead attempt's lock: %v", err)
	}
	if len(r.Recovered) != 1 || r.Recovered[0].ID != id || r.Recovered[0].Previous.Attempt != 1 || r.Recovered[0].Who != foreignLock["Who"] {
		t.Fatalf("recovered %+v, want lock %s of attempt 1", r.Recovered, id)
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "recovered the state lock left by attempt 1") {
		t.Errorf("no recovery message in progress: %q", msgs)
	}
	if objectExists(t, fake, lockObject(spec.Name)) || objectExists(t, fake, ownerObject(spec.Name)) {
		t.Errorf("lock or marker left after the run")
	}
}

// Locks the runner must not take over: it waits its lock timeout and
// names the holder, and the lock stays.
func TestLockNotRecovered(t *testing.T) {
	other := earlier
	other.WorkflowID = "migrate-ledger-by-someone-else"
	for _, tc := range []struct {
		name       string
		marker     *Owner
		lockFirst  bool // the lock predates the marker
		ownerOfRun Owner
	}{
		{name: "no-marker", ownerOfRun: Owner{WorkflowID: earlier.WorkflowID, ActivityID: "12", Attempt: 2}},
		{name: "other-workflow", marker: &other, ownerOfRun: Owner{WorkflowID: earlier.WorkflowID, ActivityID: "12", Attempt: 2}},
		{name: "lock-older-than-marker", marker: &earlier, lockFirst: true, ownerOfRun: Owner{WorkflowID: earlier.WorkflowID, ActivityID: "12", Attempt: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, cfg, g := fakeEnv(t)
			spec := specFor(t, "ledger")
			var id string
			if tc.lockFirst {
				id, _ = holdLock(t, fake, spec.Name)
				time.Sleep(20 * time.Millisecond) // distinct creation times
			}
			if tc.marker != nil {
				writeOwner(t, fake, spec.Name, *tc.marker)
			}
			if !tc.lockFirst {
				id, _ = holdLock(t, fake, spec.Name)
			}
			r, _ := NewRunner(cfg, g, spec)
			r.LockTimeout = 2 * time.Second
			o := tc.ownerOfRun
			r.Owner = &o
			_, _, err := r.Plan(context.Background())
			var locked *LockedError
			if !errors.As(err, &locked) || locked.ID != id || locked.Who != foreignLock["Who"] {
				t.Fatalf("want a LockedError naming %s (lock %s), got %v", foreignLock["Who"], id, err)
			}
			if len(r.Recovered) != 0 || !objectExists(t, fake, lockObject(spec.Name)) {
				t.Fatalf("lock taken over: recovered %+v", r.Recovered)
			}
		})
	}
}

func TestStaleLockRule(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 22, 0, 0, 0, time.UTC)
	m := func(o Owner) *marker { return &marker{Owner: o, Created: t0} }
	lock := &heldLock{Generation: 1, Created: t0.Add(time.Second)}
	me := Owner{WorkflowID: "w", ActivityID: "5", Attempt: 3}
	for _, tc := range []struct {
		name string
		l    *heldLock
		m    *marker
		want bool
	}{
		{"earlier attempt", lock, m(Owner{WorkflowID: "w", ActivityID: "5", Attempt: 2}), true},
		{"other activity of the workflow", lock, m(Owner{WorkflowID: "w", ActivityID: "4", Attempt: 9}), true},
		{"same attempt", lock, m(Owner{WorkflowID: "w", ActivityID: "5", Attempt: 3}), false},
		{"later attempt", lock, m(Owner{WorkflowID: "w", ActivityID: "5", Attempt: 4}), false},
		{"other workflow", lock, m(Owner{WorkflowID: "x", ActivityID: "5", Attempt: 1}), false},
		{"no marker", lock, nil, false},
		{"no lock", nil, m(Owner{WorkflowID: "w", ActivityID: "5", Attempt: 2}), false},
		{"lock before marker", &heldLock{Created: t0.Add(-time.Second)}, m(Owner{WorkflowID: "w", ActivityID: "5", Attempt: 2}), false},
		{"lock at marker", &heldLock{Created: t0}, m(Owner{WorkflowID: "w", ActivityID: "5", Attempt: 2}), true},
	} {
		if got := staleLock(tc.l, tc.m, me); got != tc.want {
			t.Errorf("%s: staleLock = %v, want %v", tc.name, got, tc.want)
		}
	}
	if staleLock(lock, m(Owner{ActivityID: "5", Attempt: 1}), Owner{ActivityID: "5", Attempt: 2}) {
		t.Error("runs without a workflow ID must never take a lock over")
	}
}

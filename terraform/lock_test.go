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
	"github.com/ferrymigrate/ferry/plan"
)

// foreignLock is the lock info terraform's gcs backend writes into
// <prefix>/default.tflock (statemgr.LockInfo): here, someone else's run
// from a jump host, not a ferry worker.
var foreignLock = map[string]string{
	"ID":        "c0ffee00-1111-2222-3333-444455556666",
	"Operation": "OperationTypeApply",
	"Info":      "",
	"Who":       "ops@jumphost-3",
	"Version":   "1.11.4",
	"Created":   "2026-11-21T21:00:00.000000000Z",
}

func lockObject(app string) string {
	return StatePrefix(specForBackend(), app) + "/default.tflock"
}

// holdLock writes the lock object the way terraform does (a create that
// must not overwrite) and returns a function that releases it.
// The gcs backend's lock ID is the lock object's generation (what
// force-unlock takes), not the ID field inside the object.
func holdLock(t *testing.T, s *gcpfake.Server, app string) (generation string, release func()) {
	t.Helper()
	obj := lockObject(app)
	info := map[string]string{}
	for k, v := range foreignLock {
		info[k] = v
	}
	info["Path"] = "gs://" + stateBucket + "/" + obj
	b, _ := json.Marshal(info)
	u := fmt.Sprintf("%s/upload/storage/v1/b/%s/o?uploadType=media&ifGenerationMatch=0&name=%s", s.URL(), stateBucket, url.QueryEscape(obj))
	resp, err := http.Post(u, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Generation string `json:"generation"`
	}
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || created.Generation == "" {
		t.Fatalf("write lock object %s: %s (%v)", obj, resp.Status, err)
	}
	return created.Generation, func() {
		req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/storage/v1/b/%s/o/%s", s.URL(), stateBucket, url.PathEscape(obj)), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Errorf("release lock object %s: %s", obj, resp.Status)
		}
	}
}

func specForBackend() plan.Backend {
	return plan.Backend{Type: "gcs", Bucket: stateBucket, Prefix: "ferry"}
}

func waitABit() { time.Sleep(50 * time.Millisecond) }

// A lock held by someone outside ferry: the run waits its lock timeout,
// then fails with a LockedError carrying the holder's lock info, and the
// message says who holds it and how to proceed.
func TestForeignStateLockNamesHolder(t *testing.T) {
	fake, cfg, g := fakeEnv(t)
	spec := specFor(t, "ledger")
	id, _ := holdLock(t, fake, spec.Name)
	r, _ := NewRunner(cfg, g, spec)
	r.LockTimeout = 2 * time.Second
	_, _, err := r.Plan(context.Background())
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("want a LockedError, got %v", err)
	}
	if locked.ID != id || locked.Who != foreignLock["Who"] || locked.Operation != foreignLock["Operation"] || locked.Created == "" || locked.App != spec.Name {
		t.Fatalf("lock info %+v, want the holder's %v", locked, foreignLock)
	}
	for _, want := range []string{"ops@jumphost-3", "OperationTypeApply", "force-unlock " + id, `"ledger"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %s", want, err)
		}
	}
	// It retried the lock while waiting, then gave up without touching
	// the state: the foreign lock is still there.
	if n := fake.RequestCount("", `\.tflock|/upload/`); n < 2 {
		t.Errorf("lock attempts seen by the fake: %d, want several", n)
	}
	t.Log(err)
}

// The same lock released while ferry waits: the run proceeds as soon as it
// can take the lock (no failure, no operator needed).
// Both places terraform takes the lock: init creating a new app's state
// (ferry's own wait) and plan on an existing state (-lock-timeout).
func TestForeignStateLockReleasedWhileWaiting(t *testing.T) {
	t.Run("new-state", func(t *testing.T) { lockReleasedWhileWaiting(t, false) })
	t.Run("existing-state", func(t *testing.T) { lockReleasedWhileWaiting(t, true) })
}

func lockReleasedWhileWaiting(t *testing.T, stateExists bool) {
	fake, cfg, g := fakeEnv(t)
	spec := specFor(t, "ledger")
	r, _ := NewRunner(cfg, g, spec)
	r.LockTimeout = DefaultLockTimeout
	if stateExists {
		if err := r.Init(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	_, release := holdLock(t, fake, spec.Name)
	done := make(chan error, 1)
	go func() { _, _, err := r.Plan(context.Background()); done <- err }()
	// Release once terraform has been refused the lock at least once, so
	// the run provably waited on it.
	for refused := false; !refused; {
		select {
		case err := <-done:
			t.Fatalf("plan ended while the lock was held: %v", err)
		default:
		}
		for _, q := range fake.Requests() {
			if q.Status == http.StatusPreconditionFailed {
				refused = true
			}
		}
		if !refused {
			waitABit()
		}
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("plan after the lock was released: %v", err)
	}
}

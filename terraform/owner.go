package terraform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"cloud.google.com/go/storage"
)

// OwnerObject is the run marker next to an app's gcs state: who runs
// terraform on it now. It proves that a state lock left behind belongs to
// a dead attempt of the same migration.
const OwnerObject = "ferry-owner.json"

// Owner is the activity attempt running terraform (from the activity's
// info). It holds no secret.
type Owner struct {
	WorkflowID string    `json:"workflowID"`
	RunID      string    `json:"runID"`
	ActivityID string    `json:"activityID"`
	Attempt    int32     `json:"attempt"`
	Worker     string    `json:"worker"`
	Started    time.Time `json:"started"`
}

// supersedes reports whether o is a later attempt of the same migration
// than prev: Temporal only starts it once prev timed out, and one live
// migration per app holds, so prev's terraform is gone.
func (o Owner) supersedes(prev Owner) bool {
	if o.WorkflowID == "" || prev.WorkflowID != o.WorkflowID {
		return false
	}
	return prev.ActivityID != o.ActivityID || prev.Attempt < o.Attempt
}

// heldLock is the gcs backend's lock object: its generation is the lock ID.
type heldLock struct {
	Generation int64
	Created    time.Time
	Who        string
}

// marker is the owner object as read back.
type marker struct {
	Owner
	Generation int64
	Created    time.Time // the object's (server) creation time
}

// staleLock reports whether the lock was left by an earlier attempt of
// me's migration: the marker names that attempt and the lock was taken
// after the marker was written (both by the storage service's clock).
func staleLock(l *heldLock, m *marker, me Owner) bool {
	if l == nil || m == nil || !me.supersedes(m.Owner) {
		return false
	}
	started := m.Created
	if started.IsZero() {
		started = m.Started
	}
	return !l.Created.Before(started)
}

// stateStore reaches the app's gcs state objects; nil for other backends.
type stateStore struct {
	client *storage.Client
	bucket *storage.BucketHandle
	prefix string
}

func (r *Runner) store(ctx context.Context) (*stateStore, error) {
	be := r.spec.Backend
	if be.Type != "gcs" {
		return nil, nil
	}
	c, err := storage.NewClient(ctx, r.opts.GCP.StorageOptions()...)
	if err != nil {
		return nil, fmt.Errorf("storage client for the terraform state of app %q: %w", r.spec.Name, err)
	}
	return &stateStore{client: c, bucket: c.Bucket(be.Bucket), prefix: StatePrefix(be, r.spec.Name)}, nil
}

func (s *stateStore) lock(ctx context.Context) (*heldLock, error) {
	obj := s.bucket.Object(s.prefix + "/default.tflock")
	a, err := obj.Attrs(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l := &heldLock{Generation: a.Generation, Created: a.Created}
	if rd, err := obj.Generation(a.Generation).NewReader(ctx); err == nil {
		var info struct{ Who string }
		b, _ := io.ReadAll(io.LimitReader(rd, 64<<10))
		_ = rd.Close()
		_ = json.Unmarshal(b, &info)
		l.Who = info.Who
	}
	return l, nil
}

func (s *stateStore) marker(ctx context.Context) (*marker, error) {
	obj := s.bucket.Object(s.prefix + "/" + OwnerObject)
	rd, err := obj.NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	b, err := io.ReadAll(io.LimitReader(rd, 64<<10))
	if err != nil {
		return nil, err
	}
	m := &marker{Generation: rd.Attrs.Generation}
	if json.Unmarshal(b, &m.Owner) != nil {
		return nil, nil // not ours to interpret: treat as no marker
	}
	if a, err := obj.Generation(m.Generation).Attrs(ctx); err == nil {
		m.Created = a.Created
	}
	return m, nil
}

func (s *stateStore) writeMarker(ctx context.Context, o Owner) (int64, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return 0, err
	}
	w := s.bucket.Object(s.prefix + "/" + OwnerObject).NewWriter(ctx)
	w.ContentType = "application/json"
	if _, err := w.Write(b); err != nil {
		_ = w.Close()
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return w.Attrs().Generation, nil
}

// claim recovers a state lock an earlier attempt of the same migration
// left behind, then writes the owner marker. The returned function deletes
// the marker (only if it is still this run's). Failures to reach the
// marker never stop the run: terraform's own locking still protects the
// state, only the recovery is lost.
func (r *Runner) claim(ctx context.Context) (release func()) {
	if r.Owner == nil {
		return func() {}
	}
	s, err := r.store(ctx)
	if s == nil || err != nil {
		return func() {}
	}
	if _, err := r.recoverLock(ctx, s); err != nil {
		r.report("lock", fmt.Sprintf("checking the state lock of app %q: %v", r.spec.Name, err))
	}
	gen, err := s.writeMarker(ctx, *r.Owner)
	if err != nil {
		r.report("lock", fmt.Sprintf("writing the run marker of app %q: %v", r.spec.Name, err))
		_ = s.client.Close()
		return func() {}
	}
	return func() {
		// Best effort, also after a cancelled run.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = s.bucket.Object(s.prefix + "/" + OwnerObject).If(storage.Conditions{GenerationMatch: gen}).Delete(dctx)
		_ = s.client.Close()
	}
}

// recoverLock force-unlocks a lock left by an earlier attempt of this
// migration. It deletes the lock object only at the generation it judged
// (what `terraform force-unlock <generation>` does for gcs), so a lock
// taken since is never touched; that also works before init.
func (r *Runner) recoverLock(ctx context.Context, s *stateStore) (bool, error) {
	l, err := s.lock(ctx)
	if l == nil || err != nil {
		return false, err
	}
	m, err := s.marker(ctx)
	if err != nil {
		return false, err
	}
	if !staleLock(l, m, *r.Owner) {
		return false, nil
	}
	err = s.bucket.Object(s.prefix + "/default.tflock").If(storage.Conditions{GenerationMatch: l.Generation}).Delete(ctx)
	if err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
		return false, fmt.Errorf("force-unlock %s: %w", strconv.FormatInt(l.Generation, 10), err)
	}
	r.Recovered = append(r.Recovered, RecoveredLock{ID: strconv.FormatInt(l.Generation, 10), Who: l.Who, Previous: m.Owner})
	r.report("lock", fmt.Sprintf("recovered the state lock left by attempt %d of activity %s (worker %s lost); lock ID %d",
		m.Attempt, m.ActivityID, orStr(m.Worker, "unknown"), l.Generation))
	return true, nil
}

// RecoveredLock is a state lock the runner force-unlocked because an
// earlier attempt of the same migration left it.
type RecoveredLock struct {
	ID, Who  string
	Previous Owner
}

func (r *Runner) report(phase, msg string) {
	if r.Progress != nil {
		r.Progress(Progress{Phase: phase, Message: msg})
	}
}

package terraform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"cloud.google.com/go/storage"
)

// PlanRecordDir holds, next to the app's state (the gcs prefix, or the
// working directory with a local backend), the change set of every plan
// the runner made, by plan hash. Apply reads the approved one to tell an
// interrupted apply's remainder from a changed plan, and to name what
// changed. Sensitive values are replaced before a record is written.
const PlanRecordDir = "ferry-plans"

// planHash is the form of PlanSummary.Hash: "<changes>.<module>".
var planHash = regexp.MustCompile(`^[0-9a-f]{32}\.[0-9a-f]{32}$`)

type planRecord struct {
	App     string    `json:"app"`
	Hash    string    `json:"hash"`
	Changes ChangeSet `json:"changes"`
}

func (r *Runner) recordName(hash string) string { return PlanRecordDir + "/" + hash + ".json" }

// saveChanges keeps the plan's change set under its hash.
func (r *Runner) saveChanges(ctx context.Context, hash string, cs ChangeSet) error {
	if !planHash.MatchString(hash) {
		return fmt.Errorf("record the plan of app %q: hash %q is malformed", r.spec.Name, hash)
	}
	b, err := json.Marshal(planRecord{App: r.spec.Name, Hash: hash, Changes: cs.redacted()})
	if err != nil {
		return fmt.Errorf("record the plan of app %q: %w", r.spec.Name, err)
	}
	s, err := r.store(ctx)
	if err != nil {
		return err
	}
	if s == nil {
		path := filepath.Join(r.dir, filepath.FromSlash(r.recordName(hash)))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("record the plan of app %q: %w", r.spec.Name, err)
		}
		if err := writeIfChanged(path, b); err != nil {
			return fmt.Errorf("record the plan of app %q: %w", r.spec.Name, err)
		}
		return nil
	}
	defer s.client.Close()
	w := s.bucket.Object(s.prefix + "/" + r.recordName(hash)).NewWriter(ctx)
	w.ContentType = "application/json"
	if _, err := w.Write(b); err != nil {
		_ = w.Close()
		return fmt.Errorf("record the plan of app %q in gs://%s/%s: %w", r.spec.Name, r.spec.Backend.Bucket, s.prefix, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("record the plan of app %q in gs://%s/%s: %w", r.spec.Name, r.spec.Backend.Bucket, s.prefix, err)
	}
	return nil
}

// errNoRecord says the approved plan's change set is not on record.
var errNoRecord = errors.New("no record of the approved plan")

// loadChanges reads the change set recorded under hash and checks it still
// hashes to it (when no value was redacted).
func (r *Runner) loadChanges(ctx context.Context, hash string) (ChangeSet, error) {
	if !planHash.MatchString(hash) {
		return nil, errNoRecord
	}
	var b []byte
	s, err := r.store(ctx)
	if err != nil {
		return nil, err
	}
	if s == nil {
		b, err = os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(r.recordName(hash))))
		if errors.Is(err, os.ErrNotExist) {
			return nil, errNoRecord
		}
	} else {
		defer s.client.Close()
		var rd *storage.Reader
		rd, err = s.bucket.Object(s.prefix + "/" + r.recordName(hash)).NewReader(ctx)
		if errors.Is(err, storage.ErrObjectNotExist) {
			return nil, errNoRecord
		}
		if err == nil {
			b, err = io.ReadAll(io.LimitReader(rd, 64<<20))
			_ = rd.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read the approved plan record of app %q: %w", r.spec.Name, err)
	}
	var rec planRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.Hash != hash || rec.App != r.spec.Name {
		return nil, fmt.Errorf("the approved plan record of app %q (%s) is not a ferry plan record of this app and hash: plan again and approve the new plan", r.spec.Name, r.recordName(hash))
	}
	redacted := false
	for _, c := range rec.Changes {
		redacted = redacted || c.Redacted
	}
	if !redacted {
		if h, err := rec.Changes.Hash(); err != nil || h != hashPart(hash, 0) {
			return nil, fmt.Errorf("the approved plan record of app %q (%s) does not match its hash: it was altered; plan again and approve the new plan", r.spec.Name, r.recordName(hash))
		}
	}
	return rec.Changes, nil
}

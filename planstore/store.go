package planstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/ferrymigrate/ferry/plan"
)

// ErrNotFound means the store does not hold the digest asked for.
var ErrNotFound = errors.New("plan bundle not found")

// Store keeps bundles by digest and a pointer to the current one.
type Store interface {
	// Put stores b (idempotent) and makes it current; it returns b's digest.
	Put(ctx context.Context, b *Bundle) (string, error)
	// Get returns the bundle with this digest, or ErrNotFound.
	Get(ctx context.Context, digest string) (*Bundle, error)
	// Current returns the digest of the last bundle published ("" if none).
	Current(ctx context.Context) (string, error)
	// String names the store for messages.
	String() string
}

// Open opens a store: a directory path, or gs://bucket/prefix. opts are
// used for GCS (an endpoint for a fake, credentials).
func Open(ctx context.Context, source string, opts ...option.ClientOption) (Store, error) {
	if source == "" {
		return nil, fmt.Errorf("no plan store configured: set FERRY_PLAN_STORE to a directory or gs://bucket/prefix where 'ferry plan publish' puts reviewed plans")
	}
	if rest, ok := strings.CutPrefix(source, "gs://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("plan store %q: want gs://bucket/prefix", source)
		}
		c, err := storage.NewClient(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("plan store %s: %w", source, err)
		}
		return &gcsStore{c: c, bucket: bucket, prefix: strings.Trim(prefix, "/")}, nil
	}
	abs, err := filepath.Abs(source)
	if err != nil {
		return nil, err
	}
	return &dirStore{dir: abs}, nil
}

const currentName = "CURRENT"

func objectName(digest string) string { return strings.Replace(digest, ":", "-", 1) + ".json" }

type dirStore struct{ dir string }

func (s *dirStore) String() string { return s.dir }

func (s *dirStore) Put(_ context.Context, b *Bundle) (string, error) {
	d := b.Digest()
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return "", fmt.Errorf("plan store %s: %w", s.dir, err)
	}
	if err := writeAtomic(filepath.Join(s.dir, objectName(d)), b.canonical()); err != nil {
		return "", err
	}
	return d, writeAtomic(filepath.Join(s.dir, currentName), []byte(d+"\n"))
}

func writeAtomic(file string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		return fmt.Errorf("plan store: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("plan store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("plan store: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

func (s *dirStore) Get(_ context.Context, digest string) (*Bundle, error) {
	if !ValidDigest(digest) {
		return nil, fmt.Errorf("%q is not a plan digest (want sha256:<64 hex>)", digest)
	}
	f, err := os.Open(filepath.Join(s.dir, objectName(digest)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is not in %s", ErrNotFound, digest, s.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("plan store %s: %w", s.dir, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBundleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("plan store %s: %w", s.dir, err)
	}
	return decode(data, digest)
}

func (s *dirStore) Current(context.Context) (string, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, currentName))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("plan store %s: %w", s.dir, err)
	}
	return strings.TrimSpace(string(data)), nil
}

type gcsStore struct {
	c              *storage.Client
	bucket, prefix string
}

func (s *gcsStore) String() string { return "gs://" + path.Join(s.bucket, s.prefix) }

func (s *gcsStore) obj(name string) *storage.ObjectHandle {
	return s.c.Bucket(s.bucket).Object(path.Join(s.prefix, name))
}

func (s *gcsStore) Put(ctx context.Context, b *Bundle) (string, error) {
	d := b.Digest()
	for _, o := range []struct {
		name string
		data []byte
	}{{objectName(d), b.canonical()}, {currentName, []byte(d + "\n")}} {
		w := s.obj(o.name).NewWriter(ctx)
		w.ContentType = "application/json"
		if _, err := w.Write(o.data); err != nil {
			_ = w.Close()
			return "", fmt.Errorf("plan store %s: write %s: %w", s, o.name, err)
		}
		if err := w.Close(); err != nil {
			return "", fmt.Errorf("plan store %s: write %s: %w", s, o.name, err)
		}
	}
	return d, nil
}

func (s *gcsStore) read(ctx context.Context, name string) ([]byte, error) {
	r, err := s.obj(name).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("plan store %s: read %s: %w", s, name, err)
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, MaxBundleBytes+1))
}

func (s *gcsStore) Get(ctx context.Context, digest string) (*Bundle, error) {
	if !ValidDigest(digest) {
		return nil, fmt.Errorf("%q is not a plan digest (want sha256:<64 hex>)", digest)
	}
	data, err := s.read(ctx, objectName(digest))
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %s is not in %s", ErrNotFound, digest, s)
	}
	if err != nil {
		return nil, err
	}
	return decode(data, digest)
}

func (s *gcsStore) Current(ctx context.Context) (string, error) {
	data, err := s.read(ctx, currentName)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return strings.TrimSpace(string(data)), err
}

// Resolver resolves digests through a store. Bundles are immutable, so a
// resolved bundle is kept in memory; correctness never depends on it.
type Resolver struct {
	Store Store
	mu    sync.Mutex
	cache map[string]*Resolved
}

// NewResolver returns a resolver over s.
func NewResolver(s Store) *Resolver { return &Resolver{Store: s, cache: map[string]*Resolved{}} }

// Resolve returns the resolved bundle with this digest.
func (r *Resolver) Resolve(ctx context.Context, digest string) (*Resolved, error) {
	r.mu.Lock()
	res, ok := r.cache[digest]
	r.mu.Unlock()
	if ok {
		return res, nil
	}
	b, err := r.Store.Get(ctx, digest)
	if err != nil {
		return nil, err
	}
	res, err = b.Resolve()
	if err != nil {
		return nil, fmt.Errorf("%w: %s in %s: %v", ErrInvalid, digest, r.Store, err)
	}
	r.mu.Lock()
	if len(r.cache) > 64 {
		clear(r.cache)
	}
	r.cache[digest] = res
	r.mu.Unlock()
	return res, nil
}

// ErrNotInPlan means the plan has no such app or wave.
var ErrNotInPlan = errors.New("not in the reviewed plan")

// ErrInvalid means the stored plan does not validate.
var ErrInvalid = errors.New("the reviewed plan does not validate")

// lookup finds an app and a wave in resolved plans, whatever resolves them.
type lookup func(ctx context.Context, digest string) (*Resolved, error)

func (resolve lookup) app(ctx context.Context, app, digest string) (plan.AppSpec, error) {
	res, err := resolve(ctx, digest)
	if err != nil {
		return plan.AppSpec{}, err
	}
	s, ok := res.App(app)
	if !ok {
		return plan.AppSpec{}, fmt.Errorf("%w: app %q is not in plan %s", ErrNotInPlan, app, digest)
	}
	return s, nil
}

func (resolve lookup) wave(ctx context.Context, wave, digest string) (plan.Wave, []plan.AppSpec, error) {
	res, err := resolve(ctx, digest)
	if err != nil {
		return plan.Wave{}, nil, err
	}
	w, specs, ok := res.Wave(wave)
	if !ok {
		return plan.Wave{}, nil, fmt.Errorf("%w: wave %q is not in plan %s", ErrNotInPlan, wave, digest)
	}
	return w, specs, nil
}

func (resolve lookup) waveOrder(ctx context.Context, digest string) ([]string, error) {
	res, err := resolve(ctx, digest)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.Plan.Waves))
	for _, w := range res.Plan.Waves {
		out = append(out, w.Name)
	}
	return out, nil
}

// WaveOrder returns the names of the waves of the plan with this digest,
// in the plan's order.
func (r *Resolver) WaveOrder(ctx context.Context, digest string) ([]string, error) {
	return lookup(r.Resolve).waveOrder(ctx, digest)
}

// App returns one app's spec from the plan with this digest.
func (r *Resolver) App(ctx context.Context, app, digest string) (plan.AppSpec, error) {
	return lookup(r.Resolve).app(ctx, app, digest)
}

// Wave returns a wave and its apps' specs from the plan with this digest.
func (r *Resolver) Wave(ctx context.Context, wave, digest string) (plan.Wave, []plan.AppSpec, error) {
	return lookup(r.Resolve).wave(ctx, wave, digest)
}

// Current returns the digest of the store's current plan.
func (r *Resolver) Current(ctx context.Context) (string, error) { return r.Store.Current(ctx) }

// Static serves one resolved plan from memory (tests, and tools that have
// just resolved a bundle).
type Static struct {
	Digest string
	Plan   *plan.Plan
	Specs  []plan.AppSpec
}

func (s *Static) resolve(_ context.Context, digest string) (*Resolved, error) {
	if digest != s.Digest {
		return nil, fmt.Errorf("%w: %s is not in the static plan store (have %s)", ErrNotFound, digest, s.Digest)
	}
	p := s.Plan
	if p == nil {
		p = &plan.Plan{}
	}
	return &Resolved{Digest: s.Digest, Plan: p, Specs: s.Specs}, nil
}

// App implements activities.Plans.
func (s *Static) App(ctx context.Context, app, digest string) (plan.AppSpec, error) {
	return lookup(s.resolve).app(ctx, app, digest)
}

// Wave implements activities.Plans.
func (s *Static) Wave(ctx context.Context, wave, digest string) (plan.Wave, []plan.AppSpec, error) {
	return lookup(s.resolve).wave(ctx, wave, digest)
}

// WaveOrder implements activities.WaveOrderer.
func (s *Static) WaveOrder(ctx context.Context, digest string) ([]string, error) {
	return lookup(s.resolve).waveOrder(ctx, digest)
}

// Current implements activities.Plans.
func (s *Static) Current(context.Context) (string, error) { return s.Digest, nil }

// Publish bundles a plan file with its inventory and flow files and puts
// it in the store; it returns the digest.
func Publish(ctx context.Context, s Store, planFile, inventoryFile string, flows []string) (string, error) {
	b, err := Build(planFile, inventoryFile, flows)
	if err != nil {
		return "", err
	}
	return s.Put(ctx, b)
}

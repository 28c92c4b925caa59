package planstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
)

const (
	examplePlan = "../examples/ferry.hcl"
	exampleInv  = "../plan/testdata/inventory.json"
)

func TestDirStorePublishResolveAndTamper(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := s.Current(ctx); err != nil || cur != "" {
		t.Fatalf("empty store: current %q %v", cur, err)
	}
	d, err := Publish(ctx, s, examplePlan, exampleInv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidDigest(d) {
		t.Fatalf("digest %q", d)
	}
	if cur, _ := s.Current(ctx); cur != d {
		t.Fatalf("current %q, want %q", cur, d)
	}
	// The same files give the same digest: a CLI start names what was published.
	b, err := Build(examplePlan, exampleInv, nil)
	if err != nil || b.Digest() != d {
		t.Fatalf("digest of the same files %s, published %s (%v)", b.Digest(), d, err)
	}
	r := NewResolver(s)
	spec, err := r.App(ctx, "billing-api", d)
	if err != nil || spec.Name != "billing-api" || len(spec.People) == 0 {
		t.Fatalf("resolve billing-api: %+v %v", spec, err)
	}
	if _, err := r.App(ctx, "nope", d); !errors.Is(err, ErrNotInPlan) {
		t.Errorf("unknown app: %v", err)
	}
	other := "sha256:" + strings.Repeat("a", 64)
	if _, err := r.App(ctx, "billing-api", other); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown digest: %v", err)
	}
	if _, err := s.Get(ctx, "../../etc/passwd"); err == nil || !strings.Contains(err.Error(), "not a plan digest") {
		t.Errorf("path as digest: %v", err)
	}
	// Someone edits the stored bundle (say, adds a hook): it no longer
	// matches its digest and is refused.
	f := filepath.Join(dir, objectName(d))
	raw, _ := os.ReadFile(f)
	raw = []byte(strings.Replace(string(raw), `"name":"ferry.hcl"`, `"name":"evil.hcl"`, 1))
	if err := os.WriteFile(f, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewResolver(s).App(ctx, "billing-api", d); err == nil || !strings.Contains(err.Error(), "was modified") {
		t.Errorf("tampered bundle: %v", err)
	}
}

func TestGCSStoreOnFakeGCS(t *testing.T) {
	ctx := context.Background()
	fake := gcpfake.StartT(t, gcpfake.Options{})
	fake.CreateBucket("plans")
	g := gcp.Config{ComputeEndpoint: fake.ComputeEndpoint(), StorageEndpoint: fake.StorageEndpoint()}
	s, err := Open(ctx, "gs://plans/ferry/prod", g.StorageOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Publish(ctx, s, examplePlan, exampleInv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := s.Current(ctx); err != nil || cur != d {
		t.Fatalf("current %q %v", cur, err)
	}
	if _, err := NewResolver(s).App(ctx, "ledger", d); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "sha256:"+strings.Repeat("b", 64)); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing digest: %v", err)
	}
}

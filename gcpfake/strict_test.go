package gcpfake

import (
	"context"
	"io"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"
)

func TestStrictShapes(t *testing.T) {
	s, _ := startFake(t, Options{})
	base := s.ComputeEndpoint() + "projects/p/zones/us-central1-a/"
	code, _, _ := do(t, "POST", base+"disks", `{"name":"d1","sizeGb":"20"}`)
	if code != 200 {
		t.Fatalf("insert disk: %d", code)
	}
	_, _, d := do(t, "GET", base+"disks/d1", "")
	if _, ok := d["id"].(string); !ok {
		t.Errorf("id %#v is not a JSON string", d["id"])
	}
	if d["sizeGb"] != "20" {
		t.Errorf("sizeGb %#v, want the string \"20\"", d["sizeGb"])
	}
	if d["selfLink"] != "https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-a/disks/d1" {
		t.Errorf("selfLink %v", d["selfLink"])
	}
	code, _, e := do(t, "POST", base+"disks", `{"name":"d1"}`)
	if code != 409 || reason(e) != "alreadyExists" {
		t.Errorf("duplicate: %d %v", code, e)
	}
	code, _, e = do(t, "GET", base+"disks/nope", "")
	if code != 404 || reason(e) != "notFound" || e["error"].(map[string]any)["code"] != float64(404) {
		t.Errorf("missing: %d %v", code, e)
	}
	code, _, e = do(t, "POST", base+"disks", `{"name":"Bad_Name"}`)
	if code != 400 || reason(e) != "invalid" {
		t.Errorf("bad name: %d %v", code, e)
	}
	// References to other hosts are refused; unknown resources too.
	code, _, _ = do(t, "POST", base+"instanceGroups", `{"name":"g","network":"https://evil.example.com/compute/v1/projects/p/global/networks/default"}`)
	if code != 400 {
		t.Errorf("foreign host reference: %d, want 400", code)
	}
	code, _, _ = do(t, "POST", base+"instanceGroups", `{"name":"g","network":"projects/p/global/networks/missing"}`)
	if code != 404 {
		t.Errorf("unknown network: %d, want 404", code)
	}
	// setLabels needs the current label fingerprint.
	code, _, e = do(t, "POST", base+"disks/d1/setLabels", `{"labels":{"a":"b"},"labelFingerprint":"old"}`)
	if code != 412 || reason(e) != "conditionNotMet" {
		t.Errorf("stale setLabels: %d %v", code, e)
	}
	code, _, _ = do(t, "POST", base+"disks/d1/setLabels", `{"labels":{"a":"b"},"labelFingerprint":"`+d["labelFingerprint"].(string)+`"}`)
	if code != 200 {
		t.Errorf("setLabels: %d", code)
	}
}

func reason(e map[string]any) string {
	em, _ := e["error"].(map[string]any)
	errs, _ := em["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	r, _ := errs[0].(map[string]any)["reason"].(string)
	return r
}

func TestStateDirSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Start(Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	url := s.ComputeEndpoint() + "projects/p/global/healthChecks"
	if code, _, _ := do(t, "POST", url, `{"name":"hc","type":"TCP","tcpHealthCheck":{"port":80}}`); code != 200 {
		t.Fatalf("insert: %d", code)
	}
	s.CreateBucket("state")
	sc, err := storage.NewClient(ctx, option.WithEndpoint(s.StorageEndpoint()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	w := sc.Bucket("state").Object("a/default.tfstate").NewWriter(ctx)
	_, _ = w.Write([]byte(`{"version":4}`))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	s2, err := Start(Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n := len(s2.Resources("p", "healthChecks")); n != 1 {
		t.Fatalf("after restart: %d health checks, want 1", n)
	}
	// A second insert of the same name still conflicts, ids stay unique.
	if code, _, _ := do(t, "POST", s2.ComputeEndpoint()+"projects/p/global/healthChecks", `{"name":"hc"}`); code != 409 {
		t.Fatalf("insert after restart: %d, want 409", code)
	}
	sc2, _ := storage.NewClient(ctx, option.WithEndpoint(s2.StorageEndpoint()), option.WithoutAuthentication())
	r, err := sc2.Bucket("state").Object("a/default.tfstate").NewReader(ctx)
	if err != nil {
		t.Fatalf("object after restart: %v", err)
	}
	b, _ := io.ReadAll(r)
	if !strings.Contains(string(b), "version") {
		t.Fatalf("object content %q", b)
	}
}

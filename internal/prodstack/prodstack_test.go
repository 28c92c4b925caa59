package prodstack

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/workflows"
)

// The stack serves ferry's search attributes on its namespace over mTLS
// only, survives a restart, and leaves no process behind.
func TestStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and the Temporal server")
	}
	var pgDir, dir string
	t.Run("up", func(t *testing.T) {
		s := Start(t, Options{})
		pgDir, dir = s.pg.dir, s.dir
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		c := s.Client(t)
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace()})
		if err != nil {
			t.Fatal(err)
		}
		for name, typ := range workflows.SearchAttributeTypes {
			if got := resp.CustomAttributes[name].String(); !strings.EqualFold(strings.TrimPrefix(got, "INDEXED_VALUE_TYPE_"), typ) {
				t.Errorf("search attribute %s is %q, want %s", name, got, typ)
			}
		}
		// Plaintext is refused: the frontend serves mTLS only.
		plain, err := client.DialContext(ctx, client.Options{HostPort: s.HostPort(), Logger: quiet{},
			ConnectionOptions: client.ConnectionOptions{GetSystemInfoTimeout: 5 * time.Second}})
		if err == nil {
			_, err = plain.CheckHealth(ctx, &client.CheckHealthRequest{})
			plain.Close()
		}
		if err == nil {
			t.Error("a plaintext client reached the frontend")
		}
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
		if n := s.Starts(); n != 3 { // registration, its restart, this one
			t.Errorf("the server started %d times, want 3", n)
		}
		if _, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: "FerryApp = 'x'"}); err != nil {
			t.Errorf("visibility query on a ferry search attribute after a restart: %v", err)
		}
	})
	if _, err := os.Stat(pgDir); !os.IsNotExist(err) {
		t.Errorf("PostgreSQL's directory %s is left behind (%v)", pgDir, err)
	}
	for _, p := range processesUnder(pgDir, dir) {
		t.Errorf("left behind: %s", p)
	}
}

// processesUnder lists processes whose command line mentions one of dirs.
func processesUnder(dirs ...string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		cl := strings.ReplaceAll(string(b), "\x00", " ")
		for _, d := range dirs {
			if d != "" && strings.Contains(cl, d) {
				out = append(out, e.Name()+": "+cl)
			}
		}
	}
	return out
}

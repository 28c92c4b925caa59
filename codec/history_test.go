package codec_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/ferrymigrate/ferry/codec"
	"github.com/ferrymigrate/ferry/internal/testenv"
)

// Canaries a migration carries: a VM name, an IP, the vCenter password (as
// a careless hook might echo it).
var histCanaries = []string{"billing-db-canary-07", "10.99.31.7", "Vc-Pa55w0rd-Canary"}

type canaryIn struct {
	VM, IP, Evidence string
}

func canaryActivity(ctx context.Context, in canaryIn) (string, error) {
	activity.RecordHeartbeat(ctx, "working on "+in.VM)
	return "provisioned " + in.VM + " at " + in.IP + "; hook said " + in.Evidence, nil
}

func canaryWorkflow(ctx workflow.Context, in canaryIn) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out string
	if err := workflow.ExecuteActivity(ctx, canaryActivity, in).Get(ctx, &out); err != nil {
		return "", err
	}
	workflow.GetSignalChannel(ctx, "approve").Receive(ctx, nil)
	return out, nil
}

// TestHistoryHoldsNoPlaintext runs a workflow on the dev server with the
// codec installed, then fetches its history raw (no codec) and searches the
// serialised events for the canaries.
func TestHistoryHoldsNoPlaintext(t *testing.T) {
	addr := testenv.DevServer(t, nil)
	key := make([]byte, codec.KeySize)
	rand.Read(key)
	kr, err := codec.NewKeyring(codec.Key{ID: "hist-test", Secret: key})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := codec.DataConverter(kr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: addr, DataConverter: dc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, "codec-test", worker.Options{})
	w.RegisterWorkflow(canaryWorkflow)
	w.RegisterActivity(canaryActivity)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in := canaryIn{VM: histCanaries[0], IP: histCanaries[1], Evidence: "password " + histCanaries[2]}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "codec-canary", TaskQueue: "codec-test",
		Memo: map[string]any{"note": "vm " + histCanaries[0]}}, canaryWorkflow, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "approve", map[string]string{"approver": "ana", "comment": "ok for " + histCanaries[1]}); err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains([]byte(out), []byte(histCanaries[2])) {
		t.Fatalf("workflow result lost data: %q", out)
	}

	raw, err := client.Dial(client.Options{HostPort: addr}) // no codec: what the server stores
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	all, events := rawHistory(ctx, t, raw, run.GetID(), run.GetRunID())
	if events < 8 {
		t.Fatalf("only %d history events", events)
	}
	for _, cn := range histCanaries {
		if bytes.Contains(all.Bytes(), []byte(cn)) {
			t.Errorf("raw history holds %q in clear", cn)
		}
	}
	if !bytes.Contains(all.Bytes(), []byte(codec.MetadataEncodingEncrypted)) {
		t.Error("raw history shows no encrypted payloads")
	}
	t.Logf("%d events, %d bytes of raw history, no canary found", events, all.Len())

	// Control: the same search finds the canaries when no codec is used.
	ctrl, err := raw.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "codec-control", TaskQueue: "nobody-polls"}, "canaryWorkflow", in)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := rawHistory(ctx, t, raw, ctrl.GetID(), ctrl.GetRunID())
	for _, cn := range histCanaries {
		if !bytes.Contains(plain.Bytes(), []byte(cn)) {
			t.Errorf("control: unencrypted history should hold %q: the search is broken", cn)
		}
	}
	raw.TerminateWorkflow(ctx, ctrl.GetID(), ctrl.GetRunID(), "test done")
}

func rawHistory(ctx context.Context, t *testing.T, c client.Client, id, runID string) (*bytes.Buffer, int) {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, id, runID, false, 0)
	var all bytes.Buffer
	events := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
		events++
	}
	return &all, events
}

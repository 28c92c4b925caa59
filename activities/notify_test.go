package activities

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/notify"
	"github.com/ferrymigrate/ferry/runbooks"
)

func notifyEnv(t *testing.T, cfg notify.Config) *testsuite.TestActivityEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&Activities{Plans: testPlans, Notify: cfg})
	// Fast backoff for tests; the real sink waits 0.5s, 1s, 2s...
	old := newSink
	newSink = func(cfg notify.Config) notify.Sink {
		w := notify.NewWebhook(cfg)
		w.BaseDelay = time.Millisecond
		return w
	}
	t.Cleanup(func() { newSink = old })
	return env
}

var gateInput = NotifyInput{
	Event: notify.EventGateWaiting, App: "billing-api", Owner: "ana@example.com", Stage: "ApproveCutover",
	Needed: "approve cutover (approvers: bo, cy)", WorkflowID: "ferry-app-billing-api",
	Runbook: string(runbooks.ReasonGateApproveCutover), AppRunbook: "https://wiki.example.com/billing",
}

func TestNotifyWithoutWebhookSucceeds(t *testing.T) {
	env := notifyEnv(t, notify.Config{})
	if _, err := env.ExecuteActivity(NotifyName, gateInput); err != nil {
		t.Fatal(err)
	}
}

func TestNotifyDeliversAfterRetries(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, string(b))
		switch len(bodies) {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	env := notifyEnv(t, notify.Config{WebhookURL: srv.URL + "/hook/CanaryToken123", UIBaseURL: "http://127.0.0.1:8233", Namespace: "default"})
	if _, err := env.ExecuteActivity(NotifyName, gateInput); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 3 {
		t.Fatalf("%d webhook calls, want 3", len(bodies))
	}
	var p notify.SlackPayload
	if err := json.Unmarshal([]byte(bodies[2]), &p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"billing-api", "ana@example.com", "approve cutover (approvers: bo, cy)",
		"http://127.0.0.1:8233/namespaces/default/workflows/ferry-app-billing-api",
		"gate-approve-cutover.md", "https://wiki.example.com/billing"} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("notification lacks %q: %s", want, p.Text)
		}
	}
	if strings.Contains(bodies[2], "CanaryToken123") {
		t.Error("the webhook URL leaked into the payload")
	}
}

func TestNotifyRejectedIsNotRetried(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no_service", http.StatusNotFound)
	}))
	defer srv.Close()
	env := notifyEnv(t, notify.Config{WebhookURL: srv.URL + "/hook/CanaryToken456"})
	_, err := env.ExecuteActivity(NotifyName, gateInput)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != ErrTypeNotifyRejected {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "CanaryToken456") {
		t.Fatalf("error leaks the webhook URL: %v", err)
	}
}

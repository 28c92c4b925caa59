package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/runbooks"
)

type recorder struct {
	mu     sync.Mutex
	bodies []string
	script []func(w http.ResponseWriter) // one per call; then 200
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	n := len(rec.bodies)
	rec.bodies = append(rec.bodies, string(b))
	rec.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "want POST json", http.StatusBadRequest)
		return
	}
	if n < len(rec.script) {
		rec.script[n](w)
		return
	}
	io.WriteString(w, "ok")
}

func sample() Message {
	return Message{
		Event: EventParked, App: "billing-api", Owner: "ana@example.com", Stage: "SyncVerify",
		Needed:     "fix the smoke test, then retry (approvers: ana, bo)",
		WorkflowID: "ferry-app-billing-api", Reason: runbooks.ReasonHookFailed,
		AppRunbook: "https://wiki.example.com/billing/runbook",
		Detail:     "smoke_test exited 1: GET /health 503; db password=CanaryDbPass123 <b>",
	}
}

func TestWebhookRetriesThenDelivers(t *testing.T) {
	rec := &recorder{script: []func(http.ResponseWriter){
		func(w http.ResponseWriter) { http.Error(w, "upstream broke", http.StatusInternalServerError) },
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "7")
			http.Error(w, "rate_limited", http.StatusTooManyRequests)
		},
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	hookURL := srv.URL + "/services/T0001/B0001/CanaryWebhookToken42"
	var slept []time.Duration
	w := NewWebhook(Config{WebhookURL: hookURL, UIBaseURL: "http://127.0.0.1:8233/", Namespace: "migrations"})
	w.BaseDelay = 100 * time.Millisecond
	w.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	runbooks.SetBaseURL("https://git.example.com/ferry/blob/main/runbooks/")
	t.Cleanup(func() { runbooks.SetBaseURL("") })

	if err := w.Send(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	if len(rec.bodies) != 3 {
		t.Fatalf("%d calls, want 3 (500, 429, 200)", len(rec.bodies))
	}
	if len(slept) != 2 || slept[0] != 100*time.Millisecond || slept[1] != 7*time.Second {
		t.Fatalf("delays %v, want [100ms 7s] (backoff, then Retry-After)", slept)
	}
	for i := 1; i < 3; i++ {
		if rec.bodies[i] != rec.bodies[0] {
			t.Fatal("retries must send the same message")
		}
	}
	body := rec.bodies[2]
	var p SlackPayload
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	if len(p.Blocks) < 3 || p.Text == "" {
		t.Fatalf("want text and blocks: %s", body)
	}
	for _, want := range []string{
		"billing-api", "ana@example.com", "SyncVerify", "fix the smoke test, then retry",
		"http://127.0.0.1:8233/namespaces/migrations/workflows/ferry-app-billing-api",
		"https://git.example.com/ferry/blob/main/runbooks/hook-failed.md",
		"https://wiki.example.com/billing/runbook",
	} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("text lacks %q: %s", want, p.Text)
		}
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	for _, bad := range []string{"CanaryDbPass123", "CanaryWebhookToken42", "<b>"} {
		if strings.Contains(body, bad) {
			t.Errorf("payload holds %q: %s", bad, body)
		}
	}
}

func TestWebhookDoesNotRetryClientErrors(t *testing.T) {
	rec := &recorder{script: []func(http.ResponseWriter){
		func(w http.ResponseWriter) { http.Error(w, "invalid_payload", http.StatusBadRequest) },
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := NewWebhook(Config{WebhookURL: srv.URL + "/hooks/SecretPathToken99"})
	w.Sleep = func(context.Context, time.Duration) error { t.Fatal("slept before a 400"); return nil }
	err := w.Send(context.Background(), sample())
	var de *DeliveryError
	if !errors.As(err, &de) || de.Status != 400 || de.Attempts != 1 || de.Retryable {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "invalid_payload") || strings.Contains(err.Error(), "SecretPathToken99") {
		t.Fatalf("error %q", err)
	}
}

func TestWebhookGivesUpAndNeverLeaksURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	hookURL := srv.URL + "/hooks/SecretPathToken77"
	srv.Close() // connection refused from now on
	w := NewWebhook(Config{WebhookURL: hookURL})
	w.MaxAttempts = 3
	calls := 0
	w.Sleep = func(context.Context, time.Duration) error { calls++; return nil }
	err := w.Send(context.Background(), sample())
	var de *DeliveryError
	if !errors.As(err, &de) || de.Attempts != 3 || calls != 2 {
		t.Fatalf("err = %v, sleeps %d", err, calls)
	}
	if strings.Contains(err.Error(), "SecretPathToken77") || strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("error leaks the webhook URL: %v", err)
	}
}

func TestWebhookBackoffCapped(t *testing.T) {
	rec := &recorder{}
	for range 4 {
		rec.script = append(rec.script, func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusServiceUnavailable)
		})
	}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := NewWebhook(Config{WebhookURL: srv.URL})
	w.MaxDelay = 5 * time.Second
	var slept []time.Duration
	w.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	if err := w.Send(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	for _, d := range slept {
		if d != 5*time.Second {
			t.Fatalf("delays %v: Retry-After must be capped by MaxDelay", slept)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := retryAfter("3", now); d != 3*time.Second {
		t.Error(d)
	}
	if d := retryAfter(now.Add(10*time.Second).Format(http.TimeFormat), now); d != 10*time.Second {
		t.Error(d)
	}
	if d := retryAfter("soon", now); d != 0 {
		t.Error(d)
	}
}

func TestFormatEveryEvent(t *testing.T) {
	for _, e := range []string{EventGateWaiting, EventGateReminder, EventParked, EventRollback, EventCutoverDone, EventDecommissionDone} {
		if !KnownEvent(e) {
			t.Errorf("%s unknown", e)
		}
		m := sample()
		m.Event = e
		p := Format(m, Links{Workflow: "http://ui/namespaces/default/workflows/x"})
		if !strings.Contains(p.Text, "billing-api") || !strings.Contains(p.Text, "http://ui/namespaces/default/workflows/x") {
			t.Errorf("%s: %s", e, p.Text)
		}
	}
	if got := WorkflowURL("http://ui:8233", "", "ferry-app-a b"); got != "http://ui:8233/namespaces/default/workflows/ferry-app-a%20b" {
		t.Errorf("WorkflowURL = %s", got)
	}
}

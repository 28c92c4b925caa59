package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ferrymigrate/ferry/redact"
)

// Sink delivers notifications.
type Sink interface {
	Send(ctx context.Context, m Message) error
}

// Webhook posts Slack-compatible JSON to an incoming-webhook URL. It
// retries 5xx, 429 and network errors with exponential backoff, honouring
// Retry-After.
type Webhook struct {
	Config
	Client      *http.Client
	MaxAttempts int           // 0: 5
	BaseDelay   time.Duration // 0: 500ms, doubled per attempt
	MaxDelay    time.Duration // 0: 30s; also caps Retry-After
	// Sleep waits between attempts; tests replace it to record delays.
	Sleep func(ctx context.Context, d time.Duration) error
}

var _ Sink = (*Webhook)(nil)

// NewWebhook returns a webhook sink for cfg.
func NewWebhook(cfg Config) *Webhook {
	return &Webhook{Config: cfg, Client: &http.Client{Timeout: 15 * time.Second}}
}

// DeliveryError is a notification that could not be delivered. It never
// holds the webhook URL.
type DeliveryError struct {
	Attempts  int
	Status    int // last HTTP status, 0 for a network error
	Retryable bool
	Err       string
}

func (e *DeliveryError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("notify: webhook answered HTTP %d after %d attempt(s): %s; check %s", e.Status, e.Attempts, e.Err, EnvWebhookURL)
	}
	return fmt.Sprintf("notify: webhook unreachable after %d attempt(s): %s; check %s and the network", e.Attempts, e.Err, EnvWebhookURL)
}

// Payload builds the redacted JSON body for m.
func (w *Webhook) Payload(m Message) SlackPayload {
	red := func(s string) string { return redact.String(s, w.WebhookURL) }
	m.App, m.Owner, m.Stage, m.Needed, m.Detail = red(m.App), red(m.Owner), red(m.Stage), red(m.Needed), red(m.Detail)
	m.AppRunbook = red(m.AppRunbook)
	return Format(m, LinksFor(w.Config, m))
}

// Send posts m, retrying transient failures.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	if w.WebhookURL == "" {
		return errors.New("notify: no webhook configured: set " + EnvWebhookURL)
	}
	body, err := json.Marshal(w.Payload(m))
	if err != nil {
		return fmt.Errorf("notify: encode message: %w", err)
	}
	attempts := w.MaxAttempts
	if attempts <= 0 {
		attempts = 5
	}
	delay := w.BaseDelay
	if delay <= 0 {
		delay = 500 * time.Millisecond
	}
	maxDelay := w.MaxDelay
	if maxDelay <= 0 {
		maxDelay = 30 * time.Second
	}
	sleep := w.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	var last *DeliveryError
	for i := 1; i <= attempts; i++ {
		wait, derr := w.post(ctx, client, body)
		if derr == nil {
			return nil
		}
		derr.Attempts = i
		last = derr
		if !derr.Retryable || i == attempts {
			break
		}
		d := delay << (i - 1)
		if wait > 0 {
			d = wait
		}
		d = min(d, maxDelay)
		if err := sleep(ctx, d); err != nil {
			return fmt.Errorf("notify: gave up waiting to retry: %w (last: %v)", err, last)
		}
	}
	return last
}

// post sends once; it returns how long the server asked to wait.
func (w *Webhook) post(ctx context.Context, client *http.Client, body []byte) (time.Duration, *DeliveryError) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, &DeliveryError{Err: "invalid webhook URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ferry-notify")
	resp, err := client.Do(req)
	if err != nil {
		// url.Error embeds the URL, which holds the token: keep only the
		// cause, redacted.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, &DeliveryError{Retryable: ctx.Err() == nil, Err: redact.String(err.Error(), w.WebhookURL)}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return retryAfter(resp.Header.Get("Retry-After"), time.Now()), &DeliveryError{
		Status: resp.StatusCode, Retryable: retry, Err: redact.String(string(bytes.TrimSpace(snippet)), w.WebhookURL),
	}
}

// retryAfter parses Retry-After as seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

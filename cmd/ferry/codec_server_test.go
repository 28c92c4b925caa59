package main

import (
	"bytes"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ferrymigrate/ferry/codec"
)

const (
	testUIOrigin = "http://localhost:8233"
	testToken    = "test-token-0123456789abcdef"
)

func codecTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	k := make([]byte, codec.KeySize)
	rand.Read(k)
	kr, err := codec.NewKeyring(codec.Key{ID: "test", Secret: k})
	if err != nil {
		t.Fatal(err)
	}
	c, err := codec.New(kr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(codec.Handler(c, []string{testUIOrigin}, testToken, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv
}

func codecReq(t *testing.T, method, url, origin, auth string, body []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestCodecServerPreflight(t *testing.T) {
	srv := codecTestServer(t)
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
	req.Header.Set("Origin", testUIOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != testUIOrigin {
		t.Errorf("Allow-Origin %q", got)
	}
	allowHeaders := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"authorization", "content-type", "x-namespace"} {
		if !strings.Contains(allowHeaders, h) {
			t.Errorf("Allow-Headers %q lacks %s", allowHeaders, h)
		}
	}
	if !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("Allow-Methods %q", resp.Header.Get("Access-Control-Allow-Methods"))
	}

	req.Header.Set("Origin", "http://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin: status %d, Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func payloadsJSON(t *testing.T, ps ...*commonpb.Payload) []byte {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCodecServerAuthAndRoundTrip(t *testing.T) {
	srv := codecTestServer(t)
	canary := "vm billing-web-01 at 10.42.7.19 pass Vmw@re-Canary!"
	p, err := converter.GetDefaultDataConverter().ToPayload(canary)
	if err != nil {
		t.Fatal(err)
	}
	body := payloadsJSON(t, p)

	for _, auth := range []string{"", "Bearer wrong-token-000000000", testToken, "Basic " + testToken} {
		resp := codecReq(t, http.MethodPost, srv.URL+"/encode", testUIOrigin, auth, body)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("auth %q: status %d, want 401", auth, resp.StatusCode)
		}
	}
	if resp := codecReq(t, http.MethodPost, srv.URL+"/encode", "http://evil.example", "Bearer "+testToken, body); resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin with token: status %d", resp.StatusCode)
	}
	if resp := codecReq(t, http.MethodGet, srv.URL+"/decode", testUIOrigin, "Bearer "+testToken, nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d", resp.StatusCode)
	}

	resp := codecReq(t, http.MethodPost, srv.URL+"/encode", testUIOrigin, "Bearer "+testToken, body)
	encoded, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != testUIOrigin {
		t.Fatalf("encode: %d %s", resp.StatusCode, encoded)
	}
	for _, c := range []string{"billing-web-01", "10.42.7.19", "Vmw@re-Canary!"} {
		if bytes.Contains(encoded, []byte(c)) {
			t.Errorf("encoded response holds %q", c)
		}
	}
	// The SDK handler answers with encoding/json; feed it back as the UI would.
	var enc commonpb.Payloads
	if err := protojson.Unmarshal(encoded, &enc); err != nil {
		t.Fatalf("encode response: %v", err)
	}
	resp = codecReq(t, http.MethodPost, srv.URL+"/decode", "", "Bearer "+testToken, payloadsJSON(t, enc.Payloads...))
	decoded, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("decode: %d %s", resp.StatusCode, decoded)
	}
	var dec commonpb.Payloads
	if err := protojson.Unmarshal(decoded, &dec); err != nil || len(dec.Payloads) != 1 {
		t.Fatalf("decode response: %v %s", err, decoded)
	}
	var got string
	if err := converter.GetDefaultDataConverter().FromPayload(dec.Payloads[0], &got); err != nil || got != canary {
		t.Fatalf("round trip: %q %v", got, err)
	}
}

func TestCodecServerNeedsTokenAndKey(t *testing.T) {
	t.Setenv(envCodecToken, "")
	t.Setenv(codec.EnvKey, "")
	t.Setenv(codec.EnvKeyFile, "")
	if _, err := run(t, "codec-server", "--listen", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "--token-file") {
		t.Fatalf("no token: %v", err)
	}
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte(testToken+"\n"), 0o600)
	if _, err := run(t, "codec-server", "--listen", "127.0.0.1:0", "--token-file", tok); err == nil || !strings.Contains(err.Error(), codec.EnvKey) {
		t.Fatalf("no key: %v", err)
	}
	os.WriteFile(tok, []byte("short"), 0o600)
	if _, err := run(t, "codec-server", "--token-file", tok); err == nil || strings.Contains(err.Error(), "short\"") {
		t.Fatalf("short token: %v", err)
	}
}

func TestCodecServerDevNoAuthLoopbackOnly(t *testing.T) {
	if _, err := run(t, "codec-server", "--dev-no-auth", "--listen", "0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("--dev-no-auth on 0.0.0.0: %v", err)
	}
	if err := codec.LoopbackOnly("127.0.0.1:8081"); err != nil {
		t.Fatal(err)
	}
	if err := codec.LoopbackOnly("[::1]:8081"); err != nil {
		t.Fatal(err)
	}
}

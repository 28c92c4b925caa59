package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestStringPatterns(t *testing.T) {
	var r Registry
	cases := []struct{ in, mustNot, must string }{
		{"curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig'", "eyJhbGciOiJIUzI1NiJ9", "Authorization: Bearer " + Marker},
		{"token is Bearer abcdefgh12345678", "abcdefgh12345678", "Bearer " + Marker},
		{"connecting with password=hunter2secret now", "hunter2secret", "password=" + Marker + " now"},
		{`{"db_password": "s3cr3t-value", "user":"ana"}`, "s3cr3t-value", `"user":"ana"`},
		{"GOVC_PASSWORD: Vmware1!xyz", "Vmware1!xyz", "GOVC_PASSWORD: " + Marker},
		{"url https://admin:TopSecret99@vcenter.example.com/sdk", "TopSecret99", "https://admin:" + Marker + "@vcenter.example.com/sdk"},
		{"key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----\nafter", "MIIEpAIBAAKCAQEA", "after"},
		{`"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n"`, "MIIEvQIBADANBg", "private_key"},
		{"truncated -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqh", "MIIEvQIBADANBgkqh", Marker},
		{"aws AKIAIOSFODNN7EXAMPLE ok", "AKIAIOSFODNN7EXAMPLE", "aws " + Marker + " ok"},
		{"gcp key AIzaSyA1234567890abcdefghijklmnopqrstuv ok", "AIzaSyA1234567890abcdefghijklmnopqrstuv", " ok"},
		{"tok ya29.a0AfH6SMBx-abc_def.ghi end", "ya29.a0AfH6SMBx", " end"},
		{"post https://hooks.slack.com/services/T000/B000/XXXXXXXX done", "T000/B000/XXXXXXXX", " done"},
		{"gh ghp_abcdefghijklmnopqrstuvwxyz0123456789 x", "ghp_abcdefghij", " x"},
	}
	for _, c := range cases {
		got := r.String(c.in)
		if strings.Contains(got, c.mustNot) {
			t.Errorf("String(%q) = %q: still contains %q", c.in, got, c.mustNot)
		}
		if !strings.Contains(got, c.must) {
			t.Errorf("String(%q) = %q: want it to contain %q", c.in, got, c.must)
		}
	}
}

func TestStringLeavesOrdinaryText(t *testing.T) {
	var r Registry
	for _, s := range []string{
		"rsync: sent 1,204 bytes  received 35 bytes",
		"basic health check passed on web-1 (10.0.0.12:8080)",
		"PWD=/srv/app HOME=/home/ferry",
		"terraform apply: 3 added, 0 changed, 0 destroyed",
	} {
		if got := r.String(s); got != s {
			t.Errorf("String(%q) = %q, want unchanged", s, got)
		}
	}
}

func TestRegistryFromEnviron(t *testing.T) {
	var r Registry
	r.FromEnviron([]string{
		"GOVC_PASSWORD=pa55",
		"GOVC_URL=https://administrator@vsphere.local:VcPass%21word@vc.example:443/sdk",
		"FERRY_WEBHOOK_URL=https://chat.example.com/hooks/abcdef0123456789",
		"FERRY_CODEC_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"MY_SERVICE_TOKEN=zzzyyyxxxwww",
		"GOOGLE_APPLICATION_CREDENTIALS=/etc/gcp/key.json",
		"SHORT_TOKEN=abc",
		"HOME=/root",
	})
	in := strings.Join([]string{
		"login pa55 ok", "vc pass VcPass!word", "hook /hooks/abcdef0123456789",
		"https://chat.example.com/hooks/abcdef0123456789", "key MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"svc zzzyyyxxxwww", "creds at /etc/gcp/key.json", "home /root",
	}, "\n")
	got := r.String(in)
	for _, bad := range []string{"pa55", "VcPass!word", "abcdef0123456789", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "zzzyyyxxxwww"} {
		if strings.Contains(got, bad) {
			t.Errorf("redacted text still holds %q:\n%s", bad, got)
		}
	}
	for _, keep := range []string{"/etc/gcp/key.json", "home /root"} {
		if !strings.Contains(got, keep) {
			t.Errorf("redacted text lost %q:\n%s", keep, got)
		}
	}
}

func TestExtraSecretsAndLongestFirst(t *testing.T) {
	var r Registry
	r.Add("abcd", "abcdefgh")
	got := r.String("x abcdefgh y abcd z", "zzzz")
	if got != "x "+Marker+" y "+Marker+" z" {
		t.Fatalf("got %q", got)
	}
	if got := r.String("a zzzz b", "zzzz"); got != "a "+Marker+" b" {
		t.Fatalf("extra secret: got %q", got)
	}
}

func TestHandler(t *testing.T) {
	var reg Registry
	reg.Add("canary-pass-42")
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil), &reg))
	log = log.With("vc", "https://root:canary-pass-42@vc/sdk")
	log.Info("login with canary-pass-42",
		"err", errors.New("auth failed for password=canary-pass-42"),
		slog.Group("req", "header", "Bearer abcdefghijklmnop"),
		"count", 3, "spec", struct{ Pass string }{"canary-pass-42"})
	out := buf.String()
	for _, bad := range []string{"canary-pass-42", "abcdefghijklmnop"} {
		if strings.Contains(out, bad) {
			t.Errorf("log line holds %q: %s", bad, out)
		}
	}
	if !strings.Contains(out, `"count":3`) {
		t.Errorf("non-secret attribute changed: %s", out)
	}
}

// FuzzRedact: never panics, never leaks a registered secret, and is
// idempotent.
func FuzzRedact(f *testing.F) {
	f.Add("password=hunter22 and Bearer abcdefghijk", "hunter22")
	f.Add("https://u:p4ssw0rd@host/x", "p4ssw0rd")
	f.Add("-----BEGIN PRIVATE KEY-----\nabc", "secretvalue")
	f.Fuzz(func(t *testing.T, text, secret string) {
		var r Registry
		r.Add(secret)
		out := r.String(text)
		if s := strings.TrimSpace(secret); len(s) >= minNamedLen && !strings.Contains(Marker, s) && isLowerAlnum(s) {
			if strings.Contains(out, s) {
				t.Fatalf("secret %q survives in %q (from %q)", s, out, text)
			}
			if !strings.Contains(r.String(text+s+text), Marker) {
				t.Fatalf("inserted secret %q not redacted", s)
			}
		}
		if again := r.String(out); again != out {
			t.Fatalf("not idempotent:\n in  %q\n out %q\n again %q", text, out, again)
		}
	})
}

// Marker is upper case, so a lower-case secret can never be formed across
// it; other secrets may legitimately overlap the marker's letters.
func isLowerAlnum(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func TestErrorAndRefresh(t *testing.T) {
	t.Setenv("GOVC_PASSWORD", "late-loaded-pass-77")
	Refresh()
	base := errors.New("login as root with late-loaded-pass-77 failed")
	err := Error(fmt.Errorf("discover: %w", base))
	if strings.Contains(err.Error(), "late-loaded-pass-77") || !errors.Is(err, base) {
		t.Fatalf("Error: %q (Is base: %v)", err, errors.Is(err, base))
	}
	plain := errors.New("nothing secret")
	if Error(plain) != plain || Error(nil) != nil {
		t.Fatal("Error must return clean errors unchanged")
	}
}

package redact

import (
	"strings"
	"testing"
)

// TestStringCredentialForms covers the forms issue 13 names: govc's
// user:password@host with and without a scheme, multi-word secrets in
// JSON, YAML and shell, PEM blocks, bearer tokens and Authorization
// headers of every scheme.
func TestStringCredentialForms(t *testing.T) {
	var r Registry
	cases := []struct {
		name      string
		in        string
		secrets   []string // none of these may survive
		keep      []string // all of these must
		wantExact string   // when set, the whole output
	}{
		{name: "govc url with user holding @", in: "GOVC_URL=https://administrator@vsphere.local:VcPass!1@vc01.example:443/sdk",
			secrets: []string{"VcPass"}, wantExact: "GOVC_URL=https://administrator@vsphere.local:" + Marker + "@vc01.example:443/sdk"},
		{name: "govc url password with @", in: "dial https://root:p@ss:w0rd@vc.example/sdk failed",
			secrets: []string{"p@ss", "w0rd"}, wantExact: "dial https://root:" + Marker + "@vc.example/sdk failed"},
		{name: "bare govc form", in: "GOVC_URL=root:vmware123@127.0.0.1:8989",
			secrets: []string{"vmware123"}, wantExact: "GOVC_URL=root:" + Marker + "@127.0.0.1:8989"},
		{name: "bare govc form in a sentence", in: "login to administrator@vsphere.local:S3cret!x@vc01 refused",
			secrets: []string{"S3cret!x"}, wantExact: "login to administrator@vsphere.local:" + Marker + "@vc01 refused"},
		{name: "bare form in JSON", in: `{"url":"ana:pa55word@vc02.corp","x":"b@c"}`,
			secrets: []string{"pa55word"}, keep: []string{`"x":"b@c"`, "@vc02.corp"}},
		{name: "url without password", in: "https://ana@vc.example/sdk and https://vc.example:443/sdk", wantExact: "https://ana@vc.example/sdk and https://vc.example:443/sdk"},
		{name: "json multi-word password", in: `{"user": "ana", "password": "correct horse battery staple", "port": 443}`,
			secrets: []string{"correct", "horse", "battery", "staple"}, wantExact: `{"user": "ana", "password": "` + Marker + `", "port": 443}`},
		{name: "json client_secret no spaces", in: `{"client_id":"abc.apps","client_secret":"GOCSPX-ab cd\"ef","scope":"x"}`,
			secrets: []string{"GOCSPX", "cd", `ef`}, keep: []string{`"client_id":"abc.apps"`, `"scope":"x"`}},
		{name: "single-quoted", in: `db_password='two words' user='ana'`, secrets: []string{"two", "words"}, keep: []string{`user='ana'`}},
		{name: "shell double-quoted", in: `export FERRY_DB_PASSWORD="my long pass phrase"`, secrets: []string{"long", "phrase"}},
		{name: "yaml line", in: "db:\n  password: correct horse battery staple\n  user: ana\n",
			secrets: []string{"correct", "staple"}, keep: []string{"  user: ana\n", "  password: " + Marker + "\n"}},
		{name: "service account JSON", in: `{"type":"service_account","private_key_id":"0123456789abcdef","private_key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----\n","client_email":"sa@p.iam.gserviceaccount.com"}`,
			secrets: []string{"0123456789abcdef", "MIIEvQIBADANBgkq"}, keep: []string{`"client_email":"sa@p.iam.gserviceaccount.com"`}},
		{name: "openssh key", in: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\nok",
			secrets: []string{"b3BlbnNzaC1rZXktdjEAAAAA"}, keep: []string{"ok"}},
		{name: "pgp key block", in: "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF0AAAAB\n-----END PGP PRIVATE KEY BLOCK-----\nafter",
			secrets: []string{"lQOYBF0AAAAB"}, keep: []string{"after"}},
		{name: "authorization negotiate", in: "Authorization: Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag\nnext",
			secrets: []string{"YIIGhgYGKwYBBQUCoIIGejCCBnag"}, keep: []string{"Authorization: Negotiate " + Marker, "\nnext"}},
		{name: "authorization aws", in: `Authorization: AWS4-HMAC-SHA256 Credential=AKID/2026/us/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027`,
			secrets: []string{"fe5f80f77d5fa3beca038a248ff027", "AKID/2026"}},
		{name: "authorization basic in go header map", in: "header map[Accept:[*/*] Authorization:[Basic YW5hOnBhc3N3b3Jk]]",
			secrets: []string{"YW5hOnBhc3N3b3Jk"}, keep: []string{"Accept:[*/*]"}},
		{name: "authorization in curl", in: `curl -H "Authorization: token ghx_notaknownshape123" https://api`,
			secrets: []string{"ghx_notaknownshape123"}, keep: []string{`" https://api`}},
		{name: "bearer in prose", in: "sent Bearer eyJhbGciOi.eyJzdWIi.c2ln to the API", secrets: []string{"eyJhbGciOi"}, keep: []string{" to the API"}},
	}
	for _, c := range cases {
		got := r.String(c.in)
		for _, s := range c.secrets {
			if strings.Contains(got, s) {
				t.Errorf("%s: String(%q) = %q: still holds %q", c.name, c.in, got, s)
			}
		}
		for _, k := range c.keep {
			if !strings.Contains(got, k) {
				t.Errorf("%s: String(%q) = %q: lost %q", c.name, c.in, got, k)
			}
		}
		if c.wantExact != "" && got != c.wantExact {
			t.Errorf("%s: String(%q)\n = %q\nwant %q", c.name, c.in, got, c.wantExact)
		}
		if again := r.String(got); again != got {
			t.Errorf("%s: not idempotent: %q then %q", c.name, got, again)
		}
	}
}

// Ordinary output that looks a little like credentials stays as it is.
func TestStringFormsLeaveOrdinaryText(t *testing.T) {
	var r Registry
	for _, s := range []string{
		"owner ana@example.com, squad payments",
		"git@github.com:ferrymigrate/ferry.git",
		"listening on 127.0.0.1:8080, health at http://127.0.0.1:8080/health",
		"at 12:30 the job ran",
		"wave-1: 3 apps, 2 done",
		"authorization failed for ana: not an approver of billing-api",
	} {
		if got := r.String(s); got != s {
			t.Errorf("String(%q) = %q, want unchanged", s, got)
		}
	}
}

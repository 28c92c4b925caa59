package testkeys

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestDeterministicAndDistinct(t *testing.T) {
	a1, a2, b := AuthorizedKey("ana@example.com"), AuthorizedKey("ana@example.com"), AuthorizedKey("bo@example.com")
	if a1 != a2 {
		t.Fatalf("same name gave two keys:\n%s\n%s", a1, a2)
	}
	if a1 == b {
		t.Fatalf("two names gave the same key %s", a1)
	}
	if !strings.HasPrefix(a1, "ssh-ed25519 AAAA") || !strings.HasSuffix(a1, " ana@example.com") {
		t.Fatalf("authorized key line %q: want \"ssh-ed25519 AAAA... ana@example.com\"", a1)
	}
}

func TestSignatureVerifiesAgainstAuthorizedKey(t *testing.T) {
	pub, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(AuthorizedKey("ana@example.com")))
	if err != nil {
		t.Fatalf("parse authorized key: %v", err)
	}
	if comment != "ana@example.com" || len(rest) != 0 {
		t.Fatalf("comment %q rest %q", comment, rest)
	}
	msg := []byte("approve plan catalog-db")
	sig, err := Signer("ana@example.com").Sign(rand.Reader, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify(msg, sig); err != nil {
		t.Fatalf("ana's signature does not verify against ana's key: %v", err)
	}
	other, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(AuthorizedKey("bo@example.com")))
	if err := other.Verify(msg, sig); err == nil {
		t.Fatal("ana's signature verified against bo's key")
	}
}

func TestPrivateKeyPEMParsesToSameKey(t *testing.T) {
	s, err := ssh.ParsePrivateKey(PrivateKeyPEM("bo@example.com"))
	if err != nil {
		t.Fatalf("parse PEM: %v", err)
	}
	if !bytes.Equal(s.PublicKey().Marshal(), Signer("bo@example.com").PublicKey().Marshal()) {
		t.Fatal("PEM key differs from Signer key")
	}
	if !bytes.HasPrefix(PrivateKeyPEM("bo@example.com"), []byte("-----BEGIN OPENSSH PRIVATE KEY-----")) {
		t.Fatalf("not an OpenSSH private key:\n%s", PrivateKeyPEM("bo@example.com"))
	}
}

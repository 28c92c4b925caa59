// Package testkeys gives deterministic ed25519 SSH identities for tests.
//
// The same name always yields the same key (its seed is
// sha256("ferry-test-key:"+name)), so a plan written in a test, a fixture
// on disk and a signer in another process agree without sharing files.
// These keys are public knowledge: never use them outside tests.
package testkeys

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

func privateKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("ferry-test-key:" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// Signer returns the SSH signer of the test identity name.
func Signer(name string) ssh.Signer {
	s, err := ssh.NewSignerFromKey(privateKey(name))
	if err != nil {
		// An ed25519 key from a 32-byte seed is always accepted.
		panic(fmt.Sprintf("testkeys: signer for %q: %v", name, err))
	}
	return s
}

// AuthorizedKey returns the authorized_keys line of the test identity name:
// "ssh-ed25519 AAAA... name".
func AuthorizedKey(name string) string {
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(Signer(name).PublicKey())))
	return line + " " + name
}

// PrivateKeyPEM returns the OpenSSH private key file of the test identity
// name (unencrypted), for tests of code that reads a key file. The key is
// always the same; the file's bytes differ between calls because the OpenSSH
// format includes random check bytes.
func PrivateKeyPEM(name string) []byte {
	block, err := ssh.MarshalPrivateKey(privateKey(name), name)
	if err != nil {
		panic(fmt.Sprintf("testkeys: private key for %q: %v", name, err))
	}
	return pem.EncodeToMemory(block)
}

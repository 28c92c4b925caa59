package identity

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// A person's action counts when it is signed with a key the reviewed plan
// lists for that person, the way git signs commits with SSH keys. The
// signature covers everything that gives the action its meaning: which
// workflow run, which action on which gate or step, which opening of that
// gate (Seq), who, the comment, and when, so it cannot be replayed into
// another run, another gate or a later opening of the same gate.

// StatementVersion prefixes every signed message.
const StatementVersion = "ferry-signed-action-v1"

// MaxSkew is how far a statement's time may be from the workflow's clock.
const MaxSkew = 24 * time.Hour

// Statement is what a person signs.
type Statement struct {
	WorkflowID string
	RunID      string // "" for a start (the run does not exist yet)
	Kind       string // start, start-wave, approve, reject, retry, skip, rollback
	Stage      string // gate, parked step, or app/wave for a start
	Seq        int    // the gate or park this answers (0 when unbound)
	By         string // normalised identity
	Text       string // comment, reason, or the plan digest for a start
	IssuedAt   time.Time
}

// Message is the exact byte string signed: a JSON array, so no field can
// bleed into another.
func (s Statement) Message() []byte {
	b, _ := json.Marshal([]string{StatementVersion, s.WorkflowID, s.RunID, s.Kind, s.Stage,
		strconv.Itoa(s.Seq), Normalize(s.By), s.Text, s.IssuedAt.UTC().Format(time.RFC3339)})
	return b
}

// Normalize makes identities comparable: trimmed and lower-case.
func Normalize(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// Sign signs the statement; the result goes in the payload's "signature".
func Sign(s Statement, signer ssh.Signer) (string, error) {
	var sig *ssh.Signature
	var err error
	if as, ok := signer.(ssh.AlgorithmSigner); ok && signer.PublicKey().Type() == ssh.KeyAlgoRSA {
		sig, err = as.SignWithAlgorithm(rand.Reader, s.Message(), ssh.KeyAlgoRSASHA256)
	} else {
		sig, err = signer.Sign(rand.Reader, s.Message())
	}
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", s.Kind, err)
	}
	return base64.StdEncoding.EncodeToString(ssh.Marshal(sig)), nil
}

// ErrUnsigned means the payload carries no signature.
var ErrUnsigned = errors.New("not signed")

// Verify checks sig over s against the person's authorized keys (lines in
// authorized_keys format). It returns the fingerprint of the key that
// verified. It is deterministic, so workflow code may call it.
func Verify(s Statement, sig string, authorizedKeys []string) (string, error) {
	if strings.TrimSpace(sig) == "" {
		return "", ErrUnsigned
	}
	if len(sig) > 4096 {
		return "", fmt.Errorf("signature too long")
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return "", fmt.Errorf("signature is not base64: %v", err)
	}
	var parsed ssh.Signature
	if err := ssh.Unmarshal(raw, &parsed); err != nil {
		return "", fmt.Errorf("signature is malformed: %v", err)
	}
	//lint:ignore SA1019 refusing DSA signatures is the point
	if parsed.Format == ssh.KeyAlgoRSA || parsed.Format == ssh.KeyAlgoDSA {
		return "", fmt.Errorf("signature algorithm %s is refused (SHA-1); sign with ed25519, ecdsa or rsa-sha2-256", parsed.Format)
	}
	if len(authorizedKeys) == 0 {
		return "", fmt.Errorf("the reviewed plan lists no key for %s: add a person %q { keys = [...] } block", s.By, Normalize(s.By))
	}
	msg := s.Message()
	for _, line := range authorizedKeys {
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			continue
		}
		if pk.Verify(msg, &parsed) == nil {
			return ssh.FingerprintSHA256(pk), nil
		}
	}
	return "", fmt.Errorf("signature does not verify with any key the reviewed plan lists for %s", Normalize(s.By))
}

// EnvSigningKey names the private key file the CLI signs with.
const EnvSigningKey = "FERRY_SIGNING_KEY"

// LoadSigner reads an unencrypted OpenSSH (or PEM) private key file.
func LoadSigner(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w (set %s to your SSH private key listed in the plan's person block)", err, EnvSigningKey)
	}
	s, err := ssh.ParsePrivateKey(data)
	var pp *ssh.PassphraseMissingError
	if errors.As(err, &pp) {
		return nil, fmt.Errorf("signing key %s is passphrase-protected: use a key without a passphrase kept in your secret store, or a dedicated approval key (ssh-keygen -t ed25519 -N '' -f ~/.ssh/ferry_ed25519)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %v", path, err)
	}
	return s, nil
}

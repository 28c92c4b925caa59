// Package codec encrypts every Temporal payload ferry writes (workflow
// inputs, activity results, signals, details) with AES-256-GCM, so
// histories hold no plaintext VM names, addresses or evidence. Keys carry
// an id stored in each payload's metadata: rotating the active key keeps
// old histories readable as long as the old key stays in the keyring.
package codec

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ferrymigrate/ferry/redact"
)

// Environment variables that hold the keys.
const (
	EnvKey     = "FERRY_CODEC_KEY"      // base64 of 32 bytes, or keyid:base64
	EnvKeyFile = "FERRY_CODEC_KEY_FILE" // lines keyid:base64; the first is active
)

// KeySize is the AES-256 key length.
const KeySize = 32

// Key is one AES-256 key and its id.
type Key struct {
	ID     string
	Secret []byte
}

// Keyring holds the keys; the first is the active one that encrypts, all
// of them decrypt.
type Keyring struct {
	keys []Key
}

// ErrNoKey means no key is configured.
var ErrNoKey = errors.New("codec: no payload encryption key: set " + EnvKey + " (base64 of 32 random bytes, e.g. `head -c32 /dev/urandom | base64`) or " + EnvKeyFile)

// NewKeyring checks and orders keys; keys[0] becomes active.
func NewKeyring(keys ...Key) (Keyring, error) {
	if len(keys) == 0 {
		return Keyring{}, ErrNoKey
	}
	seen := map[string]bool{}
	for i, k := range keys {
		if len(k.Secret) != KeySize {
			return Keyring{}, fmt.Errorf("codec: key %q is %d bytes, want %d (AES-256): generate one with `head -c32 /dev/urandom | base64`", k.ID, len(k.Secret), KeySize)
		}
		if k.ID == "" || strings.ContainsAny(k.ID, ": \t") {
			return Keyring{}, fmt.Errorf("codec: key %d has an invalid id %q: use letters, digits, '-' or '_'", i+1, k.ID)
		}
		if seen[k.ID] {
			return Keyring{}, fmt.Errorf("codec: key id %q appears twice: give each key its own id", k.ID)
		}
		seen[k.ID] = true
	}
	return Keyring{keys: append([]Key(nil), keys...)}, nil
}

// Active returns the id of the key that encrypts.
func (k Keyring) Active() string {
	if len(k.keys) == 0 {
		return ""
	}
	return k.keys[0].ID
}

// IDs lists the key ids, active first.
func (k Keyring) IDs() []string {
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.ID
	}
	return ids
}

// KeyID derives a stable id for a key given without one: a short hash, so
// it identifies the key without revealing it.
func KeyID(secret []byte) string {
	sum := sha256.Sum256(append([]byte("ferry-codec-key-id:"), secret...))
	return "k" + hex.EncodeToString(sum[:4])
}

// ParseKeyLine reads "keyid:base64" or a bare base64 key.
func ParseKeyLine(line string) (Key, error) {
	line = strings.TrimSpace(line)
	id, b64, ok := strings.Cut(line, ":")
	if !ok {
		b64, id = line, ""
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		// Never echo the text: it is the key.
		return Key{}, fmt.Errorf("codec: key %q is not valid base64: encode 32 random bytes with base64", id)
	}
	id = strings.TrimSpace(id)
	if id == "" {
		id = KeyID(secret)
	}
	redact.Register(strings.TrimSpace(b64))
	return Key{ID: id, Secret: secret}, nil
}

// ParseKeyFile reads a key file: one "keyid:base64" per line, '#' comments
// and blank lines ignored, the first key active.
func ParseKeyFile(text string) (Keyring, error) {
	var keys []Key
	sc := bufio.NewScanner(strings.NewReader(text))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(line, ":") {
			return Keyring{}, fmt.Errorf("codec: key file line %d: want keyid:base64key", n)
		}
		k, err := ParseKeyLine(line)
		if err != nil {
			return Keyring{}, fmt.Errorf("line %d: %w", n, err)
		}
		keys = append(keys, k)
	}
	return NewKeyring(keys...)
}

// KeyringFromEnv loads the keys from FERRY_CODEC_KEY_FILE, else from
// FERRY_CODEC_KEY. It returns ErrNoKey when neither is set.
func KeyringFromEnv(getenv func(string) string) (Keyring, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if path := getenv(EnvKeyFile); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Keyring{}, fmt.Errorf("codec: read %s=%s: %w", EnvKeyFile, path, err)
		}
		kr, err := ParseKeyFile(string(b))
		if err != nil {
			return Keyring{}, fmt.Errorf("%s %s: %w", EnvKeyFile, path, err)
		}
		return kr, nil
	}
	if v := getenv(EnvKey); v != "" {
		k, err := ParseKeyLine(v)
		if err != nil {
			return Keyring{}, fmt.Errorf("%s: %w", EnvKey, err)
		}
		return NewKeyring(k)
	}
	return Keyring{}, ErrNoKey
}

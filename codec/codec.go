package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"os"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Payload metadata written by the codec.
const (
	MetadataEncodingEncrypted = "binary/encrypted"
	MetadataKeyID             = "encryption-key-id"
	MetadataCipher            = "encryption-cipher"
	CipherAES256GCM           = "AES256-GCM"
)

// Codec is a converter.PayloadCodec encrypting with AES-256-GCM.
type Codec struct {
	keys   Keyring
	aeads  map[string]cipher.AEAD
	active string
	// AllowPlaintext lets payloads that were never encrypted through
	// (histories from before encryption was turned on). Off by default:
	// a plaintext payload is one that did not come through a client
	// holding the key, so the worker refuses it (EnvAllowPlaintext).
	AllowPlaintext bool
}

// EnvAllowPlaintext=1 makes DataConverter accept plaintext payloads.
const EnvAllowPlaintext = "FERRY_CODEC_ALLOW_PLAINTEXT"

// EncodingRefused marks a plaintext payload the codec refused. Workflow
// code that receives raw payloads (ferry's signals) records the refusal;
// typed decoding (a workflow input, an update) fails with this name in
// its error, so nothing runs on a plaintext input.
const EncodingRefused = "binary/ferry-refused-plaintext-payload"

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a codec from a keyring.
func New(keys Keyring) (*Codec, error) {
	if len(keys.keys) == 0 {
		return nil, ErrNoKey
	}
	c := &Codec{keys: keys, aeads: map[string]cipher.AEAD{}, active: keys.Active()}
	for _, k := range keys.keys {
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

// DataConverter wraps Temporal's default data converter with the codec:
// what the client and worker both install.
func DataConverter(keys Keyring) (converter.DataConverter, error) {
	c, err := New(keys)
	if err != nil {
		return nil, err
	}
	c.AllowPlaintext = os.Getenv(EnvAllowPlaintext) == "1"
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c), nil
}

// Encode encrypts each payload (metadata and data together) with the
// active key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.active]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: nonce: %w", err)
		}
		// The key id is authenticated data: moving a payload to another
		// key id fails like any other tampering.
		sealed := aead.Seal(nonce, nonce, plain, []byte(c.active))
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncodingEncrypted),
				MetadataKeyID:              []byte(c.active),
				MetadataCipher:             []byte(CipherAES256GCM),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode decrypts payloads encrypted with any key of the ring; payloads
// that were never encrypted pass through unchanged (histories from before
// encryption was turned on).
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncodingEncrypted {
			out[i] = p
			if !c.AllowPlaintext {
				out[i] = &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(EncodingRefused)},
					Data: []byte("plaintext payload refused: this worker requires payloads encrypted with the ferry codec key")}
			}
			continue
		}
		id := string(p.Metadata[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload was encrypted with key %q, which is not in the keyring (have %v): add that key to %s", id, c.keys.IDs(), EnvKeyFile)
		}
		if cph := string(p.Metadata[MetadataCipher]); cph != "" && cph != CipherAES256GCM {
			return nil, fmt.Errorf("codec: payload cipher %q is not supported", cph)
		}
		ns := aead.NonceSize()
		if len(p.Data) < ns+aead.Overhead() {
			return nil, fmt.Errorf("codec: encrypted payload is too short (%d bytes): it was truncated or is not ferry's", len(p.Data))
		}
		plain, err := aead.Open(nil, p.Data[:ns], p.Data[ns:], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: payload failed authentication with key %q: it was modified, or encrypted with another key under the same id", id)
		}
		var dec commonpb.Payload
		if err := proto.Unmarshal(plain, &dec); err != nil {
			return nil, fmt.Errorf("codec: decrypted payload is not a payload: %w", err)
		}
		out[i] = &dec
	}
	return out, nil
}

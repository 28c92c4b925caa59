package codec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

func newKey(t *testing.T, id string) Key {
	t.Helper()
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return Key{ID: id, Secret: b}
}

func ring(t *testing.T, keys ...Key) Keyring {
	t.Helper()
	kr, err := NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// canaries are what a migration payload carries and a history must not
// show in clear.
var canaries = []string{"billing-api-web-01", "10.42.7.19", "Vmw@re-Canary-Pass!"}

type migrationInput struct {
	App      string
	VMs      []string
	IPs      []string
	Evidence string
}

func canaryInput() migrationInput {
	return migrationInput{App: "billing-api", VMs: []string{canaries[0]}, IPs: []string{canaries[1]},
		Evidence: "hook printed password " + canaries[2]}
}

func TestDataConverterRoundTripHidesCanaries(t *testing.T) {
	dc, err := DataConverter(ring(t, newKey(t, "2026-01")))
	if err != nil {
		t.Fatal(err)
	}
	payloads, err := dc.ToPayloads(canaryInput(), "second arg "+canaries[1])
	if err != nil {
		t.Fatal(err)
	}
	raw, err := payloads.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range canaries {
		if bytes.Contains(raw, []byte(c)) {
			t.Errorf("encoded payloads contain %q in clear", c)
		}
	}
	for _, p := range payloads.Payloads {
		if got := string(p.Metadata[MetadataKeyID]); got != "2026-01" {
			t.Errorf("key id metadata = %q", got)
		}
		if got := string(p.Metadata[converter.MetadataEncoding]); got != MetadataEncodingEncrypted {
			t.Errorf("encoding metadata = %q", got)
		}
	}
	var back migrationInput
	var s string
	if err := dc.FromPayloads(payloads, &back, &s); err != nil {
		t.Fatal(err)
	}
	if back.VMs[0] != canaries[0] || back.IPs[0] != canaries[1] || !strings.Contains(back.Evidence, canaries[2]) || !strings.Contains(s, canaries[1]) {
		t.Fatalf("round trip lost data: %+v %q", back, s)
	}
}

func TestEncodeIsRandomised(t *testing.T) {
	c, _ := New(ring(t, newKey(t, "a")))
	p := &commonpb.Payload{Data: []byte("same")}
	e1, _ := c.Encode([]*commonpb.Payload{p})
	e2, _ := c.Encode([]*commonpb.Payload{p})
	if bytes.Equal(e1[0].Data, e2[0].Data) {
		t.Fatal("two encryptions of one payload are identical: nonce reuse")
	}
}

func TestRotation(t *testing.T) {
	old, cur := newKey(t, "2025-12"), newKey(t, "2026-01")
	before, _ := New(ring(t, old))
	after, _ := New(ring(t, cur, old))
	in := []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"` + canaries[0] + `"`)}}
	encOld, err := before.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := after.Decode(encOld)
	if err != nil {
		t.Fatalf("new keyring cannot read old payloads: %v", err)
	}
	if string(dec[0].Data) != string(in[0].Data) || string(dec[0].Metadata["encoding"]) != "json/plain" {
		t.Fatalf("decoded %+v", dec[0])
	}
	encNew, _ := after.Encode(in)
	if id := string(encNew[0].Metadata[MetadataKeyID]); id != "2026-01" {
		t.Fatalf("new payloads use key %q, want the active 2026-01", id)
	}
	// A worker that still has only the old key cannot read new payloads,
	// and says which key it lacks.
	_, err = before.Decode(encNew)
	if err == nil || !strings.Contains(err.Error(), `"2026-01"`) {
		t.Fatalf("old keyring on new payload: err = %v", err)
	}
}

func TestTamperDetected(t *testing.T) {
	c, _ := New(ring(t, newKey(t, "a"), newKey(t, "b")))
	enc, _ := c.Encode([]*commonpb.Payload{{Data: []byte("payload " + canaries[1])}})

	flipped := &commonpb.Payload{Metadata: enc[0].Metadata, Data: append([]byte(nil), enc[0].Data...)}
	flipped.Data[len(flipped.Data)-5] ^= 0x01
	if _, err := c.Decode([]*commonpb.Payload{flipped}); err == nil || !strings.Contains(err.Error(), "authentication") {
		t.Fatalf("flipped byte: err = %v", err)
	}

	moved := &commonpb.Payload{Metadata: map[string][]byte{}, Data: enc[0].Data}
	for k, v := range enc[0].Metadata {
		moved.Metadata[k] = v
	}
	moved.Metadata[MetadataKeyID] = []byte("b")
	if _, err := c.Decode([]*commonpb.Payload{moved}); err == nil {
		t.Fatal("payload relabelled to another key id decoded")
	}

	short := &commonpb.Payload{Metadata: enc[0].Metadata, Data: enc[0].Data[:10]}
	if _, err := c.Decode([]*commonpb.Payload{short}); err == nil {
		t.Fatal("truncated payload decoded")
	}
}

func TestWrongKeySameID(t *testing.T) {
	a, _ := New(ring(t, newKey(t, "prod")))
	b, _ := New(ring(t, newKey(t, "prod")))
	enc, _ := a.Encode([]*commonpb.Payload{{Data: []byte("x")}})
	if _, err := b.Decode(enc); err == nil {
		t.Fatal("decoded with the wrong key")
	}
}

func TestPlainPayloadsRefusedUnlessAllowed(t *testing.T) {
	c, _ := New(ring(t, newKey(t, "a")))
	p := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"app":"x"}`)}
	out, err := c.Decode([]*commonpb.Payload{p})
	if err != nil || string(out[0].Metadata["encoding"]) != EncodingRefused || strings.Contains(string(out[0].Data), "app") {
		t.Fatalf("plain payload not refused: %v %v", out, err)
	}
	// Typed decoding of a refused payload fails, naming the refusal.
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
	var v map[string]string
	if err := dc.FromPayload(p, &v); err == nil || !strings.Contains(err.Error(), "refused-plaintext") {
		t.Fatalf("typed decode of a plaintext payload: %v (%v)", err, v)
	}
	c.AllowPlaintext = true
	out, err = c.Decode([]*commonpb.Payload{p})
	if err != nil || out[0] != p {
		t.Fatalf("plain payload with AllowPlaintext: %v %v", out, err)
	}
}

func TestKeyringFromEnv(t *testing.T) {
	k1, k2 := newKey(t, "new"), newKey(t, "old")
	b64 := func(k Key) string { return base64.StdEncoding.EncodeToString(k.Secret) }
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	os.WriteFile(file, []byte("# rotated 2026-01\nnew:"+b64(k1)+"\n\nold:"+b64(k2)+"\n"), 0o600)

	kr, err := KeyringFromEnv(func(k string) string { return map[string]string{EnvKeyFile: file, EnvKey: "ignored"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if kr.Active() != "new" || len(kr.IDs()) != 2 {
		t.Fatalf("file keyring: active %q ids %v", kr.Active(), kr.IDs())
	}

	kr, err = KeyringFromEnv(func(k string) string { return map[string]string{EnvKey: b64(k1)}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if kr.Active() != KeyID(k1.Secret) || !strings.HasPrefix(kr.Active(), "k") {
		t.Fatalf("derived id %q", kr.Active())
	}

	if _, err := KeyringFromEnv(func(string) string { return "" }); err != ErrNoKey {
		t.Fatalf("no key: %v", err)
	}
	short := base64.StdEncoding.EncodeToString([]byte("too-short-key"))
	_, err = KeyringFromEnv(func(k string) string { return map[string]string{EnvKey: short}[k] })
	if err == nil || strings.Contains(err.Error(), short) {
		t.Fatalf("short key: err = %v (must not echo the key)", err)
	}
	_, err = KeyringFromEnv(func(k string) string { return map[string]string{EnvKey: "not base64 !!secretish"}[k] })
	if err == nil || strings.Contains(err.Error(), "secretish") {
		t.Fatalf("bad base64: err = %v (must not echo the key)", err)
	}
	os.WriteFile(file, []byte("a:"+b64(k1)+"\na:"+b64(k2)+"\n"), 0o600)
	if _, err := KeyringFromEnv(func(k string) string { return map[string]string{EnvKeyFile: file}[k] }); err == nil {
		t.Fatal("duplicate key ids accepted")
	}
}

// BenchmarkEncodeDecode measures a codec round trip of a ~2 KiB payload
// against a floor measured in the same run: the proto marshal and unmarshal
// the codec cannot avoid. x-floor is the ratio (the cost of AES-GCM and
// the nonce).
func BenchmarkEncodeDecode(b *testing.B) {
	k := make([]byte, KeySize)
	rand.Read(k)
	kr, _ := NewKeyring(Key{ID: "a", Secret: k})
	c, _ := New(kr)
	data := bytes.Repeat([]byte(`{"vm":"web-01","ip":"10.0.0.1"}`), 64)
	in := []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: data}}
	b.SetBytes(int64(len(data)))
	start := time.Now()
	for range b.N {
		m, _ := proto.Marshal(in[0])
		var p commonpb.Payload
		if err := proto.Unmarshal(m, &p); err != nil {
			b.Fatal(err)
		}
	}
	floor := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ResetTimer()
	start = time.Now()
	for range b.N {
		enc, _ := c.Encode(in)
		if _, err := c.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.StopTimer()
	b.ReportMetric(ns/floor, "x-floor")
	b.Logf("N=%d: codec round trip %.0f ns/op, floor (proto round trip) %.0f ns/op, ratio %.2f", b.N, ns, floor, ns/floor)
}

package workflows

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// FuzzDecodeSignal feeds arbitrary bytes to the signal payload decoding
// (what anyone can type in the Temporal UI): it must never panic, and what
// it accepts must be a well-formed approval or action that survives a JSON
// round trip unchanged. The seed corpus is testdata/fuzz/FuzzDecodeSignal.
func FuzzDecodeSignal(f *testing.F) {
	for _, s := range []string{
		`{"stage":"cutover","approver":"ana@example.com","comment":"window agreed"}`,
		`{"by":"ana@example.com","reason":"5xx above budget"}`,
		`{"stage":"plan","approver":"  "}`,
		`{"stage":"cutover","approver":"ana","extra":1}`,
		`{"stage":"cutover","approver":"ana"}{}`,
		`{"stage":"cutover","approver":"ana"`,
		`null`, `[]`, `"cutover"`, ``, `{"stage":1}`, "{\"approver\":\"\xff\"}",
	} {
		f.Add([]byte(s), "json/plain")
	}
	f.Add([]byte(`{"stage":"plan","approver":"a"}`), "binary/encrypted")
	f.Fuzz(func(t *testing.T, data []byte, encoding string) {
		var a Approval
		if err := DecodeStrict(data, &a); err == nil {
			if validateApproval(a) == nil {
				if strings.TrimSpace(a.Approver) == "" || !slices.Contains(knownGates, a.Stage) || len(a.Comment) > 4096 || len(a.Approver) > 256 {
					t.Fatalf("accepted an invalid approval %+v", a)
				}
				roundTrip(t, a)
			}
		} else if !strings.HasPrefix(err.Error(), "malformed JSON") {
			t.Fatalf("decode error without the malformed-JSON prefix: %v", err)
		}
		var act Action
		if err := DecodeStrict(data, &act); err == nil && validateAction(act) == nil {
			if strings.TrimSpace(act.By) == "" || len(act.Reason) > 4096 || len(act.By) > 256 {
				t.Fatalf("accepted an invalid action %+v", act)
			}
			roundTrip(t, act)
		}
		// The raw-payload path the signal handlers use: any encoding other
		// than JSON is refused, never decoded.
		p := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(encoding)}, Data: data}
		var viaRaw Approval
		err := decodeRaw(converter.NewRawValue(p), &viaRaw)
		if encoding != "" && encoding != "json/plain" && err == nil {
			t.Fatalf("encoding %q decoded", encoding)
		}
		if err := decodeRaw(converter.NewRawValue(nil), &viaRaw); err == nil {
			t.Fatal("nil payload decoded")
		}
	})
}

func roundTrip[T comparable](t *testing.T, v T) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %+v: %v", v, err)
	}
	var back T
	if err := DecodeStrict(b, &back); err != nil || back != v {
		t.Fatalf("round trip of %+v: %+v (%v)", v, back, err)
	}
}

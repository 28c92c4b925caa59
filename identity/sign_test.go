package identity_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/internal/testkeys"
)

func TestSignVerify(t *testing.T) {
	st := identity.Statement{WorkflowID: "ferry-app-x", RunID: "r1", Kind: "approve", Stage: "cutover", Seq: 3,
		By: "ana@example.com", Text: "ok", IssuedAt: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	sig, err := identity.Sign(st, testkeys.Signer("ana@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{testkeys.AuthorizedKey("bo@example.com"), testkeys.AuthorizedKey("ana@example.com")}
	if fp, err := identity.Verify(st, sig, keys); err != nil || !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("verify: %q %v", fp, err)
	}
	// Every field is covered; identities compare normalised.
	for name, change := range map[string]func(*identity.Statement){
		"run":      func(s *identity.Statement) { s.RunID = "r2" },
		"kind":     func(s *identity.Statement) { s.Kind = "reject" },
		"stage":    func(s *identity.Statement) { s.Stage = "plan" },
		"seq":      func(s *identity.Statement) { s.Seq = 4 },
		"by":       func(s *identity.Statement) { s.By = "bo@example.com" },
		"text":     func(s *identity.Statement) { s.Text = "ok\nand more" },
		"time":     func(s *identity.Statement) { s.IssuedAt = s.IssuedAt.Add(time.Second) },
		"workflow": func(s *identity.Statement) { s.WorkflowID = "ferry-app-y" },
	} {
		c := st
		change(&c)
		if _, err := identity.Verify(c, sig, keys); err == nil {
			t.Errorf("changed %s still verifies", name)
		}
	}
	c := st
	c.By = "  ANA@example.com "
	if _, err := identity.Verify(c, sig, keys); err != nil {
		t.Errorf("normalised identity: %v", err)
	}
	if _, err := identity.Verify(st, sig, []string{testkeys.AuthorizedKey("bo@example.com")}); err == nil {
		t.Error("verified with another person's key")
	}
	if _, err := identity.Verify(st, "", keys); err != identity.ErrUnsigned {
		t.Errorf("unsigned: %v", err)
	}
	if _, err := identity.Verify(st, "not base64!", keys); err == nil {
		t.Error("garbage signature verified")
	}
}

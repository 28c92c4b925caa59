package devstack

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"

	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/inventory"
)

// Operator is the dev stack's platform engineer: it starts the demo wave
// and may retry, skip and roll back any app.
const Operator = "platform@example.com"

// KeyFile is where the dev stack keeps the throwaway signing key of a
// person (the CLI finds it there for FERRY_USER).
func KeyFile(stateDir, person string) string {
	return filepath.Join(stateDir, "keys", identity.Normalize(person))
}

// devKey returns the person's dev signing key, creating it (0600) once.
func devKey(stateDir, person string) (ssh.Signer, error) {
	f := KeyFile(stateDir, person)
	if b, err := os.ReadFile(f); err == nil {
		return ssh.ParsePrivateKey(b)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	blk, err := ssh.MarshalPrivateKey(priv, person+" (ferry dev)")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(f, pem.EncodeToMemory(blk), 0o600); err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(priv)
}

// DevPeople makes the generated plan runnable as-is on the dev stack: every
// app owner (the approvers plan init writes) and the platform operator get
// a throwaway key under <state>/keys and a person block; the change windows
// are removed so a newcomer sees a cutover now, not next Tuesday at 22:00
// in Paris. A real plan lists people's own public keys.
func DevPeople(stateDir string, src []byte, inv *inventory.Inventory) ([]byte, error) {
	f, diags := hclwrite.ParseConfig(src, "ferry.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("dev plan: %s", diags.Error())
	}
	body := f.Body()
	for _, app := range body.Blocks() {
		if app.Type() != "app" {
			continue
		}
		for _, c := range app.Body().Blocks() {
			if c.Type() != "cutover" {
				continue
			}
			for _, w := range c.Body().Blocks() {
				if w.Type() == "window" {
					c.Body().RemoveBlock(w)
				}
			}
		}
	}
	people := map[string]bool{Operator: true}
	for _, a := range inv.Apps {
		if a.Owner != "" {
			people[identity.Normalize(a.Owner)] = true
		}
	}
	names := make([]string, 0, len(people))
	for p := range people {
		names = append(names, p)
	}
	sort.Strings(names)
	body.AppendNewline()
	body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte("# ferry dev: throwaway keys under " + filepath.Join(stateDir, "keys") + "; the CLI signs with the key of FERRY_USER.\n")}})
	body.SetAttributeValue("operators", cty.ListVal([]cty.Value{cty.StringVal(Operator)}))
	for _, p := range names {
		s, err := devKey(stateDir, p)
		if err != nil {
			return nil, fmt.Errorf("dev key of %s: %w", p, err)
		}
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
		body.AppendNewBlock("person", []string{p}).Body().SetAttributeValue("keys", cty.ListVal([]cty.Value{cty.StringVal(line)}))
	}
	return f.Bytes(), nil
}

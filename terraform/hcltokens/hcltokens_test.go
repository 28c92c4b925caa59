package hcltokens_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferrymigrate/ferry/terraform/hcltokens"
)

// The package's contract: each builder writes what hclwrite.TokensForValue
// writes for the same cty value, with or without an arena.
func TestTokensMatchHCLWrite(t *testing.T) {
	for _, a := range []*hcltokens.Arena{nil, {}} {
		strs := []string{"", "plain", `q"uote\back`, "tab\tnl\nret\r", "${interp} %{dir} $ % {", "é e\u0301 日本", "\x00\x7f\u200b", "\U0001F600"}
		for _, s := range strs {
			if got, want := a.Str(s).Bytes(), hclwrite.TokensForValue(cty.StringVal(s)).Bytes(); !bytes.Equal(got, want) {
				t.Errorf("string %q: got %s want %s", s, got, want)
			}
		}
		list := cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b c")})
		if got, want := hclwrite.Format(append([]byte("x = "), a.List([]string{"a", "b c"}).Bytes()...)),
			hclwrite.Format(append([]byte("x = "), hclwrite.TokensForValue(list).Bytes()...)); !bytes.Equal(got, want) {
			t.Errorf("list: got %s want %s", got, want)
		}
		m := map[string]string{"b": "2", "a-b": "1", "9x": "3", "É": "4"}
		cm := map[string]cty.Value{}
		for k, v := range m {
			cm[k] = cty.StringVal(v)
		}
		f1 := hclwrite.NewEmptyFile()
		a.Attr(f1.Body(), "m", a.Map(m))
		f2 := hclwrite.NewEmptyFile()
		f2.Body().SetAttributeValue("m", cty.MapVal(cm))
		if got, want := hclwrite.Format(f1.Bytes()), f2.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("map: got\n%s\nwant\n%s", got, want)
		}
	}
}

// Punct gives each punctuation token the bytes hclwrite writes for it.
func TestPunctMatchesHCLWrite(t *testing.T) {
	f, diags := hclwrite.ParseConfig([]byte("b \"l\" {\n  x = [1, 2]\n  y = { a = \"s\" }\n  z = f(a.b)\n}\n"), "t.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	seen := map[hclsyntax.TokenType]bool{}
	var a hcltokens.Arena
	for _, tok := range f.BuildTokens(nil) {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenCBrace, hclsyntax.TokenOBrack, hclsyntax.TokenCBrack, hclsyntax.TokenOParen, hclsyntax.TokenCParen,
			hclsyntax.TokenComma, hclsyntax.TokenEqual, hclsyntax.TokenDot, hclsyntax.TokenNewline, hclsyntax.TokenOQuote, hclsyntax.TokenCQuote:
			seen[tok.Type] = true
			if got := a.Punct(tok.Type); got.Type != tok.Type || !bytes.Equal(got.Bytes, tok.Bytes) {
				t.Errorf("%s: got %q want %q", tok.Type, got.Bytes, tok.Bytes)
			}
		}
	}
	if len(seen) != 12 {
		t.Errorf("the sample holds %d of the 12 punctuation types", len(seen))
	}
	defer func() {
		if recover() == nil {
			t.Error("Punct of an identifier did not panic")
		}
	}()
	a.Punct(hclsyntax.TokenIdent)
}

func TestValidIdentMatchesHCL(t *testing.T) {
	for _, s := range []string{"a", "a-b", "_x", "9x", "-a", "a.b", "a b", "É", "true", "a9_-", ""} {
		if hcltokens.ValidIdent(s) != hclsyntax.ValidIdentifier(s) {
			t.Errorf("%q: ValidIdent %v, hclsyntax %v", s, hcltokens.ValidIdent(s), hclsyntax.ValidIdentifier(s))
		}
	}
}

// An arena reset hands out its chunks again; tokens still read right after
// more than a chunk of them.
func TestArenaReuse(t *testing.T) {
	var a hcltokens.Arena
	for round := 0; round < 2; round++ {
		xs := make([]string, 1500)
		for i := range xs {
			xs[i] = fmt.Sprint("v", i)
		}
		got := a.List(xs).Bytes()
		want := hclwrite.TokensForValue(cty.ListVal(func() []cty.Value {
			var vs []cty.Value
			for _, x := range xs {
				vs = append(vs, cty.StringVal(x))
			}
			return vs
		}())).Bytes()
		if !bytes.Equal(hclwrite.Format(got), hclwrite.Format(want)) {
			t.Fatalf("round %d: list of %d differs", round, len(xs))
		}
		a.Reset()
	}
}

func Example() {
	var a hcltokens.Arena
	f := hclwrite.NewEmptyFile()
	b := f.Body()
	a.SetStr(b, "name", "web-1 ${not a template}")
	a.Attr(b, "zones", a.List([]string{"europe-west1-b", "europe-west1-c"}))
	a.Attr(b, "labels", a.Map(map[string]string{"app": "ledger", "managed-by": "ferry"}))
	// The tokens are those of hclwrite.TokensForValue; format the file once.
	fmt.Printf("%s", hclwrite.Format(f.Bytes()))
	// Output:
	// name  = "web-1 $${not a template}"
	// zones = ["europe-west1-b", "europe-west1-c"]
	// labels = {
	//   app        = "ledger"
	//   managed-by = "ferry"
	// }
}

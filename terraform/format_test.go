package terraform

import (
	"bytes"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// The fast formatter must produce exactly what hclwrite.Format produces.
func TestFormatMatchesHCLWrite(t *testing.T) {
	specs := append(exampleSpecs(t), benchSpecs(3, 4)...)
	odd := specs[0]
	odd.Labels = map[string]string{"Équipe": "Données été", "x": ""}
	odd.VMs[0].Name = "naïve «vm» ${x} %{y}"
	specs = append(specs, odd)
	for _, s := range specs {
		for _, opts := range []RenderOptions{{}, {GCP: fakeGCP}} {
			files, err := Render(s, opts)
			if err != nil {
				t.Fatal(err)
			}
			for n, b := range files {
				if want := hclwrite.Format(b); !bytes.Equal(b, want) {
					t.Errorf("%s/%s: not hclwrite-formatted:\n--- got\n%s\n--- want\n%s", s.Name, n, b, want)
				}
			}
		}
	}
}

// The literal token builders must write what hclwrite.TokensForValue writes.
func TestTokensMatchHCLWrite(t *testing.T) {
	strs := []string{"", "plain", `q"uote\back`, "tab\tnl\nret\r", "${interp} %{dir} $ % {", "é e\u0301 日本", "\x00\x7f\u200b", "\U0001F600"}
	for _, s := range strs {
		if got, want := (*arena)(nil).strTokens(s).Bytes(), hclwrite.TokensForValue(cty.StringVal(s)).Bytes(); !bytes.Equal(got, want) {
			t.Errorf("string %q: got %s want %s", s, got, want)
		}
	}
	list := cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b c")})
	if got, want := hclwrite.Format(append([]byte("x = "), (*arena)(nil).listTokens([]string{"a", "b c"}).Bytes()...)),
		hclwrite.Format(append([]byte("x = "), hclwrite.TokensForValue(list).Bytes()...)); !bytes.Equal(got, want) {
		t.Errorf("list: got %s want %s", got, want)
	}
	m := map[string]string{"b": "2", "a-b": "1", "9x": "3", "É": "4"}
	cm := map[string]cty.Value{}
	for k, v := range m {
		cm[k] = cty.StringVal(v)
	}
	f1 := hclwrite.NewEmptyFile()
	f1.Body().SetAttributeRaw("m", (&arena{}).mapTokens(m))
	f2 := hclwrite.NewEmptyFile()
	f2.Body().SetAttributeValue("m", cty.MapVal(cm))
	if got, want := fileBytes(f1), f2.Bytes(); !bytes.Equal(got, want) {
		t.Errorf("map: got\n%s\nwant\n%s", got, want)
	}
}

func TestValidIdentMatchesHCL(t *testing.T) {
	for _, s := range []string{"a", "a-b", "_x", "9x", "-a", "a.b", "a b", "É", "true", "a9_-", ""} {
		if validIdent(s) != hclsyntax.ValidIdentifier(s) {
			t.Errorf("%q: validIdent %v, hclsyntax %v", s, validIdent(s), hclsyntax.ValidIdentifier(s))
		}
	}
}

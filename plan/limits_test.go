package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Hostile nesting must come back as a diagnostic at the position where the
// limit is crossed. Without the pre-scan, the "!" , "-" and "?:" cases
// (a few MB each) overflow hclsyntax's recursive parser: a fatal error, not
// a panic, that would kill the process.
func TestParseRefusesDeepNesting(t *testing.T) {
	cases := map[string]string{
		"brackets":       "a = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000),
		"bang":           "a = " + strings.Repeat("!", 4<<20) + "true",
		"minus":          "a = " + strings.Repeat("-", 4<<20) + "1",
		"conditionals":   "a = " + strings.Repeat("x ? x : ", 1<<18) + "x",
		"parentheses":    "a = " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000),
		"interpolations": "a = " + strings.Repeat("\"${", 10000) + strings.Repeat("}\"", 10000),
		"blocks":         strings.Repeat("b {\n", 10000) + strings.Repeat("}\n", 10000),
		"objects":        "a = " + strings.Repeat("{ b = ", 10000) + "1" + strings.Repeat(" }", 10000),
		"template ifs":   "a = <<EOT\n" + strings.Repeat("%{ if true }", 10000) + strings.Repeat("%{ endif }", 10000) + "\nEOT\n",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			p, diags := Parse("deep.hcl", []byte(src))
			if p != nil || len(diags) != 1 || diags[0].Summary != "Expression nested too deeply" {
				t.Fatalf("want one nesting diagnostic and no plan, got %v", diags)
			}
			d := diags[0]
			if d.Subject == nil || d.Subject.Start.Line < 1 || d.Subject.Filename != "deep.hcl" {
				t.Fatalf("no position: %+v", d.Subject)
			}
			if !strings.Contains(d.Detail, "refuses plans nested more than 64 levels deep") {
				t.Errorf("detail: %s", d.Detail)
			}
		})
	}
}

func TestNestingLimitPosition(t *testing.T) {
	src := "a = 1\nb = " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n"
	_, diags := Parse("deep.hcl", []byte(src))
	if len(diags) != 1 || diags[0].Subject == nil {
		t.Fatalf("%v", diags)
	}
	// Level 65 is the 65th "[" on line 2, after "b = ".
	if s := diags[0].Subject.Start; s.Line != 2 || s.Column != 4+65 {
		t.Errorf("at %d:%d, want 2:69", s.Line, s.Column)
	}
}

// Nesting up to the limit, and long flat sequences (which the parser
// handles in loops), are fine.
func TestNestingWithinLimitParses(t *testing.T) {
	for name, src := range map[string]string{
		"64 brackets":      "a = " + strings.Repeat("[", 64) + strings.Repeat("]", 64),
		"flat conditional": strings.Repeat("a = x ? 1 : 2\nb = { c = x ? 1 : 2 }\n", 1) + "d = [" + strings.Repeat("x ? 1 : 2,\n", 1000) + "]",
		"long list":        "a = [" + strings.Repeat("x ? 1 : 2, ", 1000) + "]",
		"comments":         "# " + strings.Repeat("-", 200) + "\n// " + strings.Repeat("[", 200) + "\n/* " + strings.Repeat("(", 200) + "\n */\na = 1\n",
		"string contents":  `a = "` + strings.Repeat(`[(\"{?!-`, 200) + `$${` + strings.Repeat("{", 100) + `"` + "\n",
		"heredoc contents": "a = <<-EOT\n  " + strings.Repeat("[{(?-!", 200) + "\n  EOT\nb = 1\n",
		"negative numbers": "a = [" + strings.Repeat("-1, ", 500) + "]\nb = 1 - -2 - 3 - 4\n",
	} {
		if diags := checkLimits("ok.hcl", []byte(src)); len(diags) > 0 {
			t.Errorf("%s: refused: %v", name, diags)
		}
		if _, diags := hclsyntax.ParseConfig([]byte(src), "ok.hcl", hcl.InitialPos); diags.HasErrors() {
			t.Errorf("%s is not valid HCL (the test must use valid input): %v", name, diags)
		}
	}
}

func TestParseRefusesHugeFile(t *testing.T) {
	big := []byte("# " + strings.Repeat("x", MaxPlanBytes) + "\n")
	p, diags := Parse("big.hcl", big)
	if p != nil || len(diags) != 1 || diags[0].Summary != "Plan file too large" || diags[0].Subject == nil {
		t.Fatalf("want one size diagnostic, got %v", diags)
	}
	path := filepath.Join(t.TempDir(), "big.hcl")
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if p, diags := Load(path); p != nil || !hasSummary(diags, "Plan file too large") {
		t.Fatalf("Load: %v", diags)
	}
}

func hasSummary(diags hcl.Diagnostics, s string) bool {
	for _, d := range diags {
		if d.Summary == s {
			return true
		}
	}
	return false
}

package terraform

import (
	"bytes"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
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

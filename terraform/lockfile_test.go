package terraform

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"golang.org/x/mod/sumdb/dirhash"

	"github.com/ferrymigrate/ferry/plan"
)

// fakeMirror lays out a filesystem mirror as make tools does, with a
// stand-in provider executable per version, and returns its CLI config.
func fakeMirror(t *testing.T, versions ...string) (rc, root string) {
	t.Helper()
	root = t.TempDir()
	for _, v := range versions {
		dir := filepath.Join(root, "registry.terraform.io", "hashicorp", "google", v, runtime.GOOS+"_"+runtime.GOARCH)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "terraform-provider-google_v"+v), []byte("provider "+v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rc = filepath.Join(t.TempDir(), "terraformrc")
	conf := "provider_installation {\n  filesystem_mirror {\n    path    = \"" + root + "\"\n    include = [\"registry.terraform.io/hashicorp/google\"]\n  }\n" +
		"  direct {\n    exclude = [\"registry.terraform.io/hashicorp/google\"]\n  }\n}\n\ndisable_checkpoint = true\n"
	if err := os.WriteFile(rc, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return rc, root
}

func TestMirrorLock(t *testing.T) {
	rc, root := fakeMirror(t, "6.9.0", "7.10.0", "7.9.1")
	l, err := MirrorLock(rc, ">= 5.0")
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != "7.10.0" {
		t.Fatalf("locked version %s, want the highest, 7.10.0", l.Version)
	}
	// terraform's h1 is the Go module directory hash of the package.
	want, err := dirhash.HashDir(filepath.Join(root, "registry.terraform.io/hashicorp/google/7.10.0", runtime.GOOS+"_"+runtime.GOARCH), "", dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Hashes) != 1 || l.Hashes[0] != want {
		t.Fatalf("hashes %v, want [%s]", l.Hashes, want)
	}
	b := l.LockFileBytes()
	f, diags := hclsyntax.ParseConfig(b, FileLock, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("lock file does not parse: %s\n%s", diags, b)
	}
	blocks := f.Body.(*hclsyntax.Body).Blocks
	if len(blocks) != 1 || blocks[0].Type != "provider" || blocks[0].Labels[0] != ProviderAddress {
		t.Fatalf("lock file:\n%s", b)
	}
	for _, s := range []string{`version     = "7.10.0"`, `constraints = ">= 5.0.0"`, `"` + want + `",`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("lock file lacks %s:\n%s", s, b)
		}
	}

	// A different provider package is a different lock, hence a different
	// module hash: a plan approved on one worker does not apply on a worker
	// with another provider.
	spec := exampleSpecs(t)[0]
	spec.Backend = plan.Backend{Type: "local"}
	r1, err := NewRunner(Config{Binary: "terraform", CLIConfigFile: rc, WorkRoot: t.TempDir()}, fakeGCP, spec)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Render(spec, r1.opts)
	if err != nil || string(files[FileLock]) != string(b) {
		t.Fatalf("the runner's module lacks the lock file (%v)", err)
	}
	h1 := r1.configHash()
	exe := filepath.Join(root, "registry.terraform.io/hashicorp/google/7.10.0", runtime.GOOS+"_"+runtime.GOARCH, "terraform-provider-google_v7.10.0")
	if err := os.WriteFile(exe, []byte("another build of 7.10.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	r2, err := NewRunner(Config{Binary: "terraform", CLIConfigFile: rc, WorkRoot: t.TempDir()}, fakeGCP, spec)
	if err != nil {
		t.Fatal(err)
	}
	if r2.configHash() == h1 {
		t.Fatal("the module hash does not cover the provider package")
	}
}

func TestMirrorLockErrors(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "rc")
	os.WriteFile(empty, []byte("disable_checkpoint = true\n"), 0o644)
	if _, err := MirrorLock(empty, ""); err == nil || !strings.Contains(err.Error(), "filesystem_mirror") {
		t.Errorf("no mirror: %v", err)
	}
	if b, err := lockFile(Config{CLIConfigFile: empty}, ""); err != nil || b != nil {
		t.Errorf("a CLI config without a mirror must give no lock and no error: %v", err)
	}
	rc, _ := fakeMirror(t)
	if _, err := MirrorLock(rc, ""); err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Errorf("empty mirror: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "rc")
	os.WriteFile(bad, []byte("provider_installation {"), 0o644)
	if _, err := MirrorLock(bad, ""); err == nil {
		t.Error("broken CLI config accepted")
	}
	if _, err := lockFile(Config{LockFile: "/nonexistent/lock.hcl"}, ""); err == nil || !strings.Contains(err.Error(), "FERRY_TERRAFORM_LOCK_FILE") {
		t.Errorf("missing configured lock file: %v", err)
	}
}

func TestNormalConstraints(t *testing.T) {
	for in, want := range map[string]string{">= 5.0": ">= 5.0.0", "~> 5.0": "~> 5.0", "7.0.0": "= 7.0.0", ">=5, < 8.1": ">= 5.0.0, < 8.1.0"} {
		if got := normalConstraints(in); got != want {
			t.Errorf("normalConstraints(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVersionLess(t *testing.T) {
	for _, c := range [][2]string{{"7.9.0", "7.10.0"}, {"6.50.0", "7.0.0"}, {"7.0", "7.0.1"}} {
		if !versionLess(c[0], c[1]) || versionLess(c[1], c[0]) {
			t.Errorf("versionLess(%s, %s) wrong", c[0], c[1])
		}
	}
}

package terraform

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// FileLock is terraform's dependency lock file. The runner writes one into
// every module, naming the google provider's version and package hash, so
// every worker plans and applies with the same provider: terraform init
// refuses a provider whose package does not match it, and the lock is part
// of the module hash that approval covers.
const FileLock = ".terraform.lock.hcl"

// ProviderAddress is the google provider's full source address.
const ProviderAddress = "registry.terraform.io/hashicorp/google"

// ProviderLock is one locked provider.
type ProviderLock struct {
	Version     string
	Constraints string
	Hashes      []string // "h1:..." package hashes
}

// LockFileBytes renders the lock file as terraform init writes it.
func (l ProviderLock) LockFileBytes() []byte {
	f := hclwrite.NewEmptyFile()
	b := f.Body().AppendNewBlock("provider", []string{ProviderAddress}).Body()
	b.SetAttributeValue("version", cty.StringVal(l.Version))
	if l.Constraints != "" {
		b.SetAttributeValue("constraints", cty.StringVal(normalConstraints(l.Constraints)))
	}
	b.SetAttributeRaw("hashes", hashListTokens(l.Hashes))
	head := "# This file is maintained automatically by \"terraform init\".\n# Manual edits may be lost in future updates.\n" +
		"# Written by ferry from the provider mirror: every worker must use this exact provider package.\n\n"
	return append([]byte(head), hclwrite.Format(f.Bytes())...)
}

// hashListTokens writes a list one item a line, as terraform does.
func hashListTokens(hashes []string) hclwrite.Tokens {
	toks := hclwrite.Tokens{{Type: hclsyntax.TokenOBrack, Bytes: []byte("[")}, {Type: hclsyntax.TokenNewline, Bytes: []byte("\n")}}
	for _, h := range hashes {
		toks = append(toks, hclwrite.TokensForValue(cty.StringVal(h))...)
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenComma, Bytes: []byte(",")}, &hclwrite.Token{Type: hclsyntax.TokenNewline, Bytes: []byte("\n")})
	}
	return append(toks, &hclwrite.Token{Type: hclsyntax.TokenCBrack, Bytes: []byte("]")})
}

// MirrorLock builds the google provider's lock from the filesystem mirror
// that the CLI configuration file (TF_CLI_CONFIG_FILE) names: the highest
// version there for this platform, hashed as terraform hashes an unpacked
// provider package (h1, the Go module directory hash).
func MirrorLock(cliConfigFile, constraints string) (*ProviderLock, error) {
	mirror, err := mirrorPath(cliConfigFile)
	if err != nil {
		return nil, err
	}
	if mirror == "" {
		return nil, fmt.Errorf("provider lock: %s names no provider_installation filesystem_mirror", cliConfigFile)
	}
	base := filepath.Join(mirror, filepath.FromSlash(ProviderAddress))
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil, fmt.Errorf("provider lock: the google provider is not in the mirror %s: %w (run make tools)", mirror, err)
	}
	platform := runtime.GOOS + "_" + runtime.GOARCH
	var versions []string
	for _, e := range entries {
		if st, err := os.Stat(filepath.Join(base, e.Name(), platform)); err == nil && st.IsDir() {
			versions = append(versions, e.Name())
		}
	}
	if len(versions) == 0 {
		return nil, fmt.Errorf("provider lock: no unpacked google provider for %s under %s (run make tools)", platform, base)
	}
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[i], versions[j]) })
	v := versions[len(versions)-1]
	h, err := packageHash(filepath.Join(base, v, platform))
	if err != nil {
		return nil, fmt.Errorf("provider lock: hashing the google provider %s in %s: %w", v, mirror, err)
	}
	return &ProviderLock{Version: v, Constraints: constraints, Hashes: []string{h}}, nil
}

// mirrorPath reads provider_installation.filesystem_mirror.path ("" when
// the file names none).
func mirrorPath(cliConfigFile string) (string, error) {
	b, err := os.ReadFile(cliConfigFile)
	if err != nil {
		return "", fmt.Errorf("provider lock: reading the terraform CLI configuration: %w", err)
	}
	f, diags := hclsyntax.ParseConfig(b, cliConfigFile, hcl.InitialPos)
	if diags.HasErrors() {
		return "", fmt.Errorf("provider lock: %s: %s", cliConfigFile, diags.Error())
	}
	for _, pi := range f.Body.(*hclsyntax.Body).Blocks {
		if pi.Type != "provider_installation" {
			continue
		}
		for _, fm := range pi.Body.Blocks {
			a, ok := fm.Body.Attributes["path"]
			if fm.Type != "filesystem_mirror" || !ok {
				continue
			}
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() || v.Type() != cty.String || v.IsNull() {
				return "", fmt.Errorf("provider lock: %s: filesystem_mirror path is not a string", cliConfigFile)
			}
			return v.AsString(), nil
		}
	}
	return "", nil
}

var packageHashes sync.Map // hashKey of the directory's files -> h1 hash

// packageHash is terraform's h1 hash of an unpacked provider directory
// (golang.org/x/mod/sumdb/dirhash Hash1 over the files, named relative to
// it). A provider binary is hundreds of megabytes: the result is cached by
// the files' names, sizes and modification times.
func packageHash(dir string) (string, error) {
	var files []string
	var key strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		fmt.Fprintf(&key, "%s\x00%d\x00%d\x00", p, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", err
	}
	if h, ok := packageHashes.Load(key.String()); ok {
		return h.(string), nil
	}
	sort.Strings(files)
	sum := sha256.New()
	for _, name := range files {
		if strings.Contains(name, "\n") {
			return "", fmt.Errorf("file name %q has a newline", name)
		}
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return "", err
		}
		fh := sha256.New()
		_, err = io.Copy(fh, f)
		f.Close()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(sum, "%x  %s\n", fh.Sum(nil), name)
	}
	h := "h1:" + base64.StdEncoding.EncodeToString(sum.Sum(nil))
	packageHashes.Store(key.String(), h)
	return h, nil
}

// versionLess orders dotted versions numerically (7.10.0 after 7.9.0).
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, errx := strconv.Atoi(pa[i])
		y, erry := strconv.Atoi(pb[i])
		if errx != nil || erry != nil {
			if pa[i] != pb[i] {
				return pa[i] < pb[i]
			}
			continue
		}
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

// normalConstraints writes version constraints in the normalised form
// terraform requires in a lock file: ">= 5.0" becomes ">= 5.0.0"; a
// pessimistic "~> 5.0" keeps its precision, which is its meaning.
func normalConstraints(c string) string {
	var out []string
	for _, part := range strings.Split(c, ",") {
		part = strings.TrimSpace(part)
		op := ""
		for _, o := range []string{">=", "<=", "~>", "!=", "=", ">", "<"} {
			if strings.HasPrefix(part, o) {
				op = o
				break
			}
		}
		v := strings.TrimSpace(strings.TrimPrefix(part, op))
		if op != "~>" {
			for strings.Count(v, ".") < 2 && v != "" {
				v += ".0"
			}
		}
		if op == "" {
			op = "="
		}
		out = append(out, op+" "+v)
	}
	return strings.Join(out, ", ")
}

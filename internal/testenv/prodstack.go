package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TemporalServer returns the Temporal server and its SQL schema tool that
// `make tools` builds (hack/tools.sh temporal-server), and the version they
// were built at (bin/.stamp-temporal-server).
func TemporalServer(t testing.TB) (server, sqlTool, version string) {
	t.Helper()
	server = filepath.Join(BinDir(), "temporal-server")
	sqlTool = filepath.Join(BinDir(), "temporal-sql-tool")
	for _, p := range []string{server, sqlTool} {
		if _, err := os.Stat(p); err != nil {
			missing(t, "the Temporal server ("+p+"; hack/tools.sh temporal-server)")
		}
	}
	b, err := os.ReadFile(filepath.Join(BinDir(), ".stamp-temporal-server"))
	if err != nil {
		missing(t, "the Temporal server's version stamp (bin/.stamp-temporal-server)")
	}
	return server, sqlTool, strings.TrimSpace(string(b))
}

var (
	schemaMu   sync.Mutex
	schemaDirs = map[string]string{}
)

// TemporalSchema returns the server module's PostgreSQL schema directory
// (schema/postgresql/v12, holding temporal/ and visibility/) at version,
// from the Go module cache, where building the server put it; it asks the
// go command so GOMODCACHE and GOFLAGS are honoured, and downloads the
// module when the cache was cleaned since.
func TemporalSchema(t testing.TB, version string) string {
	t.Helper()
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if d, ok := schemaDirs[version]; ok {
		return d
	}
	dir, err := moduleDir("go.temporal.io/server", version)
	if err == nil {
		dir = filepath.Join(dir, "schema", "postgresql", "v12")
		for _, sub := range []string{"temporal", "visibility"} {
			if _, serr := os.Stat(filepath.Join(dir, sub, "versioned")); serr != nil {
				err = fmt.Errorf("the module go.temporal.io/server@%s has no %s schema: %w", version, sub, serr)
			}
		}
	}
	if err != nil {
		missing(t, fmt.Sprintf("the Temporal server's PostgreSQL schema (%v)", err))
	}
	schemaDirs[version] = dir
	return dir
}

func moduleDir(mod, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", mod+"@"+version)
	cmd.Dir = os.TempDir() // outside ferry's module: its go.mod does not require the server
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var m struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &m); jerr == nil && m.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", mod, version, m.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v: %s", mod, version, err, strings.TrimSpace(stderr.String()))
	}
	if m.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s named no directory", mod, version)
	}
	return m.Dir, nil
}

// PostgresBin returns the directory of Debian's PostgreSQL server programs
// (initdb, postgres, pg_ctl, pg_isready), the newest major version when
// several are installed. `make tools` installs the postgresql package when
// it is missing and it may (root with apt-get).
func PostgresBin(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var ok []string
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) && isExec(filepath.Join(d, "postgres")) {
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 {
		missing(t, "PostgreSQL (initdb, pg_ctl, postgres under /usr/lib/postgresql/*/bin; `apt-get install -y postgresql`)")
	}
	major := func(d string) int { n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d))); return n }
	slices.SortFunc(ok, func(a, b string) int { return major(b) - major(a) })
	return ok[0]
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

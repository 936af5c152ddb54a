package store

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The package doc's promise: of resetbot it imports only bot and chat; beyond the standard library,
// only the drivers and the migrator. Test files may import more (storetest, pgtest).
func TestImportsOnlyWhatTheDocSays(t *testing.T) {
	const ours = "github.com/resetbot/resetbot/"
	allowed := []string{ours + "bot", ours + "chat", "modernc.org/sqlite", "github.com/jackc/pgx/v5", "github.com/pressly/goose/v3"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		read++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(path, "/"); !strings.Contains(first, ".") {
				continue // the standard library
			}
			if !allowedImport(path, allowed) {
				t.Errorf("%s imports %s; the store may import only bot and chat of ours, plus its drivers and migrator (see the package doc)", name, path)
			}
		}
	}
	if read < 5 {
		t.Fatalf("read the imports of %d files; is the test running in the package's folder?", read)
	}
}

// allowedImport: bot and chat themselves, not packages under them; a driver or the migrator with
// any of its packages.
func allowedImport(path string, allowed []string) bool {
	for _, a := range allowed {
		if path == a || (!strings.HasPrefix(a, "github.com/resetbot/") && strings.HasPrefix(path, a+"/")) {
			return true
		}
	}
	return false
}

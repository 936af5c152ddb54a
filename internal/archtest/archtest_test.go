package archtest

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is resetbot's module path; an import under it is one of ours.
const module = "github.com/resetbot/resetbot"

// A rule forbids the packages under from (the folder itself and below, relative to the module) to
// import the packages under any of deny. Where tests is set it binds the package's test files too;
// otherwise only the code that ships.
type rule struct {
	from  string
	deny  []string
	tests bool
	why   string
}

// platforms are the chat adapters; none may import another.
var platforms = []string{"adapters/shell", "adapters/slack", "adapters/teams"}

func rules() []rule {
	rs := []rule{
		{from: "bot", deny: []string{"adapters", "graphsvc", "internal", "cmd"},
			why: "the core is handed its chat platforms, Graph and stores through the interfaces it declares"},
		{from: "bot", deny: []string{"adapters"}, tests: true,
			why: "the core's tests drive the service through chat (internal/scenariotest's Inbox), not through an adapter"},
		{from: "adapters", deny: []string{"graphsvc", "internal", "cmd"},
			why: "an adapter speaks its platform and hands everything to the service; only the service reaches Graph"},
		{from: "graphsvc", deny: []string{"adapters", "chat", "internal", "cmd"},
			why: "graphsvc speaks Graph in the core's terms and knows nothing of chat"},
		{from: "chat", deny: []string{"adapters", "bot", "cmd", "graphsvc", "internal", "manifest"},
			why: "the message model is a leaf: renderers depend on it, never on the service"},
		{from: "manifest", deny: []string{"adapters", "bot", "chat", "cmd", "graphsvc", "internal"},
			why: "the app manifests are data"},
	}
	for _, p := range platforms {
		var others []string
		for _, o := range platforms {
			if o != p {
				others = append(others, o)
			}
		}
		rs = append(rs, rule{from: p, deny: others, why: "each platform stands alone; what two share belongs in chat or bot"})
	}
	return rs
}

// imports is what one package imports, by the package's path relative to the module.
type imports struct {
	code, tests []string // imports of ours, relative to the module
}

// under reports whether path is dir or below it.
func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

// violations checks every package against every rule and says, for each import that crosses a
// forbidden boundary, which and why.
func violations(pkgs map[string]imports) []string {
	var out []string
	for _, r := range rules() {
		for pkg, imp := range pkgs {
			if !under(pkg, r.from) {
				continue
			}
			check := imp.code
			kind := "imports"
			if r.tests {
				check, kind = imp.tests, "tests import"
			}
			for _, dep := range check {
				for _, d := range r.deny {
					if under(dep, d) && !under(dep, r.from) {
						out = append(out, pkg+" "+kind+" "+dep+": "+r.from+" must not import "+d+" ("+r.why+")")
					}
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// ours keeps the imports under the module, relative to it.
func ours(paths []string) []string {
	var out []string
	for _, p := range paths {
		if rel, ok := strings.CutPrefix(p, module+"/"); ok {
			out = append(out, rel)
		}
	}
	return out
}

// readModule reads the imports of every package of the module (not tools/, a module of its own).
func readModule(t *testing.T) map[string]imports {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !strings.HasPrefix(string(b), "module "+module+"\n") {
		t.Fatalf("%s is not the root of %s: %v", root, module, err)
	}
	pkgs := map[string]imports{}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != root {
			return filepath.SkipDir // another module
		}
		p, err := build.ImportDir(path, 0)
		if err != nil {
			if _, none := err.(*build.NoGoError); none {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, path)
		pkgs[filepath.ToSlash(rel)] = imports{code: ours(p.Imports), tests: ours(append(p.TestImports, p.XTestImports...))}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// TestImportsRunOneWay: no package of resetbot imports across a forbidden boundary.
func TestImportsRunOneWay(t *testing.T) {
	pkgs := readModule(t)
	for _, want := range []string{"bot", "chat", "graphsvc", "adapters/slack", "adapters/teams", "adapters/shell", "cmd/resetbot"} {
		if _, ok := pkgs[want]; !ok {
			t.Fatalf("package %s was not read; read %d packages", want, len(pkgs))
		}
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// The rules catch what they are for: each forbidden import in a made-up module is reported, and
// the imports the house is built on are not.
func TestRulesCatchViolations(t *testing.T) {
	allowed := map[string]imports{
		"chat":                        {},
		"chat/chattest":               {code: []string{"chat"}},
		"bot":                         {code: []string{"chat", "bot/keys"}, tests: []string{"internal/scenariotest", "graphsvc/graphtest"}},
		"bot/store":                   {code: []string{"bot", "chat"}},
		"graphsvc":                    {code: []string{"bot", "bot/digest"}},
		"adapters/slack":              {code: []string{"chat"}, tests: []string{"bot", "internal/scenariotest"}},
		"adapters/teams":              {code: []string{"bot", "chat", "adapters/teams/botframework", "manifest/teams"}},
		"internal/scenariotest":       {code: []string{"bot", "bot/store", "graphsvc", "graphsvc/graphtest", "chat/chattest"}},
		"cmd/resetbot":                {code: []string{"adapters/slack", "adapters/teams", "bot", "graphsvc"}},
		"adapters/teams/botframework": {},
	}
	if v := violations(allowed); len(v) != 0 {
		t.Fatalf("imports the house is built on were refused:\n%s", strings.Join(v, "\n"))
	}
	for _, c := range []struct {
		pkg  string
		imp  imports
		rule string
	}{
		{"bot", imports{code: []string{"adapters/slack"}}, "bot must not import adapters"},
		{"bot/digest", imports{code: []string{"graphsvc"}}, "bot must not import graphsvc"},
		{"bot/scenariotest", imports{code: []string{"graphsvc/graphtest"}}, "bot must not import graphsvc"},
		{"bot/digest", imports{tests: []string{"adapters/shell"}}, "bot must not import adapters"},
		{"adapters/slack", imports{code: []string{"graphsvc"}}, "adapters must not import graphsvc"},
		{"adapters/teams/botframework", imports{code: []string{"graphsvc/graphtest"}}, "adapters must not import graphsvc"},
		{"adapters/teams", imports{code: []string{"adapters/slack"}}, "adapters/teams must not import adapters/slack"},
		{"adapters/slack", imports{code: []string{"adapters/teams/botframework"}}, "adapters/slack must not import adapters/teams"},
		{"adapters/shell", imports{code: []string{"adapters/slack"}}, "adapters/shell must not import adapters/slack"},
		{"chat", imports{code: []string{"bot"}}, "chat must not import bot"},
		{"chat/chattest", imports{code: []string{"internal/scenariotest"}}, "chat must not import internal"},
		{"graphsvc", imports{code: []string{"chat"}}, "graphsvc must not import chat"},
	} {
		got := violations(map[string]imports{c.pkg: c.imp})
		if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), c.rule) {
			t.Errorf("%s importing %+v: reported %q, want %q", c.pkg, c.imp, got, c.rule)
		}
	}
}

package shell

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/resetbot/resetbot/chat"
)

// DigestCSVLines is how many lines of a digest's CSV the terminal prints.
const DigestCSVLines = 12

var _ chat.AuditPoster = (*Adapter)(nil)

// fileLines shows a file under a label's message: its name and size, then its first lines.
func fileLines(f *chat.Attachment, label string) string {
	var b strings.Builder
	pad := strings.Repeat(" ", len([]rune(label)))
	fmt.Fprintf(&b, "%s  📎 %s (%d bytes)\n", pad, f.Name, f.Size)
	r, err := f.Open()
	if err != nil {
		return b.String()
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		if n == DigestCSVLines {
			b.WriteString(pad + "  …\n")
			break
		}
		b.WriteString(pad + "  " + sc.Text() + "\n")
		n++
	}
	return b.String()
}

// PostDigest implements chat.AuditPoster: the digest is printed as the audit channel would show it,
// followed by the start of its CSV.
func (a *Adapter) PostDigest(_ context.Context, m chat.Message, csv *chat.Attachment) error {
	out := Render("#it-audit", chat.ViewOn(m, chat.SurfaceChannel))
	if csv != nil {
		out += fileLines(csv, "#it-audit")
	}
	a.print(out)
	return nil
}

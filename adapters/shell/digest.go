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

// PostDigest implements chat.AuditPoster: the digest is printed as the audit channel would show it,
// followed by the start of its CSV.
func (a *Adapter) PostDigest(_ context.Context, m chat.Message, csv *chat.Attachment) error {
	out := Render("#it-audit", chat.ViewOn(m, chat.SurfaceChannel))
	if csv != nil {
		var b strings.Builder
		fmt.Fprintf(&b, "%s  📎 %s (%d bytes)\n", strings.Repeat(" ", len("#it-audit")), csv.Name, csv.Size)
		if f, err := csv.Open(); err == nil {
			sc := bufio.NewScanner(f)
			n := 0
			for sc.Scan() {
				if n == DigestCSVLines {
					b.WriteString("           …\n")
					break
				}
				b.WriteString("           " + sc.Text() + "\n")
				n++
			}
			f.Close()
		}
		out += b.String()
	}
	a.print(out)
	return nil
}

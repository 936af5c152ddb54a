package shell

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/resetbot/resetbot/bot"
)

// DigestCSVLines is how many lines of a digest's CSV the terminal prints.
const DigestCSVLines = 12

var _ bot.AuditPoster = (*Adapter)(nil)

// PostDigest implements bot.AuditPoster: the digest is printed as the audit channel would show it,
// followed by the start of its CSV.
func (a *Adapter) PostDigest(_ context.Context, m bot.Message, csv *bot.Attachment) error {
	m.Secret = ""
	out := Render("#it-audit", m)
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

package bot

import (
	"context"
	"io"
	"strings"
	"unicode/utf8"
)

// Table is a small grid of short cells that every platform shows in a fixed-width font, so columns
// and bar charts made of block characters line up: Slack in a code block, Teams in a monospace
// text block, the terminal as it is.
type Table struct {
	Header []string
	Rows   [][]string
	// Right lists the columns aligned right (numbers).
	Right []int
}

// Lines lays the table out: columns padded to their widest cell (counted in runes), two spaces
// between them, trailing spaces trimmed.
func (t *Table) Lines() []string {
	if t == nil {
		return nil
	}
	all := append([][]string{t.Header}, t.Rows...)
	var width []int
	for _, row := range all {
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	right := map[int]bool{}
	for _, i := range t.Right {
		right[i] = true
	}
	var out []string
	for n, row := range all {
		if n == 0 && len(row) == 0 {
			continue
		}
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	return out
}

// String is the table's lines joined by newlines.
func (t *Table) String() string { return strings.Join(t.Lines(), "\n") }

// Attachment is a file that goes with a message: the digest's CSV. The content is read through Open,
// once per platform that posts it, so a large file is never held in memory.
type Attachment struct {
	Name  string // file name, e.g. resetbot-digest-2026-11-28.csv
	Title string // what the file is, in words
	Size  int64
	Open  func() (io.ReadCloser, error)
	// Again is the command that writes the same file again, for platforms that cannot carry files
	// (Teams channel posts).
	Again string
}

// AuditPoster posts to a platform's audit channel (Slack RESETBOT_AUDIT_CHANNEL, the Teams audit
// conversation, the terminal). A digest never holds a secret: PostDigest renders no Message.Secret.
type AuditPoster interface {
	PostDigest(ctx context.Context, m Message, csv *Attachment) error
}

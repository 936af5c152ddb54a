package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/resetbot/resetbot/chat"
)

// receiveList takes a list sent to the bot in a DM with "resetpw bulk": it checks the file, downloads
// it with the bot token and hands it to the service, which reads it and answers with a preview.
func (a *Adapter) receiveList(ctx context.Context, actor chat.Actor, key, text string, fileIDs []string, reply chat.Replier) {
	refuse := func(title string) {
		_ = reply.Reply(ctx, chat.Message{Title: title, Text: "Nothing was reset.",
			Footer: "A list is a CSV file with a UserPrincipalName header and one user per line, sent to me in this DM with the text: resetpw bulk"})
	}
	switch len(fileIDs) {
	case 0:
		refuse("📎 Attach the CSV file to the message that says `resetpw bulk`.")
		return
	case 1:
	default:
		refuse("📎 Send one list at a time: that message had several files.")
		return
	}
	infoCtx, cancel := context.WithTimeout(ctx, webAPITimeout)
	f, _, _, err := a.api.GetFileInfoContext(infoCtx, fileIDs[0], 0, 0)
	cancel()
	if err != nil {
		a.log.Error("files.info failed", "file", fileIDs[0], "err", err)
		refuse("⚠️ I could not read that file from Slack. Check that resetbot has the files:read scope, then send it again.")
		return
	}
	name := path.Base(strings.ReplaceAll(f.Name, "\\", "/"))
	if !isList(name, f.Filetype, f.Mimetype) {
		refuse(fmt.Sprintf("⚠️ %s is not a CSV file (nor tab-separated text). Save the list as CSV (UTF-8) and send it again.", clip(name, 80)))
		return
	}
	if int64(f.Size) > a.cfg.MaxListBytes {
		refuse(fmt.Sprintf("⚠️ %s is %s; the most I take is %s. Split the list.", clip(name, 80), size(int64(f.Size)), size(a.cfg.MaxListBytes)))
		return
	}
	if f.URLPrivateDownload == "" {
		refuse("⚠️ Slack gave me no way to download that file. Send it again as a file upload, not a link.")
		return
	}
	var data bytes.Buffer
	dlCtx, cancel := context.WithTimeout(ctx, webAPITimeout)
	// GetFile sends the bot token only to Slack's hosts or the API host, never to a URL a message names.
	err = a.api.GetFileContext(dlCtx, f.URLPrivateDownload, &limitedWriter{w: &data, left: a.cfg.MaxListBytes})
	cancel()
	switch {
	case errors.Is(err, errListTooLarge):
		refuse(fmt.Sprintf("⚠️ %s is larger than %s. Split the list.", clip(name, 80), size(a.cfg.MaxListBytes)))
		return
	case err != nil:
		a.log.Error("downloading a list failed", "file", fileIDs[0], "err", err)
		refuse("⚠️ I could not download that file from Slack. Send it again.")
		return
	}
	in := chat.Incoming{Actor: actor, Text: text, IdempotencyKey: key, Reply: reply, File: &chat.File{Name: name, Data: data.Bytes()}}
	if err := a.svc.Handle(ctx, in); err != nil {
		a.log.Error("handling a list failed", "err", err)
	}
}

// isList accepts what spreadsheets and PowerShell export a list as: CSV, and tab-separated text
// (Excel's "Unicode text" is a .txt file in UTF-16).
func isList(name, filetype, mimetype string) bool {
	ext := strings.ToLower(path.Ext(name))
	ft := strings.ToLower(filetype)
	return ft == "csv" || ft == "tsv" || ft == "text" || ext == ".csv" || ext == ".tsv" || ext == ".txt" ||
		strings.HasPrefix(strings.ToLower(mimetype), "text/")
}

func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", (n+1023)/1024)
}

var errListTooLarge = errors.New("the list is larger than the limit")

// limitedWriter stops a download that turns out larger than files.info said.
type limitedWriter struct {
	w    *bytes.Buffer
	left int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, errListTooLarge
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}

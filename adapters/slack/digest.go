package slack

import (
	"context"
	"errors"
	"fmt"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/chat"
)

// uploadTimeout bounds the three calls of a file upload.
const uploadTimeout = 2 * time.Minute

var _ chat.AuditPoster = (*Adapter)(nil)

// PostDigest implements chat.AuditPoster: the digest goes to RESETBOT_AUDIT_CHANNEL, and its CSV is
// uploaded into the digest's thread (files.getUploadURLExternal, the upload, then
// files.completeUploadExternal; needs files:write). A failed upload does not fail the digest, which
// is already posted: a note in the thread says how to get the file instead.
func (a *Adapter) PostDigest(ctx context.Context, m chat.Message, csv *chat.Attachment) error {
	channel := a.cfg.AuditChannel
	if channel == "" {
		return errors.New("slack: no audit channel: set " + EnvAuditChannel + " to the channel's ID (C…)")
	}
	ref, err := a.post(ctx, channel, chat.ViewOn(m, chat.SurfaceChannel))
	if err != nil {
		return err
	}
	if csv == nil {
		return nil
	}
	if err := a.upload(ctx, channel, ref.ID, csv); err != nil {
		a.log.Error("slack: uploading the digest's CSV failed", "err", err)
		note := chat.Message{Text: fmt.Sprintf("⚠️ The detail file %s could not be attached (%s). Check that the app has the files:write scope. To get it: %s",
			csv.Name, slackError(err), csv.Again)}
		if slackError(err) == "" {
			note.Text = fmt.Sprintf("⚠️ The detail file %s could not be attached. To get it: %s", csv.Name, csv.Again)
		}
		ctx, cancel := context.WithTimeout(ctx, webAPITimeout)
		defer cancel()
		r := Render(chat.ViewOn(note, chat.SurfaceChannel))
		if _, _, err := a.api.PostMessageContext(ctx, channel, slackgo.MsgOptionText(r.Text, false), slackgo.MsgOptionBlocks(r.Blocks...),
			slackgo.MsgOptionTS(ref.ID)); err != nil {
			a.log.Error("slack: posting the note about the digest's CSV failed", "err", err)
		}
	}
	return nil
}

func (a *Adapter) upload(ctx context.Context, channel, thread string, csv *chat.Attachment) error {
	body, err := csv.Open()
	if err != nil {
		return err
	}
	defer body.Close()
	ctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	_, err = a.api.UploadFileContext(ctx, slackgo.UploadFileParameters{
		Reader: body, FileSize: int(csv.Size), Filename: csv.Name, Title: csv.Title,
		Channel: channel, ThreadTimestamp: thread,
	})
	return withoutURL(err)
}

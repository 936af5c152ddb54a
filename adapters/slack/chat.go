package slack

import (
	"context"
	"errors"
	"fmt"

	slackgo "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/chat"
)

// DM implements chat.Chat: conversations.open, then chat.postMessage into the DM. This is the only call
// that carries a temporary password.
func (a *Adapter) DM(ctx context.Context, to chat.Actor, m chat.Message) (chat.MessageRef, error) {
	if to.Platform != chat.PlatformSlack || to.UserID == "" {
		return chat.MessageRef{}, fmt.Errorf("slack: cannot DM a %s user", to.Platform)
	}
	channel, err := a.openDM(ctx, to.UserID)
	if err != nil {
		return chat.MessageRef{}, err
	}
	return a.post(ctx, channel, chat.ViewOn(m, chat.SurfaceDM))
}

// PostApproval implements chat.Chat: the card goes to the configured approvals channel.
func (a *Adapter) PostApproval(ctx context.Context, m chat.Message) (chat.MessageRef, error) {
	return a.post(ctx, a.cfg.ApprovalsChannel, chat.ViewOn(m, chat.SurfaceChannel))
}

// Update implements chat.Chat with chat.update: the card changes in place, and its buttons go once it is
// decided.
func (a *Adapter) Update(ctx context.Context, ref chat.MessageRef, m chat.Message) error {
	ctx, cancel := context.WithTimeout(ctx, webAPITimeout)
	defer cancel()
	r := Render(chat.ViewOn(m, chat.SurfaceChannel))
	_, _, _, err := a.api.UpdateMessageContext(ctx, ref.Channel, ref.ID,
		slackgo.MsgOptionText(r.Text, false), slackgo.MsgOptionBlocks(r.Blocks...))
	if err != nil {
		return fmt.Errorf("slack chat.update: %w", err)
	}
	return nil
}

// Withdraw implements chat.Chat with chat.delete. A message already gone (deleted by hand, or the DM
// closed) counts as withdrawn, or the service would try again forever.
func (a *Adapter) Withdraw(ctx context.Context, ref chat.MessageRef) error {
	ctx, cancel := context.WithTimeout(ctx, webAPITimeout)
	defer cancel()
	_, _, err := a.api.DeleteMessageContext(ctx, ref.Channel, ref.ID)
	if slackError(err) == "message_not_found" || slackError(err) == "channel_not_found" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("slack chat.delete: %w", err)
	}
	return nil
}

func (a *Adapter) openDM(ctx context.Context, userID string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, webAPITimeout)
	defer cancel()
	ch, _, _, err := a.api.OpenConversationContext(ctx, &slackgo.OpenConversationParameters{Users: []string{userID}, ReturnIM: true})
	if err != nil {
		return "", fmt.Errorf("slack conversations.open: %w", err)
	}
	return ch.ID, nil
}

// post sends a message to a channel or DM and says where it landed, for later updates and deletion.
func (a *Adapter) post(ctx context.Context, channel string, v chat.View) (chat.MessageRef, error) {
	ctx, cancel := context.WithTimeout(ctx, webAPITimeout)
	defer cancel()
	r := Render(v)
	ch, ts, err := a.api.PostMessageContext(ctx, channel,
		slackgo.MsgOptionText(r.Text, false), slackgo.MsgOptionBlocks(r.Blocks...),
		slackgo.MsgOptionDisableLinkUnfurl(), slackgo.MsgOptionDisableMediaUnfurl())
	if err != nil {
		return chat.MessageRef{}, fmt.Errorf("slack chat.postMessage: %w", err)
	}
	return chat.MessageRef{Platform: chat.PlatformSlack, Channel: ch, ID: ts}, nil
}

// slackError is the error code Slack answered with ("message_not_found"), or "".
func slackError(err error) string {
	var se slackgo.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

var _ chat.FileSender = (*Adapter)(nil)

// DMFile implements chat.FileSender: the message goes to the person's DM, and the file is uploaded
// into its thread (files:write).
func (a *Adapter) DMFile(ctx context.Context, to chat.Actor, m chat.Message, f *chat.Attachment) error {
	channel, err := a.openDM(ctx, to.UserID)
	if err != nil {
		return err
	}
	ref, err := a.post(ctx, channel, chat.ViewOn(m, chat.SurfaceReply))
	if err != nil {
		return err
	}
	return a.upload(ctx, channel, ref.ID, f)
}

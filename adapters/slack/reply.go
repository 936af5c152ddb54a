package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	slackgo "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/chat"
)

// responder answers the person who sent a command or clicked, visible only to them: an ephemeral message
// through the response_url Slack gave with the command. If that cannot be used (an unexpected host, or
// Slack refuses it: a response_url takes 5 messages in 30 minutes), the answer goes by DM instead, so the
// person is never left without one.
func (a *Adapter) responder(who sender, responseURL string) chat.Replier {
	return chat.ReplierFunc(func(ctx context.Context, m chat.Message) error {
		if responseURL != "" {
			if !a.mayRespondTo(responseURL) {
				a.log.Warn("response_url on an unexpected host ignored; answering by DM", "host", hostOf(responseURL))
			} else if err := a.respond(ctx, responseURL, m); err != nil {
				a.log.Warn("response_url failed; answering by DM", "err", err)
			} else {
				return nil
			}
		}
		// The fallback lands in their DM, but it is still a reply: it shows no secret.
		channel, err := a.openDM(ctx, who.user)
		if err != nil {
			return err
		}
		_, err = a.post(ctx, channel, chat.ViewOn(m, chat.SurfaceReply))
		return err
	})
}

// inDM answers in the DM a message came from; an answer there can be revised in place with
// chat.update (a "⏳ Resetting …" that becomes the outcome).
func (a *Adapter) inDM(channel string) chat.Replier { return dmReplier{a: a, channel: channel} }

type dmReplier struct {
	a       *Adapter
	channel string
}

func (r dmReplier) Reply(ctx context.Context, m chat.Message) error {
	_, err := r.a.post(ctx, r.channel, chat.ViewOn(m, chat.SurfaceReply))
	return err
}

// ReplyRevisable implements chat.Reviser.
func (r dmReplier) ReplyRevisable(ctx context.Context, m chat.Message) (func(context.Context, chat.Message) error, error) {
	ref, err := r.a.post(ctx, r.channel, chat.ViewOn(m, chat.SurfaceReply))
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, m chat.Message) error { return r.a.Update(ctx, ref, m) }, nil
}

// respond posts an ephemeral message to a response_url.
func (a *Adapter) respond(ctx context.Context, responseURL string, m chat.Message) error {
	r := Render(chat.ViewOn(m, chat.SurfaceReply))
	body, err := json.Marshal(ephemeral{ResponseType: slackgo.ResponseTypeEphemeral, ReplaceOriginal: false, Text: r.Text, Blocks: r.Blocks})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, webAPITimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return errors.New("response_url is not a URL")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hooks.Do(req)
	if err != nil {
		return fmt.Errorf("posting to response_url: %w", withoutURL(err))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("response_url answered %d %s", resp.StatusCode, clip(strings.TrimSpace(string(answer)), 100))
	}
	return nil
}

// mayRespondTo allows only Slack's own hooks host over https, or the configured Web API host (a private
// gateway, or the tests' fake). A forged or altered response_url must not make the bot post elsewhere.
func (a *Adapter) mayRespondTo(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return false
	}
	if u.Scheme == "https" && strings.EqualFold(u.Host, "hooks.slack.com") {
		return true
	}
	return u.Scheme == a.apiURL.Scheme && strings.EqualFold(u.Host, a.apiURL.Host)
}

// withoutURL keeps URLs out of an error, which reaches the log: a response_url is a credential for
// 30 minutes and Slack's upload URLs are pre-signed. A transport error loses its URL; any other URL
// in the text (slack-go quotes the upload URL it refuses) is cut to its host. Slack's own error
// answers, which carry no URL, pass unchanged so their code can still be read.
func withoutURL(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var se slackgo.SlackErrorResponse
	if errors.As(err, &se) {
		return err
	}
	if text := urlInText.ReplaceAllStringFunc(err.Error(), func(raw string) string { return hostOf(raw) }); text != err.Error() {
		return errors.New(text)
	}
	return err
}

var urlInText = regexp.MustCompile(`https?://[^\s"']+`)

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return "(not a URL)"
}

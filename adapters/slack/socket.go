package slack

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode connects to Slack over Socket Mode and serves it until ctx ends: no public URL, the
// app-level token authenticates the connection. Every envelope is acknowledged at once, with the same
// "checking" note HTTP mode answers with, and handled by the same code as an HTTP request. The
// connection is reopened whenever it drops, with a growing pause while Slack cannot be reached.
func (a *Adapter) RunSocketMode(ctx context.Context) error {
	if !a.cfg.SocketMode() {
		return errors.New("slack: Socket Mode needs an app-level token (" + EnvAppToken + ")")
	}
	client := socketmode.New(a.api, socketmode.OptionLog(slogLogger{a}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.serveEnvelopes(ctx, client)
	}()
	pause := time.Second
	for ctx.Err() == nil {
		began := time.Now()
		err := client.RunContext(ctx)
		if ctx.Err() != nil {
			break
		}
		if time.Since(began) > time.Minute {
			pause = time.Second // it was up for a while: this is a fresh failure
		}
		// Errors from slack-go name the failing step, never the token.
		a.log.Error("Socket Mode connection ended; reconnecting", "err", err, "in", pause)
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(pause*2, time.Minute)
	}
	<-done
	a.socketUp.Store(false)
	return nil
}

// serveEnvelopes reads what the connection delivers until ctx ends.
func (a *Adapter) serveEnvelopes(ctx context.Context, client *socketmode.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case evt := <-client.Events:
			a.serveEnvelope(ctx, client, evt)
		}
	}
}

func (a *Adapter) serveEnvelope(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	received := time.Now()
	a.gate.enter()
	defer a.gate.leave()
	var d delivery
	switch evt.Type {
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		if !a.socketUp.Swap(true) {
			a.log.Info("Socket Mode connected")
		}
		return
	case socketmode.EventTypeInvalidAuth:
		a.socketUp.Store(false)
		a.log.Error("Socket Mode: Slack refused the app-level token (" + EnvAppToken + ")")
		return
	case socketmode.EventTypeConnecting, socketmode.EventTypeDisconnect:
		a.socketUp.Store(false)
		return
	case socketmode.EventTypeConnectionError:
		a.socketUp.Store(false)
		a.log.Warn("Socket Mode cannot connect; retrying")
		return
	case socketmode.EventTypeIncomingError:
		a.log.Warn("Socket Mode read failed; reconnecting")
		return
	case socketmode.EventTypeErrorBadMessage:
		// slack-go could not parse the envelope (an inner event it does not know, say). Slack still
		// wants the envelope acknowledged, or it sends it again.
		if bad, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			var env struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if json.Unmarshal(bad.Message, &env) == nil && env.EnvelopeID != "" {
				a.ackEnvelope(ctx, client, env.EnvelopeID, nil)
			}
			a.log.Info("Socket Mode envelope not understood; acknowledged and ignored", "err", bad.Cause)
		}
		return
	case socketmode.EventTypeSlashCommand:
		if cmd, ok := evt.Data.(slackgo.SlashCommand); ok {
			d = a.onSlashCommand(cmd)
		}
	case socketmode.EventTypeInteractive:
		if evt.Request != nil {
			if ic, err := parseInteractionJSON(evt.Request.Payload); err == nil {
				d = a.onInteraction(ic)
			} else {
				a.log.Warn("unreadable interaction payload", "err", err)
			}
		}
	case socketmode.EventTypeEventsAPI:
		if evt.Request != nil {
			if ev, err := parseEvent(evt.Request.Payload); err == nil {
				d = a.onEvent(ev)
			} else {
				a.log.Warn("unreadable event", "err", err)
			}
		}
	default:
		a.log.Debug("Socket Mode event ignored", "event", string(evt.Type))
	}
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	start := a.hold(d)
	a.ackEnvelope(ctx, client, evt.Request.EnvelopeID, d.ack)
	a.acked(received)
	start()
}

func (a *Adapter) ackEnvelope(ctx context.Context, client *socketmode.Client, envelopeID string, payload any) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := client.AckCtx(ctx, envelopeID, payload); err != nil {
		a.log.Error("acknowledging a Socket Mode envelope failed", "err", err)
	}
}

// slogLogger carries slack-go's Socket Mode log lines (debug output is off) into the adapter's log.
type slogLogger struct{ a *Adapter }

func (l slogLogger) Output(_ int, s string) error {
	l.a.log.Debug("socketmode: " + s)
	return nil
}

package slack

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	slackgo "github.com/slack-go/slack"
)

// Mount serves Slack's HTTP mode on mux: the slash command, interactions (buttons) and the Events API.
// The paths are the ones the manifest gives Slack.
func (a *Adapter) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /slack/commands", serveVerified(a, "slash command", parseSlashCommand, a.onSlashCommand))
	mux.HandleFunc("POST /slack/interactions", serveVerified(a, "interaction", parseInteraction, a.onInteraction))
	mux.HandleFunc("POST /slack/events", a.serveEvents)
}

// serveVerified is a Slack endpoint: verify the signature before the body is used, parse it, then
// acknowledge and do the work after.
func serveVerified[T any](a *Adapter, what string, parse func([]byte) (T, error), on func(T) delivery) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		received := time.Now()
		a.gate.enter()
		defer a.gate.leave()
		body, ok := a.verified(w, r)
		if !ok {
			return
		}
		v, err := parse(body)
		if err != nil {
			a.log.Warn("unreadable "+what+" payload", "err", err)
			http.Error(w, "bad "+what+" payload", http.StatusBadRequest)
			return
		}
		a.acknowledge(w, received, on(v))
	}
}

func (a *Adapter) serveEvents(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	a.gate.enter()
	defer a.gate.leave()
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	ev, err := parseEvent(body)
	if err != nil {
		a.log.Warn("unreadable event", "err", err)
		// No retry: the same bytes will not parse any better.
		w.Header().Set("X-Slack-No-Retry", "1")
		http.Error(w, "bad event payload", http.StatusBadRequest)
		return
	}
	if ev.Type == "url_verification" {
		// Slack checks the Request URL when it is saved in the app's settings.
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(ev.Challenge))
		return
	}
	a.acknowledge(w, received, a.onEvent(ev))
}

// acknowledge answers Slack now and starts the work only once the answer is on the wire, so the
// "checking" note never arrives after the outcome.
func (a *Adapter) acknowledge(w http.ResponseWriter, received time.Time, d delivery) {
	start := a.hold(d)
	if d.ack != nil {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(d.ack)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	a.acked(received)
	start()
}

// parseSlashCommand reads a verified slash command body (a form), as slackgo.SlashCommandParse would
// from a request.
func parseSlashCommand(body []byte) (slackgo.SlashCommand, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return slackgo.SlashCommand{}, err
	}
	cmd := slackgo.SlashCommand{
		TeamID:              form.Get("team_id"),
		TeamDomain:          form.Get("team_domain"),
		EnterpriseID:        form.Get("enterprise_id"),
		EnterpriseName:      form.Get("enterprise_name"),
		IsEnterpriseInstall: form.Get("is_enterprise_install") == "true",
		ChannelID:           form.Get("channel_id"),
		ChannelName:         form.Get("channel_name"),
		UserID:              form.Get("user_id"),
		UserName:            form.Get("user_name"),
		Command:             form.Get("command"),
		Text:                form.Get("text"),
		ResponseURL:         form.Get("response_url"),
		TriggerID:           form.Get("trigger_id"),
		APIAppID:            form.Get("api_app_id"),
	}
	if cmd.Command == "" {
		return cmd, errors.New("no command")
	}
	return cmd, nil
}

// parseInteraction reads a verified interaction body: a form whose "payload" field is JSON.
func parseInteraction(body []byte) (slackgo.InteractionCallback, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return slackgo.InteractionCallback{}, err
	}
	payload := form.Get("payload")
	if payload == "" {
		return slackgo.InteractionCallback{}, errors.New("no payload")
	}
	return parseInteractionJSON([]byte(payload))
}

func parseInteractionJSON(payload []byte) (slackgo.InteractionCallback, error) {
	var ic slackgo.InteractionCallback
	if err := json.Unmarshal(payload, &ic); err != nil {
		return slackgo.InteractionCallback{}, err
	}
	if ic.Type == "" {
		return slackgo.InteractionCallback{}, errors.New("no interaction type")
	}
	return ic, nil
}

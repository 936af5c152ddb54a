package teams

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/chat"
)

// ServeHTTP is POST /api/messages. Order matters: the token is checked before the body is looked
// at, and nothing is acted on until the token, its serviceurl claim, the signing key's endorsement
// and the tenant all agree with the activity. Answers: 401 for any authentication failure, 403 for
// another tenant or a service URL the token may not go to, 400 for a body that is not an activity,
// 413 for an oversize one, 200 for everything acted on or deliberately ignored.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.log.Warn("teams: request body too large", "limit", a.cfg.MaxBody, "remote", r.RemoteAddr)
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the request body", http.StatusBadRequest)
		return
	}

	var claims *botframework.Claims
	unauthenticated := a.cfg.InsecureLoopback && fromLoopback(r) && r.Header.Get("Authorization") == ""
	if !unauthenticated {
		c, err := a.verifier.Verify(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			a.log.Warn("teams: request refused", "why", err.Error(), "remote", r.RemoteAddr)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		claims = &c
	}

	act, err := parseActivity(body)
	if err != nil {
		a.log.Warn("teams: malformed activity", "err", err.Error())
		http.Error(w, "malformed activity", http.StatusBadRequest)
		return
	}
	if claims == nil {
		// The development switch: only a loopback connector, so nothing outside this machine can
		// pose as the Teams client.
		if u, err := (botframework.ServiceURLPolicy{AllowLoopback: true}).Check(act.ServiceURL); err != nil || !botframework.IsLoopbackHost(u.Hostname()) {
			a.log.Warn("teams: unauthenticated activity with a non-loopback service URL refused")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	} else {
		if claims.ServiceURL != act.ServiceURL {
			a.log.Warn("teams: request refused", "why", "the token's serviceurl claim does not match the activity's serviceUrl")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if !claims.Endorses(act.ChannelID) {
			a.log.Warn("teams: request refused", "why", "the signing key is not endorsed for the channel", "channel", botframework.Truncate(act.ChannelID, 40))
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	tenant, err := act.tenant()
	if err != nil || !strings.EqualFold(tenant, a.cfg.TenantID) {
		why := "another tenant"
		if err != nil {
			why = err.Error()
		}
		a.log.Warn("teams: activity from outside the tenant refused", "why", why)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if _, err := a.urls.Check(act.ServiceURL); err != nil {
		// Acting on it would reset a password whose DM could never be sent.
		a.log.Warn("teams: activity refused", "why", err.Error())
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	// What proactive messages need later is learned from every activity, after the acknowledgement
	// where the answer does not wait for it: it reads (and sometimes writes) the store.
	learn := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), learnTimeout)
		defer cancel()
		a.learn(ctx, act, a.cfg.TenantID)
	}
	switch act.Type {
	case typeMessage:
		a.cfg.Go(func() {
			learn() // first: the message's own work may DM someone through what it learns
			a.onMessage(act)
		})
		w.WriteHeader(http.StatusOK)
		a.cfg.Acked(time.Since(start))
	case typeInvoke:
		learn() // the click is handled before the answer, and may need what it learns
		if act.Name != invokeCardAction {
			w.WriteHeader(http.StatusOK) // other invokes (message extensions, sign-in) are not ours
			return
		}
		resp := a.onCardAction(r.Context(), act)
		writeJSON(w, resp)
		a.cfg.Acked(time.Since(start))
	default:
		// conversationUpdate, installationUpdate, typing, reactions…: learned from, and an install
		// of the app in a chat or a team is welcomed there.
		a.cfg.Go(func() {
			learn()
			if a.installed(act) {
				a.welcome(act)
			}
		})
		w.WriteHeader(http.StatusOK)
	}
}

// learnTimeout bounds the store calls of learning from one activity.
const learnTimeout = 10 * time.Second

// fromLoopback reports whether a request comes straight from this machine: a loopback peer and no
// proxy headers (a reverse proxy or tunnel on the same host would make everything look local).
func fromLoopback(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-Ip", "X-Original-Forwarded-For"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// actor is the person behind an activity, keyed by tenant and Entra object ID. After the token is
// checked, aadObjectId is Microsoft's word, so the bot maps to Entra by it directly.
func (a *Adapter) actor(act *inbound, tenant string) chat.Actor {
	return chat.Actor{Platform: chat.PlatformTeams, Tenant: tenant, UserID: act.From.AadObjectID,
		ObjectID: act.From.AadObjectID, Name: act.From.Name, TimeZone: act.LocalTimezone}
}

// idempotencyKey names one delivery: Teams retries with the same activity ID.
func idempotencyKey(act *inbound) string {
	if act.ID == "" {
		return ""
	}
	return "teams:" + act.Conversation.ID + ":" + act.ID
}

// onMessage handles a typed command or an Action.Submit click (the fallback of clients without
// Universal Actions). The answer to Teams is an empty 200 at once; the work runs after it and
// answers in the conversation.
func (a *Adapter) onMessage(act *inbound) {
	// In a channel or a group chat others read the answers: the service then answers in the
	// person's 1:1 chat, leaving a pointer here.
	in := chat.Incoming{Actor: a.actor(act, a.cfg.TenantID), IdempotencyKey: idempotencyKey(act), Reply: a.conversationReplier(act),
		Shared: act.group()}
	hasFile := len(act.files()) > 0
	if c, ok := act.submitted(); ok {
		if !c.valid() {
			a.log.Warn("teams: card submit with unknown data ignored")
			return
		}
		in = chat.Click(in.Actor, chat.Action(c.Action), c.RequestID, in.IdempotencyKey, in.Reply)
		in.Input = c.Input
	} else {
		if act.group() && !act.mentionsBot() {
			return // channel chatter the bot was not asked about
		}
		in.Text = act.commandText()
		if in.Text == "" && !hasFile {
			return // an image, a sticker, an empty mention
		}
	}
	a.cfg.Go(func() {
		ctx := context.Background()
		if hasFile && in.File == nil {
			f, ok := a.receiveFile(ctx, act, in.Reply)
			if !ok {
				return
			}
			in.File = f
		}
		if err := a.cfg.Handler.Handle(ctx, in); err != nil {
			a.log.Error("teams: handling a message failed", "err", err)
		}
	})
}

// invokeResponse is the body of the HTTP answer to an invoke.
type invokeResponse struct {
	StatusCode int    `json:"statusCode"`
	Type       string `json:"type"`
	Value      any    `json:"value"`
}

const (
	invokeTypeCard    = cardContentType
	invokeTypeMessage = "application/vnd.microsoft.activity.message"
	invokeTypeError   = "application/vnd.microsoft.error"
)

// onCardAction handles an Action.Execute click. Teams waits about 15 seconds for the answer and
// shows it in place: so the click is handled right away, and if it finishes within InvokeTimeout
// the answer is the refreshed card (when the service updated the card that was clicked) or what
// the service said to the clicker (only they see it). If it takes longer the answer is "working
// on it", the work goes on, and the card is updated in place when it is done.
func (a *Adapter) onCardAction(ctx context.Context, act *inbound) invokeResponse {
	c, err := act.executed()
	if err != nil || !c.valid() {
		return invokeResponse{StatusCode: http.StatusBadRequest, Type: invokeTypeError,
			Value: map[string]string{"code": "BadRequest", "message": "This button is not one of resetbot's."}}
	}
	inv := a.watch(act)
	in := chat.Click(a.actor(act, a.cfg.TenantID), chat.Action(c.Action), c.RequestID, idempotencyKey(act), inv)
	in.Input = c.Input
	done := make(chan struct{})
	a.cfg.Go(func() {
		defer close(done)
		if err := a.cfg.Handler.Handle(context.Background(), in); err != nil {
			a.log.Error("teams: handling a card action failed", "err", err)
		}
	})
	timer := time.NewTimer(a.cfg.InvokeTimeout)
	defer timer.Stop()
	finished := false
	select {
	case <-done:
		finished = true
	case <-timer.C:
	case <-ctx.Done():
	}
	return a.answer(inv, finished)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

package teams

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/chat"
)

// Reference keys in ConversationRefs.
const (
	refApprovals = "approvals"
	refUser      = "user:"   // + aadObjectId
	refTenant    = "tenant:" // + tenant ID
	refBot       = "bot"     // the bot's own ID as Teams addresses it (28:<appId>)
)

// withdrawnMessage replaces a password DM when its time is up. Teams cannot always delete a bot's
// message, and a replaced one also tells the reader where the password went.
var withdrawnMessage = chat.Message{Title: "🔒 The temporary password has expired and was removed.",
	Text: "If it was not passed on in time, run the reset again."}

// DM implements chat.Chat: it opens (or finds) the 1:1 conversation with the person and sends the
// message there. It is the only place a Message.Secret is rendered.
func (a *Adapter) DM(ctx context.Context, to chat.Actor, m chat.Message) (chat.MessageRef, error) {
	aad := to.ObjectID
	if aad == "" {
		aad = to.UserID
	}
	if aad == "" || to.Platform != chat.PlatformTeams || !strings.EqualFold(to.Tenant, a.cfg.TenantID) {
		return chat.MessageRef{}, fmt.Errorf("teams: cannot DM %q: not a person of this tenant", to.Key())
	}
	key := refUser + strings.ToLower(aad)
	ref, _, err := a.refs.GetConversationRef(ctx, key)
	if err != nil {
		return chat.MessageRef{}, fmt.Errorf("teams: reading the conversation reference: %w", err)
	}
	if ref.ServiceURL == "" {
		if ref.ServiceURL, err = a.tenantServiceURL(ctx); err != nil {
			return chat.MessageRef{}, err
		}
	}
	act := cardActivity(chat.ViewOn(m, chat.SurfaceDM))
	for attempt := 0; ; attempt++ {
		cached := ref.ConversationID != ""
		if !cached {
			member := ref.UserID
			if member == "" {
				member = aad // Teams accepts the Entra object ID in members[].id
			}
			if ref.ConversationID, err = a.conn.CreateConversation(ctx, ref.ServiceURL, a.botID(ctx), a.cfg.TenantID, member); err != nil {
				return chat.MessageRef{}, err
			}
			ref.UpdatedAt = time.Now()
			if err := a.refs.PutConversationRef(ctx, key, ref); err != nil {
				a.log.Error("teams: remembering a 1:1 conversation failed", "err", err)
			}
		}
		id, err := a.conn.Send(ctx, ref.ServiceURL, ref.ConversationID, act)
		if err != nil {
			// A remembered conversation may be gone (the app was removed and added again): open it
			// afresh once.
			if st := botframework.StatusOf(err); cached && attempt == 0 && (st == http.StatusNotFound || st == http.StatusForbidden) {
				ref.ConversationID = ""
				continue
			}
			if botframework.StatusOf(err) == http.StatusForbidden {
				return chat.MessageRef{}, fmt.Errorf("%w: ResetPW is not installed for them in Teams (%v)", chat.ErrUnreachable, err)
			}
			return chat.MessageRef{}, err
		}
		return chat.MessageRef{Platform: chat.PlatformTeams, Channel: ref.ConversationID, ID: id, Route: ref.ServiceURL}, nil
	}
}

var _ chat.Reacher = (*Adapter)(nil)

// Reach implements chat.Reacher: in Teams a person is their Entra object ID, which Teams signs into
// everything they send, so their 1:1 chat with the bot is theirs. It can be written to only where the
// app is installed for them (a setup policy installs it for everyone); DM says so when it is not.
func (a *Adapter) Reach(_ context.Context, p chat.Person) (chat.Actor, error) {
	if p.ObjectID == "" {
		return chat.Actor{}, fmt.Errorf("%w: no Entra object ID to find them in Teams", chat.ErrUnreachable)
	}
	id := strings.ToLower(p.ObjectID)
	return chat.Actor{Platform: chat.PlatformTeams, Tenant: a.cfg.TenantID, UserID: id, ObjectID: id, Email: strings.ToLower(p.UPN)}, nil
}

// PostApproval implements chat.Chat: a new post in the approvals channel.
func (a *Adapter) PostApproval(ctx context.Context, m chat.Message) (chat.MessageRef, error) {
	conv := a.cfg.ApprovalsConversation
	if conv == "" {
		return chat.MessageRef{}, errors.New("teams: no approvals channel: set RESETBOT_TEAMS_APPROVALS_CONVERSATION to the channel's ID (19:…@thread.tacv2)")
	}
	serviceURL, err := a.approvalsServiceURL(ctx)
	if err != nil {
		return chat.MessageRef{}, err
	}
	id, err := a.conn.Send(ctx, serviceURL, conv, cardActivity(chat.ViewOn(m, chat.SurfaceChannel)))
	if err != nil {
		return chat.MessageRef{}, err
	}
	return chat.MessageRef{Platform: chat.PlatformTeams, Channel: conv, ID: id, Route: serviceURL}, nil
}

// Update implements chat.Chat: the message is replaced in place. If a click on that very card is
// waiting for its invoke answer, the new card is also handed to it, so the clicker sees the change
// at once.
func (a *Adapter) Update(ctx context.Context, ref chat.MessageRef, m chat.Message) error {
	// An update never shows a secret: the service only ever updates cards and progress messages.
	act := cardActivity(chat.ViewOn(m, chat.SurfaceChannel))
	a.observe(ref.ID, act.Attachments[0].Content.(Card))
	return a.conn.Update(ctx, ref.Route, ref.Channel, ref.ID, act)
}

// Withdraw implements chat.Chat: the password DM is replaced with a note that it has expired. A DM
// that no longer exists (the person deleted the chat) counts as withdrawn.
func (a *Adapter) Withdraw(ctx context.Context, ref chat.MessageRef) error {
	err := a.conn.Update(ctx, ref.Route, ref.Channel, ref.ID,
		cardActivity(chat.ViewOn(withdrawnMessage, chat.SurfaceDM)))
	if botframework.StatusOf(err) == http.StatusNotFound {
		return nil
	}
	return err
}

// conversationReplier answers in the conversation the activity came from: the person's 1:1 chat
// with the bot, or the channel thread they @mentioned it in. A reply never shows a Message.Secret,
// even in a 1:1 chat: the service sends passwords through DM only, and that is the one path here
// that renders them.
//
// An answer can be revised in place (chat.Reviser): the "⏳ Resetting …" card becomes the outcome
// instead of staying "in progress" above it.
func (a *Adapter) conversationReplier(act *inbound) chat.Replier {
	return conversationReplier{a: a, serviceURL: act.ServiceURL, conv: act.Conversation.ID}
}

type conversationReplier struct {
	a                *Adapter
	serviceURL, conv string
}

func (r conversationReplier) Reply(ctx context.Context, m chat.Message) error {
	_, err := r.ReplyRevisable(ctx, m)
	return err
}

// ReplyRevisable implements chat.Reviser.
func (r conversationReplier) ReplyRevisable(ctx context.Context, m chat.Message) (func(context.Context, chat.Message) error, error) {
	id, err := r.a.conn.Send(ctx, r.serviceURL, r.conv, cardActivity(chat.ViewOn(m, chat.SurfaceReply)))
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, m chat.Message) error {
		return r.a.conn.Update(ctx, r.serviceURL, r.conv, id, cardActivity(chat.ViewOn(m, chat.SurfaceReply)))
	}, nil
}

// invoke collects what the service says while a card click waits for its answer.
type invoke struct {
	cardID string // the activity that holds the clicked card (the invoke's replyToId)
	send   chat.Replier

	mu      sync.Mutex
	closed  bool
	card    *Card
	replies []chat.Message
}

// watch starts collecting for a card click.
func (a *Adapter) watch(act *inbound) *invoke {
	inv := &invoke{cardID: act.ReplyToID, send: a.conversationReplier(act)}
	if inv.cardID != "" {
		a.mu.Lock()
		a.watches[inv.cardID] = append(a.watches[inv.cardID], inv)
		a.mu.Unlock()
	}
	return inv
}

// observe hands an updated card to the clicks on it that are still waiting.
func (a *Adapter) observe(cardID string, c Card) {
	if cardID == "" {
		return
	}
	a.mu.Lock()
	invs := append([]*invoke(nil), a.watches[cardID]...)
	a.mu.Unlock()
	for _, inv := range invs {
		inv.mu.Lock()
		if !inv.closed {
			cc := c
			inv.card = &cc
		}
		inv.mu.Unlock()
	}
}

// Reply implements chat.Replier for a click: held for the invoke answer while it is open, sent to
// the conversation after.
func (inv *invoke) Reply(ctx context.Context, m chat.Message) error {
	inv.mu.Lock()
	if !inv.closed {
		inv.replies = append(inv.replies, m)
		inv.mu.Unlock()
		return nil
	}
	inv.mu.Unlock()
	return inv.send.Reply(ctx, m)
}

// answer closes the collection and builds the invoke's answer: the refreshed card if the clicked
// card changed (the card shows the outcome to everyone, the clicker included), else what was said
// to the clicker, shown to them alone.
func (a *Adapter) answer(inv *invoke, finished bool) invokeResponse {
	if inv.cardID != "" {
		a.mu.Lock()
		list := a.watches[inv.cardID]
		for i, x := range list {
			if x == inv {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(a.watches, inv.cardID)
		} else {
			a.watches[inv.cardID] = list
		}
		a.mu.Unlock()
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.closed = true
	if inv.card != nil {
		return invokeResponse{StatusCode: http.StatusOK, Type: invokeTypeCard, Value: *inv.card}
	}
	var parts []string
	for _, m := range inv.replies {
		parts = append(parts, messageText(m))
	}
	text := strings.Join(parts, " ")
	switch {
	case text != "":
	case finished:
		text = "Done." // a repeated delivery of a click already handled
	default:
		text = "⏳ Working on it; the card will update when it is done."
	}
	return invokeResponse{StatusCode: http.StatusOK, Type: invokeTypeMessage, Value: botframework.Truncate(text, 1000)}
}

// learn remembers, from an authenticated activity of our tenant, what proactive messages need
// later: the tenant's service URL, the person's Teams user ID and service URL, the bot's own ID,
// and the approvals channel's service URL when the activity comes from that channel's team.
func (a *Adapter) learn(ctx context.Context, act *inbound, tenant string) {
	now := time.Now()
	put := func(key string, upd func(*ConversationRef) bool) {
		ref, _, err := a.refs.GetConversationRef(ctx, key)
		if err != nil {
			a.log.Error("teams: reading a conversation reference failed", "err", err)
			return
		}
		if !upd(&ref) {
			return // unchanged: no write per message
		}
		ref.UpdatedAt = now
		if err := a.refs.PutConversationRef(ctx, key, ref); err != nil {
			a.log.Error("teams: remembering a conversation reference failed", "err", err)
		}
	}
	su := act.ServiceURL
	put(refTenant+strings.ToLower(tenant), func(r *ConversationRef) bool {
		changed := r.ServiceURL != su
		r.ServiceURL = su
		return changed
	})
	if act.Recipient.ID != "" {
		put(refBot, func(r *ConversationRef) bool {
			changed := r.UserID != act.Recipient.ID
			r.UserID = act.Recipient.ID
			return changed
		})
	}
	if aad := act.From.AadObjectID; aad != "" && act.From.ID != "" {
		put(refUser+strings.ToLower(aad), func(r *ConversationRef) bool {
			changed := r.ServiceURL != su || r.UserID != act.From.ID
			r.ServiceURL, r.UserID = su, act.From.ID
			return changed
		})
	}
	if conv := a.cfg.ApprovalsConversation; conv != "" {
		if baseConversation(act.Conversation.ID) == conv || a.channelOf(act) == conv {
			a.learnApprovalsName(act)
			put(refApprovals, func(r *ConversationRef) bool {
				changed := r.ServiceURL != su || r.ConversationID != conv
				r.ServiceURL, r.ConversationID = su, conv
				return changed
			})
		}
	}
}

// channelOf is the channel an activity happened in (channelData.channel.id, or for events about
// the team, its General channel, whose ID is the team's).
func (a *Adapter) channelOf(act *inbound) string {
	if ch := act.channelDataID("channel"); ch != "" {
		return ch
	}
	return act.channelDataID("team")
}

// botID is how Teams addresses the bot: learned from activities, "28:<appId>" until then.
func (a *Adapter) botID(ctx context.Context) string {
	if ref, ok, err := a.refs.GetConversationRef(ctx, refBot); err == nil && ok && ref.UserID != "" {
		return ref.UserID
	}
	return "28:" + a.cfg.AppID
}

func (a *Adapter) approvalsServiceURL(ctx context.Context) (string, error) {
	if ref, ok, err := a.refs.GetConversationRef(ctx, refApprovals); err == nil && ok && ref.ServiceURL != "" {
		return ref.ServiceURL, nil
	}
	return a.tenantServiceURL(ctx)
}

// tenantServiceURL is the configured service URL, else the one the tenant's activities last came
// from: all conversations of a tenant are normally served by one regional connector.
func (a *Adapter) tenantServiceURL(ctx context.Context) (string, error) {
	if a.cfg.ServiceURL != "" {
		return a.cfg.ServiceURL, nil
	}
	ref, ok, err := a.refs.GetConversationRef(ctx, refTenant+strings.ToLower(a.cfg.TenantID))
	if err != nil {
		return "", fmt.Errorf("teams: reading the conversation reference: %w", err)
	}
	if !ok || ref.ServiceURL == "" {
		return "", errors.New("teams: no service URL known yet for proactive messages: set RESETBOT_TEAMS_SERVICE_URL (e.g. https://smba.trafficmanager.net/emea/), or say something to the bot first")
	}
	return ref.ServiceURL, nil
}

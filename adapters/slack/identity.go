package slack

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/chat"
)

// sender is who Slack says sent something: immutable IDs, never a display name.
type sender struct {
	team       string // team_id: the workspace
	enterprise string // enterprise_id on Enterprise Grid, else empty
	user       string // user_id
}

// whoIs turns a Slack sender into the person the bot acts for. Slack must vouch for a full member of
// an allowed workspace: users.info says which workspace (or Enterprise Grid organisation) the person
// belongs to — never the payload's team_id, which in a channel shared with another organisation
// (Slack Connect) names the channel's workspace, not the person's — and that they are no stranger,
// guest, bot or deactivated account, with a work email, which is how they are found in Entra. When it
// cannot, the person is told why and ok is false: nothing else happens.
func (a *Adapter) whoIs(ctx context.Context, s sender, reply chat.Replier) (actor chat.Actor, ok bool) {
	p, err := a.lookUp(ctx, s)
	if err != nil {
		a.log.Error("users.info failed", "user", s.user, "err", err)
		_ = reply.Reply(ctx, chat.Message{Title: "⚠️ I can't look you up in Slack just now; nothing was changed. Try again in a minute."})
		return chat.Actor{}, false
	}
	if p.refusal != "" {
		_ = reply.Reply(ctx, chat.Message{Title: "⛔ " + p.refusal, Text: "Nothing was changed."})
		return chat.Actor{}, false
	}
	allowed, err := a.workspaceAllowed(ctx, sender{team: p.team, enterprise: p.enterprise, user: s.user})
	if err != nil {
		a.log.Error("auth.test failed: cannot tell which workspace is ours", "err", err)
		_ = reply.Reply(ctx, chat.Message{Title: "⚠️ I can't reach Slack to check who you are just now; nothing was changed. Try again in a minute."})
		return chat.Actor{}, false
	}
	if !allowed {
		a.log.Warn("refused a person from a workspace that is not allowed", "team", p.team, "enterprise", p.enterprise, "payload_team", s.team)
		_ = reply.Reply(ctx, chat.Message{Title: "⛔ resetbot does not serve your Slack workspace.",
			Text: "It resets passwords only for the organisation that installed it. Ask your own IT team how to reset a password."})
		return chat.Actor{}, false
	}
	return p.actor, true
}

// person is what users.info said about someone, reduced to what the bot uses.
type person struct {
	actor      chat.Actor
	team       string // the person's own workspace
	enterprise string // their Enterprise Grid organisation, else empty
	refusal    string // why this Slack account may not use the bot; empty when it may
	at         time.Time
}

// personFrom applies the rules on who may use the bot from Slack at all. Guests are refused: a single- or
// multi-channel guest is someone from outside, whatever email their profile shows.
func personFrom(s sender, u *slackgo.User) person {
	team := firstNonEmpty(u.TeamID, s.team)
	p := person{actor: chat.Actor{Platform: chat.PlatformSlack, Tenant: team, UserID: s.user, TimeZone: u.TZ},
		team: team, enterprise: u.Enterprise.EnterpriseID}
	switch {
	case u.Deleted:
		p.refusal = "Your Slack account is deactivated."
	case u.IsBot || u.IsAppUser || u.ID == "USLACKBOT":
		p.refusal = "Bots and apps can't use resetbot."
	case u.IsStranger:
		p.refusal = "You are in this channel from another organisation (a shared channel): resetbot serves only the people of the organisation that installed it."
	case u.IsRestricted || u.IsUltraRestricted:
		p.refusal = "Slack guests can't use resetbot: it serves full members of the workspace."
	case strings.TrimSpace(u.Profile.Email) == "":
		p.refusal = "I can't tell who you are in Entra: Slack shows me no email address for you. " +
			"Ask your Slack admin to check that resetbot has the users:read.email scope and that your profile has your work email."
	}
	p.actor.Email = strings.ToLower(strings.TrimSpace(u.Profile.Email))
	p.actor.Name = firstNonEmpty(u.Profile.RealName, u.RealName, u.Name)
	return p
}

// lookUp asks users.info about a sender, through the cache.
func (a *Adapter) lookUp(ctx context.Context, s sender) (person, error) {
	key := s.team + ":" + s.user
	if p, ok := a.people.get(key); ok {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, webAPITimeout)
	defer cancel()
	u, err := a.api.GetUserInfoContext(ctx, s.user)
	if err != nil {
		return person{}, err
	}
	p := personFrom(s, u)
	a.people.put(key, p)
	return p, nil
}

// workspaceAllowed says whether a sender's workspace may use the bot: one configured, or else the bot
// token's own workspace or Enterprise Grid organisation.
func (a *Adapter) workspaceAllowed(ctx context.Context, s sender) (bool, error) {
	if len(a.cfg.Workspaces) > 0 {
		return slices.Contains(a.cfg.Workspaces, s.team) || (s.enterprise != "" && slices.Contains(a.cfg.Workspaces, s.enterprise)), nil
	}
	home, err := a.homeWorkspace(ctx)
	if err != nil {
		return false, err
	}
	return s.team == home.TeamID || (home.EnterpriseID != "" && s.enterprise == home.EnterpriseID), nil
}

// homeWorkspace is the bot token's own workspace and bot user, asked once with auth.test.
func (a *Adapter) homeWorkspace(ctx context.Context) (*slackgo.AuthTestResponse, error) {
	a.homeMu.Lock()
	home := a.home
	a.homeMu.Unlock()
	if home != nil {
		return home, nil
	}
	ctx, cancel := context.WithTimeout(ctx, webAPITimeout)
	defer cancel()
	home, err := a.api.AuthTestContext(ctx)
	if err != nil {
		return nil, err
	}
	a.homeMu.Lock()
	a.home = home
	a.homeMu.Unlock()
	return home, nil
}

// botUserID is the bot's own user ID, or "" when Slack cannot say.
func (a *Adapter) botUserID(ctx context.Context) string {
	home, err := a.homeWorkspace(ctx)
	if err != nil {
		return ""
	}
	return home.UserID
}

// people caches users.info answers for a while: a helpdesk agent sends many commands, and Slack rate
// limits users.info. It holds at most max people; when full, the stale go first, then anyone.
type people struct {
	mu  sync.Mutex
	ttl time.Duration
	max int
	m   map[string]person
	now func() time.Time
}

func newPeople(ttl time.Duration, max int) *people {
	return &people{ttl: ttl, max: max, m: map[string]person{}, now: time.Now}
}

func (c *people) get(key string) (person, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[key]
	if !ok || c.now().Sub(p.at) > c.ttl {
		delete(c.m, key)
		return person{}, false
	}
	return p, true
}

func (c *people) put(key string, p person) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p.at = c.now()
	if len(c.m) >= c.max {
		for k, old := range c.m {
			if p.at.Sub(old.at) > c.ttl {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = p
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

var _ chat.Reacher = (*Adapter)(nil)

// Reach implements chat.Reacher: the Slack account whose email is the person's mail address or UPN
// (users.lookupByEmail), held to the same rules as anyone who writes to the bot: a full member of an
// allowed workspace, no stranger, guest, bot or deactivated account. An email is only as good as
// whoever can edit it, so the service treats the account as the person's for a notice, and for a
// verification only when the account is linked to them (RESETBOT_SLACK_IDENTITY=linked).
func (a *Adapter) Reach(ctx context.Context, p chat.Person) (chat.Actor, error) {
	var lastErr error
	for _, email := range []string{p.Mail, p.UPN} {
		email = strings.ToLower(strings.TrimSpace(email))
		if email == "" {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, webAPITimeout)
		u, err := a.api.GetUserByEmailContext(lctx, email)
		cancel()
		if slackError(err) == "users_not_found" {
			continue
		}
		if err != nil {
			lastErr = fmt.Errorf("slack users.lookupByEmail: %w", err)
			continue
		}
		who := personFrom(sender{team: u.TeamID, enterprise: u.Enterprise.EnterpriseID, user: u.ID}, u)
		if who.refusal != "" {
			return chat.Actor{}, fmt.Errorf("%w: their Slack account can't be used (%s)", chat.ErrUnreachable, strings.TrimSuffix(who.refusal, "."))
		}
		allowed, err := a.workspaceAllowed(ctx, sender{team: who.team, enterprise: who.enterprise, user: u.ID})
		if err != nil {
			return chat.Actor{}, err
		}
		if !allowed {
			return chat.Actor{}, fmt.Errorf("%w: their Slack account belongs to another workspace", chat.ErrUnreachable)
		}
		return who.actor, nil
	}
	if lastErr != nil {
		return chat.Actor{}, lastErr
	}
	return chat.Actor{}, fmt.Errorf("%w: no Slack account has their address", chat.ErrUnreachable)
}

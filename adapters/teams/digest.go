package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/chat"
)

// maxCardBytes keeps a digest card under Teams' 28 KB message limit, with room for the activity
// around it.
const maxCardBytes = 26 << 10

var _ chat.AuditPoster = (*Adapter)(nil)

// PostDigest implements chat.AuditPoster: the digest card goes to RESETBOT_TEAMS_AUDIT_CONVERSATION.
//
// A bot cannot attach a file to a channel post: Teams takes files from bots only in 1:1 chats
// (FileConsentCard) or as links to files already in SharePoint/OneDrive, which would need Graph's
// Files.ReadWrite.All or Sites.Selected on top of what resetbot asks for. So the card says where the
// detail is instead: the Slack copy when there is one, and the command that writes the same CSV.
func (a *Adapter) PostDigest(ctx context.Context, m chat.Message, csv *chat.Attachment) error {
	conv := a.cfg.AuditConversation
	if conv == "" {
		return errors.New("teams: no audit channel: set " + EnvAudit + " to the channel's ID (19:…@thread.tacv2)")
	}
	if csv != nil {
		note := fmt.Sprintf("📎 The detail (%s) can't be attached in Teams; an admin gets it with: %s", csv.Name, csv.Again)
		if m.Footer != "" {
			m.Footer = note + "\n\n" + m.Footer
		} else {
			m.Footer = note
		}
	}
	act := fitCard(m)
	serviceURL, err := a.tenantServiceURL(ctx)
	if err != nil {
		return err
	}
	_, err = a.conn.Send(ctx, serviceURL, conv, act)
	return err
}

// fitCard renders m, shortening it until the card fits Teams' size limit. Lists are capped when
// the digest is built, so this is a safety net: the table loses rows first, then the text its end.
func fitCard(m chat.Message) botframework.Activity {
	for {
		act := cardActivity(chat.ViewOn(m, chat.SurfaceChannel))
		b, _ := json.Marshal(act)
		if len(b) <= maxCardBytes {
			return act
		}
		switch {
		case m.Table != nil && len(m.Table.Rows) > 5:
			t := *m.Table
			keep := len(t.Rows) / 2
			dropped := len(t.Rows) - keep
			t.Rows = append(t.Rows[:keep:keep], []string{fmt.Sprintf("and %d more rows (see the CSV)", dropped)})
			m.Table = &t
		case len([]rune(m.Text)) > 500:
			m.Text = botframework.Truncate(m.Text, len([]rune(m.Text))/2) + "\n\n(shortened to fit a Teams card; the CSV has everything)"
		default:
			m.Table, m.Text = nil, botframework.Truncate(m.Text, 500)
			return cardActivity(chat.ViewOn(m, chat.SurfaceChannel))
		}
	}
}

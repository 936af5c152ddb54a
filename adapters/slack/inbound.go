package slack

import (
	"context"
	"strings"

	slackgo "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/chat"
)

// What Slack sends, once verified and parsed, whichever way it came (HTTP or Socket Mode), becomes a
// delivery here: events are in events.go.

// ephemeral is an acknowledgement or response_url message only the sender sees.
type ephemeral struct {
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	Text            string          `json:"text"`
	Blocks          []slackgo.Block `json:"blocks,omitempty"`
}

func checking(text string) ephemeral {
	what := "…"
	if t := clip(strings.ReplaceAll(text, "`", "'"), 80); t != "" {
		what = "`" + escape(t) + "` …"
	}
	return ephemeral{ResponseType: slackgo.ResponseTypeEphemeral, Text: "⏳ Checking " + what}
}

// onSlashCommand takes a verified /resetpw.
func (a *Adapter) onSlashCommand(cmd slackgo.SlashCommand) delivery {
	if cmd.TeamID == "" || cmd.UserID == "" {
		a.log.Warn("slash command without a team or user ignored")
		return delivery{ack: ephemeral{ResponseType: slackgo.ResponseTypeEphemeral, Text: "⚠️ Slack sent this command without saying who you are, so I ignored it."}}
	}
	if len(cmd.Text) > slackCommandLimit {
		return delivery{ack: ephemeral{ResponseType: slackgo.ResponseTypeEphemeral, Text: "🤔 That command is too long."}}
	}
	// trigger_id is unique per invocation; Slack does not retry slash commands, but a proxy might.
	key := "slack:cmd:" + cmd.TeamID + ":" + cmd.TriggerID
	if cmd.TriggerID == "" {
		key = ""
	}
	who := sender{team: cmd.TeamID, enterprise: cmd.EnterpriseID, user: cmd.UserID}
	return delivery{
		ack: checking(cmd.Text),
		work: func(ctx context.Context) {
			reply := a.responder(who, cmd.ResponseURL)
			actor, ok := a.whoIs(ctx, who, reply)
			if !ok {
				return
			}
			in := chat.Incoming{Actor: actor, Text: unformat(cmd.Text), IdempotencyKey: key, Reply: reply}
			if err := a.svc.Handle(ctx, in); err != nil {
				a.log.Error("handling a slash command failed", "err", err)
			}
		},
	}
}

// Our buttons: the action ID says what, the value carries only the opaque request or list ID.
const (
	blockApproval = "resetbot_approval"
	blockList     = "resetbot_list"
	blockVerify   = "resetbot_verify" // caller verification: the agent's choice, the numbers, the manager's card
	blockNotice   = "resetbot_notice" // the user's notice of a reset
	actionPrefix  = "resetbot_"
	// reasonBlock and reasonAction name the text box of a button that takes one (a deny's reason).
	reasonBlock  = "resetbot_reason"
	reasonAction = "resetbot_reason_text"
)

// ourBlocks are the block IDs our buttons live in.
var ourBlocks = map[string]bool{blockApproval: true, blockList: true, blockVerify: true, blockNotice: true}

// buttonActions maps an action ID to its action. Several buttons of one action in a block (the
// numbers to pick) get IDs of their own, "resetbot_pick#2": Slack wants them unique in a block.
var buttonActions = func() map[string]chat.Action {
	m := map[string]chat.Action{}
	for _, a := range chat.Actions {
		m[actionPrefix+string(a)] = a
	}
	return m
}()

// actionOf reads an action ID.
func actionOf(actionID string) (chat.Action, bool) {
	base, _, _ := strings.Cut(actionID, "#")
	a, ok := buttonActions[base]
	return a, ok
}

// onInteraction takes a verified interaction payload. Only clicks on our own buttons do anything;
// everything else is acknowledged and logged, so Slack shows no error.
func (a *Adapter) onInteraction(ic slackgo.InteractionCallback) delivery {
	if ic.Type != slackgo.InteractionTypeBlockActions {
		a.log.Info("interaction ignored", "type", string(ic.Type))
		return delivery{}
	}
	if len(ic.ActionCallback.BlockActions) != 1 {
		a.log.Info("interaction ignored: not one action", "actions", len(ic.ActionCallback.BlockActions))
		return delivery{}
	}
	act := ic.ActionCallback.BlockActions[0]
	action, known := actionOf(act.ActionID)
	if !known || !ourBlocks[act.BlockID] {
		a.log.Info("interaction ignored: not our button", "action_id", clip(act.ActionID, 64), "block_id", clip(act.BlockID, 64))
		return delivery{}
	}
	id := act.Value
	if len(id) > chat.MaxButtonID || id == "" || strings.ContainsAny(id, " \t\r\n") {
		a.log.Info("interaction ignored: the button carries no request ID")
		return delivery{}
	}
	if ic.Team.ID == "" || ic.User.ID == "" {
		a.log.Warn("interaction without a team or user ignored")
		return delivery{}
	}
	// A double click is two deliveries with two action_ts: the service's compare-and-swap makes the
	// second a no-op. The key only stops the same delivery being handled twice.
	stamp := act.ActionTs
	if stamp == "" {
		stamp = ic.TriggerID
	}
	key := "slack:click:" + ic.Team.ID + ":" + ic.User.ID + ":" + stamp
	if stamp == "" {
		key = ""
	}
	who := sender{team: ic.Team.ID, enterprise: ic.Enterprise.ID, user: ic.User.ID}
	return delivery{work: func(ctx context.Context) {
		reply := a.responder(who, ic.ResponseURL)
		actor, ok := a.whoIs(ctx, who, reply)
		if !ok {
			return
		}
		in := chat.Click(actor, action, id, key, reply)
		in.Input = typed(ic.BlockActionState)
		if err := a.svc.Handle(ctx, in); err != nil {
			a.log.Error("handling a button click failed", "err", err)
		}
	}}
}

// typed is what was typed in the message's text box (reasonBlock) when the button was pressed.
func typed(st *slackgo.BlockActionStates) string {
	if st == nil {
		return ""
	}
	return st.Values[reasonBlock][reasonAction].Value
}

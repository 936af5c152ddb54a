package bot

import (
	"time"

	"github.com/resetbot/resetbot/chat"
)

// Caller assurance: helpdesk resets are how account takeovers start (the caller claims to be the
// user, the agent resets). So the bot can check who the caller is before the write, tells the user
// out of band after it, and can hand out a Temporary Access Pass instead of a password. The types
// here are what a request keeps of that; verify.go runs the checks, notice.go the notices.

// Credential is what a reset gives the user.
type Credential string

const (
	// CredentialPassword: a temporary password, to be changed at the next sign-in.
	CredentialPassword Credential = "password"
	// CredentialAccessPass: a Temporary Access Pass; the password is not changed.
	CredentialAccessPass Credential = "tap"
)

// Words is how messages name the credential.
func (c Credential) Words() string {
	if c == CredentialAccessPass {
		return "Temporary Access Pass"
	}
	return "temporary password"
}

// Assurance is how the caller was shown to be the target before the write.
type Assurance string

const (
	AssuranceChat    Assurance = "chat"    // the target picked the number the agent read them, in their own chat
	AssuranceManager Assurance = "manager" // the target's manager confirmed the caller is the target
	AssuranceAgent   Assurance = "agent"   // the agent says they verified another way (--verified): not checked by the bot
	AssuranceSkipped Assurance = "skipped" // verification was offered and the agent went ahead without it
	AssuranceNone    Assurance = "none"    // no caller to verify (a list), or verification is off
)

// ByTheBot reports whether the bot itself checked the caller.
func (a Assurance) ByTheBot() bool { return a == AssuranceChat || a == AssuranceManager }

// Words says it for people.
func (a Assurance) Words() string {
	switch a {
	case AssuranceChat:
		return "verified in chat (the user picked the number the agent read them)"
	case AssuranceManager:
		return "verified by the user's manager"
	case AssuranceAgent:
		return "verified by the agent, not by the bot"
	case AssuranceSkipped:
		return "not verified by the bot (the agent went ahead without it)"
	case AssuranceNone:
		return "no caller verification"
	}
	return "not verified yet"
}

// VerifyMode is how much caller verification a deployment asks for (RESETBOT_VERIFY).
type VerifyMode string

const (
	VerifyOff     VerifyMode = "off"     // not offered; resets record no assurance
	VerifyOffer   VerifyMode = "offer"   // available; a reset without it records that it was skipped
	VerifyRequire VerifyMode = "require" // no reset until the bot verified the caller (chat or manager)
)

// Caller is what a request keeps of its caller's verification and of the credential it gives. It is
// covered by the request's seals: a verification written into the store by anyone but resetbot
// verifies nobody.
type Caller struct {
	Credential Credential `json:"credential,omitempty"` // "" is a password
	Assurance  Assurance  `json:"assurance,omitempty"`  // "" while a verification waits
	// Detail is the agent's own words for --verified, or who answered a verification.
	Detail string `json:"detail,omitempty"`
	// Method is the verification under way (chat or manager) while the request waits for it.
	Method string `json:"method,omitempty"`
	// Answer authenticates the right number of a chat verification (a MAC, never the number).
	Answer string `json:"answer,omitempty"`
	// Asked is the chat account the numbers, or the manager's card, went to: only it may answer.
	Asked string `json:"asked,omitempty"`
	// AskedID is the Entra object ID of whoever must answer (the target, or their manager).
	AskedID string `json:"asked_id,omitempty"`
	// Card is the message with the numbers or the manager's buttons, updated once answered.
	Card chat.MessageRef `json:"card,omitzero"`
	// Seal authenticates Assurance and Detail (see Service.callerSeal).
	Seal string `json:"seal,omitempty"`
}

// Notice is what became of telling a target that their password was reset (or a pass issued).
type Notice struct {
	// State is NoticeSending (recorded before the message is sent), NoticeSent or NoticeUnreached.
	State string `json:"state"`
	// To is the chat account the notice went to: only it may say "this wasn't me".
	To string `json:"to,omitempty"`
	// Why says why nobody could be told.
	Why string `json:"why,omitempty"`
	// Manager is the manager's notice (RESETBOT_NOTIFY_MANAGER): "", NoticeSent or NoticeUnreached.
	Manager string `json:"manager,omitempty"`
	// Disputed is when the target said it wasn't them; zero until then.
	Disputed time.Time `json:"disputed,omitzero"`
}

// Notice states.
const (
	NoticeSending   = "sending"
	NoticeSent      = "sent"
	NoticeUnreached = "unreached"
)

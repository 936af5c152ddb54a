package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/keys"
	"github.com/resetbot/resetbot/bot/signin"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/chat"
)

// serveConfig is everything `resetbot serve` reads from the environment besides the Graph credentials
// (graphsvc.ConfigFromEnv) and each platform's own settings (read by its adapter).
type serveConfig struct {
	Listen  string
	Store   string
	Service bot.Config
	SignIn  signInConfig
}

// signInConfig is agent sign-in's part: on when writeback or delegated-only mode needs it.
type signInConfig struct {
	Enabled   bool
	PublicURL string // https origin; empty means the device code flow
	Key       []byte
	Lifetime  time.Duration
}

// loadServeConfig reads RESETBOT_* variables. Every error names the variable and what it accepts.
func loadServeConfig(getenv func(string) string) (serveConfig, error) {
	c := serveConfig{Listen: ":3978", Store: store.DefaultDSN, Service: bot.Defaults()}
	e := envReader{getenv: getenv}
	e.str("RESETBOT_LISTEN", &c.Listen)
	e.str("RESETBOT_STORE", &c.Store)
	svc := &c.Service
	if v := getenv("RESETBOT_POLICY_MODE"); v != "" {
		switch m := bot.Mode(strings.ToLower(v)); m {
		case bot.ModeEntra, bot.ModeRules:
			svc.Policy.Mode = m
		default:
			e.fail("RESETBOT_POLICY_MODE", v, "entra or rules")
		}
	}
	if v := getenv("RESETBOT_BOT_ROLE"); v != "" {
		if id, ok := bot.RoleByName(v); ok {
			svc.Policy.BotRole = id
		} else if bot.IsGUID(v) {
			svc.Policy.BotRole = strings.ToLower(v)
		} else {
			e.fail("RESETBOT_BOT_ROLE", v, "the role on the bot's service principal, by name (Password Administrator) or template ID")
		}
	}
	svc.Policy.Protected = e.list("RESETBOT_PROTECTED")
	// Who may read the trail in chat besides approvers: role names or template IDs, group object IDs.
	for _, v := range e.list("RESETBOT_AUDIT_READERS") {
		if id, ok := bot.RoleByName(v); ok {
			svc.Policy.AuditReaders = append(svc.Policy.AuditReaders, id)
		} else if bot.IsGUID(v) {
			svc.Policy.AuditReaders = append(svc.Policy.AuditReaders, strings.ToLower(v))
		} else {
			e.fail("RESETBOT_AUDIT_READERS", v, "Entra role names (Security Reader) or template IDs, or group object IDs, separated by commas")
		}
	}
	if path := getenv("RESETBOT_RULES_FILE"); path != "" {
		rules, err := loadRules(path)
		if err != nil {
			e.errs = append(e.errs, err.Error())
		}
		svc.Policy.Rules = rules
	}
	if svc.Policy.Mode == bot.ModeRules && len(svc.Policy.Rules) == 0 && getenv("RESETBOT_RULES_FILE") == "" {
		e.errs = append(e.errs, "RESETBOT_POLICY_MODE=rules needs RESETBOT_RULES_FILE, a JSON file of rules")
	}
	e.boolean("RESETBOT_APPROVE_PRIVILEGED", &svc.Policy.PrivilegedNeedsApproval)
	e.duration("RESETBOT_APPROVAL_TTL", &svc.ApprovalTTL, time.Minute, 24*time.Hour)
	e.duration("RESETBOT_DM_TTL", &svc.DMTTL, time.Minute, 24*time.Hour)
	e.boolean("RESETBOT_REVOKE_SESSIONS", &svc.RevokeSessions)
	e.boolean("RESETBOT_REQUIRE_MFA", &svc.RequireMFA)
	e.integer("RESETBOT_RATE_LIMIT", &svc.RateLimit, 0, 100000)
	e.duration("RESETBOT_RATE_WINDOW", &svc.RateWindow, time.Minute, 7*24*time.Hour)
	e.integer("RESETBOT_MAX_LIST_ROWS", &svc.MaxListRows, 1, 100000)
	e.integer("RESETBOT_LIST_APPROVAL_ABOVE", &svc.ListApprovalAbove, 0, 100000)
	e.integer("RESETBOT_PASSWORD_LENGTH", &svc.Password.Length, bot.MinPasswordLength, bot.MaxPasswordLength)
	e.boolean("RESETBOT_PASSPHRASE", &svc.Password.Passphrase)
	e.str("RESETBOT_APPROVALS_CHANNEL_NAME", &svc.ApprovalsChannel)
	e.boolean("RESETBOT_PASSWORD_WRITEBACK", &svc.Policy.Writeback)
	switch v := strings.ToLower(getenv("RESETBOT_RESET_AS")); v {
	case "", "app":
	case "agent":
		svc.Policy.AsAgent = true
	default:
		e.fail("RESETBOT_RESET_AS", v, "app (the bot's own permission; synced users as the agent) or agent (every reset as the signed-in agent)")
	}
	e.integer("RESETBOT_TENANT_LIMIT", &svc.TenantLimit, 0, 1000000)
	verifyMode := func(name string, into *bot.VerifyMode) {
		switch v := bot.VerifyMode(strings.ToLower(getenv(name))); v {
		case "":
		case bot.VerifyOff, bot.VerifyOffer, bot.VerifyRequire:
			*into = v
		default:
			e.fail(name, string(v), "off, offer (the agent may have the bot verify the caller) or require (no reset until the bot has)")
		}
	}
	verifyMode("RESETBOT_VERIFY", &svc.Verify)
	verifyMode("RESETBOT_VERIFY_PRIVILEGED", &svc.VerifyPrivileged)
	e.duration("RESETBOT_VERIFY_TTL", &svc.VerifyTTL, time.Minute, 30*time.Minute)
	switch v := bot.Credential(strings.ToLower(getenv("RESETBOT_CREDENTIAL"))); v {
	case "":
	case bot.CredentialPassword, bot.CredentialAccessPass:
		svc.Credential = v
	default:
		e.fail("RESETBOT_CREDENTIAL", string(v), "password or tap (a Temporary Access Pass)")
	}
	e.duration("RESETBOT_TAP_LIFETIME", &svc.AccessPassLifetime, 10*time.Minute, 30*24*time.Hour)
	e.boolean("RESETBOT_TAP_ONE_TIME", &svc.AccessPassOnce)
	e.boolean("RESETBOT_NOTIFY_MANAGER", &svc.NotifyManager)
	switch v := strings.ToLower(getenv("RESETBOT_WASNT_ME")); v {
	case "", "revoke":
	case "alert":
		svc.WasntMeRevokes = false
	default:
		e.fail("RESETBOT_WASNT_ME", v, "revoke (alert security and sign the user out everywhere) or alert (only alert)")
	}
	switch v := strings.ToLower(getenv("RESETBOT_SLACK_IDENTITY")); v {
	case "", "linked":
	case "email":
		svc.LinkedIdentity = slices.DeleteFunc(svc.LinkedIdentity, func(p chat.Platform) bool { return p == chat.PlatformSlack })
	default:
		e.fail("RESETBOT_SLACK_IDENTITY", v, "linked (each Slack user signs in to Entra once to prove who they are) or email (trust the Slack profile's email: only where Slack emails come from your SSO)")
	}
	e.duration("RESETBOT_LINK_LIFETIME", &svc.LinkLifetime, time.Hour, 365*24*time.Hour)
	c.SignIn.Lifetime = 12 * time.Hour
	e.duration("RESETBOT_SIGNIN_LIFETIME", &c.SignIn.Lifetime, 10*time.Minute, 30*24*time.Hour)
	// Both keys are needed by every install: the encryption key keeps a temporary password sealed
	// between its reset and its delivery (so a restart in between still delivers it), the audit key
	// signs what only resetbot may write (so a row inserted into the database resets nobody).
	key, err := keys.Parse(signin.EnvEncryptionKey, getenv(signin.EnvEncryptionKey))
	if err != nil {
		e.errs = append(e.errs, err.Error()+" (it seals a temporary password between its reset and its delivery, and agents' sign-ins)")
	}
	svc.EncryptionKey = key
	auditKey, err := keys.Parse(EnvAuditKey, getenv(EnvAuditKey))
	if err != nil {
		e.errs = append(e.errs, err.Error()+" (it signs requests and approvals, so a row written into the database by anyone but resetbot resets nobody)")
	}
	svc.AuditKey = auditKey
	c.SignIn.Key = key
	// Sign-in is also on for linking Slack accounts to Entra: loadAll decides, knowing the platforms.
	c.SignIn.Enabled = svc.Policy.Writeback || svc.Policy.AsAgent
	if v := getenv("RESETBOT_PUBLIC_URL"); v != "" {
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			e.fail("RESETBOT_PUBLIC_URL", v, "the bot's public https origin, such as https://resetbot.contoso.com (the sign-in callback is /oauth/callback on it)")
		} else {
			c.SignIn.PublicURL = strings.TrimRight(v, "/")
		}
	}
	if tz := getenv("RESETBOT_TZ"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			e.fail("RESETBOT_TZ", tz, "an IANA time zone such as Europe/Paris")
		}
		svc.Location = loc
	}
	if len(e.errs) > 0 {
		return c, fmt.Errorf("configuration:\n  %s", strings.Join(e.errs, "\n  "))
	}
	return c, nil
}

// EnvAuditKey names the setting holding the key that signs requests and approvals.
const EnvAuditKey = "RESETBOT_AUDIT_KEY"

// loadRules reads rules mode's rules: a JSON array of {"name", "agents": [group IDs],
// "targets": {"groups", "administrativeUnits", "domains"}}. Unknown fields are errors, so a typo
// does not silently widen or narrow who may reset whom.
func loadRules(path string) ([]bot.Rule, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("RESETBOT_RULES_FILE: %v", err)
	}
	defer f.Close()
	var raw []struct {
		Name    string   `json:"name"`
		Agents  []string `json:"agents"`
		Targets struct {
			Groups              []string `json:"groups"`
			AdministrativeUnits []string `json:"administrativeUnits"`
			Domains             []string `json:"domains"`
		} `json:"targets"`
	}
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("RESETBOT_RULES_FILE %s: %v", path, err)
	}
	var rules []bot.Rule
	for i, r := range raw {
		if len(r.Agents) == 0 {
			return nil, fmt.Errorf("RESETBOT_RULES_FILE %s: rule %d (%q) names no agent groups", path, i+1, r.Name)
		}
		rules = append(rules, bot.Rule{Name: r.Name, Agents: r.Agents, Targets: bot.Selector{
			Groups: r.Targets.Groups, AdministrativeUnits: r.Targets.AdministrativeUnits, Domains: r.Targets.Domains}})
	}
	return rules, nil
}

type envReader struct {
	getenv func(string) string
	errs   []string
}

func (e *envReader) fail(name, value, want string) {
	e.errs = append(e.errs, fmt.Sprintf("%s=%q: want %s", name, value, want))
}

func (e *envReader) str(name string, into *string) {
	if v := e.getenv(name); v != "" {
		*into = v
	}
}

func (e *envReader) list(name string) []string {
	var out []string
	for _, v := range strings.Split(e.getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (e *envReader) boolean(name string, into *bool) {
	if v := e.getenv(name); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			e.fail(name, v, "true or false")
			return
		}
		*into = b
	}
}

func (e *envReader) integer(name string, into *int, lo, hi int) {
	if v := e.getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			e.fail(name, v, fmt.Sprintf("a whole number from %d to %d", lo, hi))
			return
		}
		*into = n
	}
}

func (e *envReader) duration(name string, into *time.Duration, lo, hi time.Duration) {
	if v := e.getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			e.fail(name, v, fmt.Sprintf("a duration from %s to %s, such as 15m", lo, hi))
			return
		}
		*into = d
	}
}

package main

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// setting is one environment variable resetbot reads. Every variable that any part of resetbot
// reads for `serve` is one line of the settings table below, which `resetbot serve --help`,
// `resetbot config` and the README's tables are written from, and `resetbot config check` checks
// the environment against (a RESETBOT_ variable that is not in it is reported as a likely typo).
//
// To add a setting: add one line here, in its section, and read it where it is used (through the
// getenv the loaders are given). TestEverySettingReadIsDeclared fails for a variable read but not
// declared, and for a line nothing reads; TestDefaultsAreTheDefaults fails when a line's Default is
// not what the code does when the variable is unset.
type setting struct {
	Name    string
	Default string // what leaving it unset means, as one would write the value; "" when there is none
	Help    string
	Secret  bool     // never printed, only "set"
	Aliases []string // other names accepted for it (those Azure's Bot Service templates write)
	// External: read by a library (azidentity, OpenTelemetry) rather than by resetbot's loaders.
	External bool
}

type section struct {
	Title    string
	Settings []setting
}

// Sections of the table, in the order help and `resetbot config` show them.
const (
	secServer = "Server"
	secOps    = "Operations"
	secStore  = "Store"
	secGraph  = "Microsoft Graph"
	secPolicy = "Policy and resets"
	secCaller = "Caller verification and notices"
	secSignIn = "Agent sign-in (hybrid users, delegated-only mode)"
	secDigest = "Digests"
	secSlack  = "Slack"
	secTeams  = "Microsoft Teams"
)

var settingsTable = []section{
	{secServer, []setting{
		{Name: "RESETBOT_LISTEN", Default: ":3978", Help: "Address the public endpoints listen on (Slack's /slack/*, Teams' /api/messages, /oauth/callback)."},
		{Name: "RESETBOT_OPS_LISTEN", Help: "Address for /healthz, /readyz and /metrics, apart from the public port (e.g. :9090). Unset: they are served on RESETBOT_LISTEN."},
		{Name: "RESETBOT_TLS_CERT_FILE", Help: "PEM certificate (chain) to serve HTTPS on RESETBOT_LISTEN yourself, for a single VM without an ingress; reloaded when the file changes."},
		{Name: "RESETBOT_TLS_KEY_FILE", Help: "PEM private key of RESETBOT_TLS_CERT_FILE; must match it."},
		{Name: "RESETBOT_DRAIN_DELAY", Default: "0s", Help: "On SIGTERM, how long /readyz reports not ready while requests are still taken, so a load balancer stops sending them (Kubernetes: 5s)."},
		{Name: "RESETBOT_SHUTDOWN_TIMEOUT", Default: "60s", Help: "On SIGTERM, how long in-flight work (a reset half done) may take to finish before the process exits."},
	}},
	{secOps, []setting{
		{Name: "RESETBOT_LOG_LEVEL", Default: "info", Help: "debug (adds one access log line per request), info, warn or error."},
		{Name: "RESETBOT_LOG_FORMAT", Default: "json", Help: "json (one object per line) or text."},
		{Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Help: "OpenTelemetry: send traces over OTLP/HTTP to this collector (e.g. http://otel-collector:4318). Unset: no tracing."},
		{Name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", Help: "OpenTelemetry: the traces endpoint, if not OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces."},
		{Name: "OTEL_EXPORTER_OTLP_HEADERS", Secret: true, Help: "OpenTelemetry: headers for the collector (key=value,…), such as an API key."},
		{Name: "OTEL_SERVICE_NAME", Default: "resetbot", External: true, Help: "OpenTelemetry: the service name on spans."},
		{Name: "OTEL_TRACES_SAMPLER", Default: "parentbased_always_on", External: true, Help: "OpenTelemetry: which requests are traced (e.g. parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG=0.1)."},
	}},
	{secStore, []setting{
		{Name: "RESETBOT_STORE", Default: "sqlite:resetbot.db", Help: "sqlite:PATH for one replica, or postgres://USER[:PASSWORD]@HOST:5432/DATABASE?sslmode=require for several on one database."},
		{Name: "RESETBOT_POSTGRES_AUTH", Default: "password", Help: "password (the one in RESETBOT_STORE, PGPASSWORD or a password file), or azure: an Entra token as the password (Azure Database for PostgreSQL), from the same identity as Graph; RESETBOT_STORE then carries no password."},
		{Name: "RESETBOT_POSTGRES_TOKEN_SCOPE", Default: "https://ossrdbms-aad.database.windows.net/.default", Help: "With RESETBOT_POSTGRES_AUTH=azure: the token scope (sovereign clouds have their own)."},
	}},
	{secGraph, []setting{
		{Name: "AZURE_TENANT_ID", Help: "The Entra tenant (GUID) resetbot resets passwords in."},
		{Name: "AZURE_CLIENT_ID", Help: "Application (client) ID of resetbot's app registration, or of the user-assigned managed identity."},
		{Name: "AZURE_CLIENT_SECRET", Secret: true, Help: "The app registration's client secret."},
		{Name: "AZURE_CLIENT_CERTIFICATE_PATH", Help: "Instead of a secret: the app's certificate and key, PEM or PKCS#12."},
		{Name: "AZURE_CLIENT_CERTIFICATE_PASSWORD", Secret: true, Help: "Password of that certificate's key, if any."},
		{Name: "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", Default: "false", Help: "true: send the certificate chain (subject name/issuer authentication)."},
		{Name: "AZURE_FEDERATED_TOKEN_FILE", Help: "Workload identity (AKS): the service account token file; set by the workload identity webhook. Used when no secret or certificate is set."},
		{Name: "AZURE_AUTHORITY_HOST", Help: "Sign-in authority for sovereign clouds, e.g. https://login.microsoftonline.us/ (default https://login.microsoftonline.com/)."},
		{Name: "RESETBOT_GRAPH_AUTH", Help: "Unset: a secret, a certificate, or workload identity, whichever is configured; managed-identity: the Azure host's managed identity (AZURE_CLIENT_ID picks a user-assigned one); workload-identity: require workload identity."},
		{Name: "RESETBOT_GRAPH_ENDPOINT", Default: "https://graph.microsoft.com", Help: "Graph endpoint for sovereign clouds or a private host."},
		{Name: "RESETBOT_GRAPH_SCOPE", Help: "Token scope when RESETBOT_GRAPH_ENDPOINT is a proxy in front of Graph (default: the endpoint + /.default)."},
		{Name: "RESETBOT_GRAPH_BATCH_CONCURRENCY", Default: "4", Help: "$batch requests of 20 a list run keeps in flight (1–32); writes stay paced inside Graph's limit whatever the value."},
	}},
	{secPolicy, []setting{
		{Name: "RESETBOT_POLICY_MODE", Default: "entra", Help: "entra (each person may reset whom their own Entra roles allow) or rules."},
		{Name: "RESETBOT_RULES_FILE", Help: "Rules mode: a JSON array of {name, agents, targets: {groups, administrativeUnits, domains}}."},
		{Name: "RESETBOT_BOT_ROLE", Default: "Privileged Authentication Administrator", Help: "The Entra role on the bot's service principal (name or template ID); resets it could not do are refused up front."},
		{Name: "RESETBOT_PROTECTED", Help: "Comma-separated UPNs or object IDs never reset (break-glass accounts)."},
		{Name: "RESETBOT_AUDIT_READERS", Default: "Global Administrator, Security Administrator, Security Reader, Global Reader", Help: "Who may read the trail in chat besides approvers: role names or template IDs, or group object IDs."},
		{Name: "RESETBOT_APPROVE_PRIVILEGED", Default: "true", Help: "Targets with or eligible for admin roles need a second person."},
		{Name: "RESETBOT_APPROVAL_TTL", Default: "30m", Help: "How long an approval stays open."},
		{Name: "RESETBOT_DM_TTL", Default: "15m", Help: "How long the password DM stays before it is withdrawn."},
		{Name: "RESETBOT_REVOKE_SESSIONS", Default: "true", Help: "Revoke the target's sign-in sessions after a reset."},
		{Name: "RESETBOT_REQUIRE_MFA", Default: "false", Help: "Force MFA at the next sign-in (forceChangePasswordNextSignInWithMfa)."},
		{Name: "RESETBOT_RATE_LIMIT", Default: "30", Help: "Resets one person may ask for per RESETBOT_RATE_WINDOW."},
		{Name: "RESETBOT_RATE_WINDOW", Default: "1h", Help: "The window of RESETBOT_RATE_LIMIT and RESETBOT_TENANT_LIMIT."},
		{Name: "RESETBOT_TENANT_LIMIT", Default: "100", Help: "Resets everyone together may ask for per RESETBOT_RATE_WINDOW before new ones wait for an approver who may read the audit trail (0: no brake)."},
		{Name: "RESETBOT_MAX_LIST_ROWS", Default: "5000", Help: "The most users one list (CSV) may name."},
		{Name: "RESETBOT_LIST_APPROVAL_ABOVE", Default: "50", Help: "Lists with more users than this need a second person's approval (0: never)."},
		{Name: "RESETBOT_PASSWORD_LENGTH", Default: "16", Help: "Temporary password length (16–256)."},
		{Name: "RESETBOT_PASSPHRASE", Default: "false", Help: "true: a passphrase of words instead of characters."},
		{Name: "RESETBOT_APPROVALS_CHANNEL_NAME", Default: "#approvals", Help: "How people know the approvals channel, for the bot's replies."},
		{Name: "RESETBOT_TZ", Help: "IANA time zone times are shown in (default the host's)."},
	}},
	{secCaller, []setting{
		{Name: "RESETBOT_VERIFY", Default: "offer", Help: "Caller verification before a reset: off, offer (the agent may have the bot verify the caller; going ahead without is recorded) or require (no reset until the bot has)."},
		{Name: "RESETBOT_VERIFY_PRIVILEGED", Help: "The same for privileged targets (admins, owners of role-assignable groups), e.g. require while RESETBOT_VERIFY is offer (default: as RESETBOT_VERIFY)."},
		{Name: "RESETBOT_VERIFY_TTL", Default: "5m", Help: "How long a verification waits for the user's tap or the manager's answer."},
		{Name: "RESETBOT_CREDENTIAL", Default: "password", Help: "What a reset gives unless the command says: password, or tap (a Temporary Access Pass; the password is not changed)."},
		{Name: "RESETBOT_TAP_LIFETIME", Default: "60m", Help: "How long a Temporary Access Pass works (within the tenant policy's range)."},
		{Name: "RESETBOT_TAP_ONE_TIME", Default: "true", Help: "false: a pass works for several sign-ins, where the tenant policy allows it."},
		{Name: "RESETBOT_NOTIFY_MANAGER", Default: "false", Help: "true: the user's manager is told of each reset or pass too."},
		{Name: "RESETBOT_WASNT_ME", Default: "revoke", Help: "What \"This wasn't me\" does besides alerting security: revoke (sign the user out everywhere) or alert (nothing more)."},
	}},
	{secSignIn, []setting{
		{Name: "RESETBOT_PASSWORD_WRITEBACK", Default: "false", Help: "true when password writeback is on in Entra Connect: synced users are reset as the signed-in agent."},
		{Name: "RESETBOT_RESET_AS", Default: "app", Help: "app (the bot's own permission) or agent (every reset as the signed-in agent)."},
		{Name: "RESETBOT_ENCRYPTION_KEY", Secret: true, Help: "Required. 32 random bytes, base64 or hex: seals a temporary password between its reset and its delivery, and agents' tokens."},
		{Name: "RESETBOT_AUDIT_KEY", Secret: true, Help: "Required. 32 random bytes, base64 or hex: signs requests, approvals and every audit record, so a row written into the database by anyone but resetbot resets nobody and a rewritten trail shows."},
		{Name: "RESETBOT_PUBLIC_URL", Help: "The bot's public https origin; the sign-in callback is /oauth/callback on it. Unset: device code sign-in."},
		{Name: "RESETBOT_SIGNIN_LIFETIME", Default: "12h", Help: "How long an agent stays signed in."},
	}},
	{secDigest, []setting{
		{Name: "RESETBOT_DIGEST_SCHEDULE", Default: "0 8 * * 1-5", Help: "Cron spec (five fields) of the audit digest."},
		{Name: "RESETBOT_DIGEST_TZ", Help: "IANA zone for the schedule, the times shown and business hours (default RESETBOT_TZ, else the host's)."},
		{Name: "RESETBOT_DIGEST_HOURS", Default: "08:00-18:00 Mon-Fri", Help: "Business hours; resets outside them are flagged."},
		{Name: "RESETBOT_DIGEST_AGENT_FACTOR", Default: "3", Help: "An agent is flagged at this many times their usual count …"},
		{Name: "RESETBOT_DIGEST_AGENT_MIN", Default: "10", Help: "… and at least this many resets."},
		{Name: "RESETBOT_DIGEST_HISTORY", Default: "7", Help: "Earlier periods the usual count is the median of."},
		{Name: "RESETBOT_DIGEST_ACCOUNT_REPEATS", Default: "3", Help: "Resets of one account that are flagged."},
		{Name: "RESETBOT_DIGEST_ENTRA", Default: "true", Help: "false: skip Entra's audit log (no AuditLog.Read.All)."},
	}},
	{secSlack, []setting{
		{Name: "SLACK_BOT_TOKEN", Secret: true, Help: "Bot User OAuth Token (xoxb-…); Slack is served when a SLACK_ secret is set."},
		{Name: "RESETBOT_SLACK_IDENTITY", Default: "linked", Help: "linked: each Slack user signs in to Entra once (again after RESETBOT_LINK_LIFETIME) before the bot acts for them; email: trust the Slack profile's email (only where Slack's emails come from your SSO)."},
		{Name: "RESETBOT_LINK_LIFETIME", Default: "2160h", Help: "How long a Slack account's link to Entra stands before its owner signs in again (90 days)."},
		{Name: "SLACK_SIGNING_SECRET", Secret: true, Help: "HTTP mode: the Signing Secret every request is checked against."},
		{Name: "SLACK_APP_TOKEN", Secret: true, Help: "Socket Mode: an app-level token (xapp-…) with connections:write."},
		{Name: "RESETBOT_APPROVALS_CHANNEL", Help: "Slack channel ID (C…) approval cards go to; the bot must be a member."},
		{Name: "RESETBOT_AUDIT_CHANNEL", Help: "Slack channel ID (C…) digests go to."},
		{Name: "RESETBOT_SLACK_WORKSPACES", Help: "Workspace (T…) or organisation (E…) IDs allowed (default: the bot token's own)."},
		{Name: "RESETBOT_SLACK_API_URL", Default: "https://slack.com/api/", Help: "The Web API base, ending in /, for a private gateway."},
	}},
	{secTeams, []setting{
		{Name: "MICROSOFT_APP_ID", Aliases: []string{"MicrosoftAppId"}, Help: "The Azure Bot's Microsoft App ID; Teams is served when it is set."},
		{Name: "MICROSOFT_APP_TENANT_ID", Aliases: []string{"MicrosoftAppTenantId"}, Help: "Your tenant: the only one whose activities are acted on."},
		{Name: "MICROSOFT_APP_TYPE", Default: "SingleTenant", Aliases: []string{"MicrosoftAppType"}, Help: "SingleTenant, UserAssignedMSI (a managed identity whose client ID is the app ID) or MultiTenant."},
		{Name: "MICROSOFT_APP_PASSWORD", Secret: true, Aliases: []string{"MicrosoftAppPassword"}, Help: "The bot's client secret."},
		{Name: "MICROSOFT_APP_CERTIFICATE_PATH", Help: "Instead of a secret: the bot's certificate and key, PEM or PKCS#12."},
		{Name: "MICROSOFT_APP_CERTIFICATE_PASSWORD", Secret: true, Help: "Password of that certificate's key, if any."},
		{Name: "RESETBOT_TEAMS_APPROVALS_CONVERSATION", Help: "The approvals channel's ID, 19:…@thread.tacv2."},
		{Name: "RESETBOT_TEAMS_APPROVALS_NAME", Help: "The approvals channel as people see it, team › channel (\"IT › approvals\"); default: learned from the channel."},
		{Name: "RESETBOT_TEAMS_AUDIT_CONVERSATION", Help: "The channel ID digests go to, 19:…@thread.tacv2."},
		{Name: "RESETBOT_TEAMS_SERVICE_URL", Help: "Connector for messages the bot starts (default: learned from your tenant's activities)."},
		{Name: "RESETBOT_TEAMS_OPENID_METADATA", Help: "Sovereign clouds: the Bot Framework's OpenID metadata URL."},
		{Name: "RESETBOT_TEAMS_TOKEN_ISSUER", Help: "Sovereign clouds: the Bot Framework token issuer."},
		{Name: "RESETBOT_TEAMS_TOKEN_SCOPE", Help: "Sovereign clouds: the Bot Framework token scope."},
		{Name: "RESETBOT_TEAMS_SERVICE_HOSTS", Help: "Sovereign clouds: extra connector hosts, comma-separated (*.example allowed)."},
		{Name: "RESETBOT_TEAMS_INSECURE_LOOPBACK", Help: "1: accept unauthenticated activities from loopback (development only)."},
	}},
}

// testOnlySettings are read by tests, never by serve: config check does not call them typos.
var testOnlySettings = []string{"RESETBOT_TEST_POSTGRES"}

// lookupSetting finds a setting by its name or an alias.
func lookupSetting(name string) (setting, string, bool) {
	for _, sec := range settingsTable {
		for _, s := range sec.Settings {
			if s.Name == name {
				return s, sec.Title, true
			}
			for _, a := range s.Aliases {
				if a == name {
					return s, sec.Title, true
				}
			}
		}
	}
	return setting{}, "", false
}

// writeSettingsHelp writes the table for `resetbot serve --help` and the README.
func writeSettingsHelp(w io.Writer) {
	fmt.Fprintln(w, "Settings, all from the environment (resetbot config shows their values; resetbot config check checks them):")
	for _, sec := range settingsTable {
		fmt.Fprintf(w, "\n%s\n", sec.Title)
		for _, s := range sec.Settings {
			name := s.Name
			if len(s.Aliases) > 0 {
				name += " (or " + strings.Join(s.Aliases, ", ") + ")"
			}
			fmt.Fprintf(w, "  %s\n", name)
			help := s.Help
			if s.Default != "" {
				help += " Default: " + s.Default + "."
			}
			for _, line := range wrap(help, 92) {
				fmt.Fprintf(w, "      %s\n", line)
			}
		}
	}
}

// wrap breaks text into lines of at most width runes at spaces.
func wrap(text string, width int) []string {
	var lines []string
	var cur strings.Builder
	for _, word := range strings.Fields(text) {
		if cur.Len() > 0 && len([]rune(cur.String()))+1+len([]rune(word)) > width {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(word)
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// checkedPrefixes are the variable name prefixes that belong to resetbot alone: one that is not a
// setting is most likely a typo. (AZURE_ and SLACK_ are shared with other tools and not checked.)
var checkedPrefixes = []string{"RESETBOT_", "MICROSOFT_APP_"}

// kubernetesServiceVar matches the variables Kubernetes gives a pod for each service of its
// namespace (a service named resetbot yields RESETBOT_SERVICE_HOST, RESETBOT_PORT_80_TCP, …):
// not typos. (The chart turns them off with enableServiceLinks: false; other manifests may not.)
var kubernetesServiceVar = regexp.MustCompile(`_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$`)

// unknownSettings lists variables in environ that look like resetbot's but are none of its
// settings, each with the closest setting's name when one is near.
func unknownSettings(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		mine := false
		for _, p := range checkedPrefixes {
			mine = mine || strings.HasPrefix(name, p)
		}
		if !mine {
			continue
		}
		if _, _, ok := lookupSetting(name); ok {
			continue
		}
		known := kubernetesServiceVar.MatchString(name)
		for _, t := range testOnlySettings {
			known = known || t == name
		}
		if known {
			continue
		}
		msg := name + " is not a setting resetbot knows"
		if near := nearestSetting(name); near != "" {
			msg += ": did you mean " + near + "?"
		} else {
			msg += " (resetbot serve --help lists them)"
		}
		out = append(out, msg)
	}
	sort.Strings(out)
	return out
}

// nearestSetting is the setting name closest to name by edit distance, if close enough to be a typo.
func nearestSetting(name string) string {
	best, bestDist := "", 4
	for _, sec := range settingsTable {
		for _, s := range sec.Settings {
			if d := editDistance(name, s.Name); d < bestDist {
				best, bestDist = s.Name, d
			}
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

package graphsvc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/resetbot/resetbot/bot"
)

// Temporary Access Passes and authentication methods (bot.AccessPasses). A pass is a credential
// like a password: its code travels as a bot.TempPassword, is in no error and no log, and Graph
// shows it once, in the answer to its creation.
//
// Graph lists /users/{id}/authentication/… among the reports APIs' resources, whose budget is 5
// requests per 10 s per app and tenant (next-wave.md §2), without saying whether these paths are
// covered: these calls are paced with the digest's reads of the audit log, as if they were.

var _ bot.AccessPasses = (*Client)(nil)

// Remedies for Temporary Access Passes and authentication methods.
const (
	RemedyAccessPassDisabled = "Temporary Access Pass is turned off in the tenant. An Authentication Policy Administrator can turn it on " +
		"(Entra admin center → Protection → Authentication methods → Policies → Temporary Access Pass → Enable, for all users or the helpdesk's users); " +
		"until then, reset the password instead. Nothing was created."

	RemedyAccessPassNotInPolicy = "The user is outside the Temporary Access Pass policy (not in an included group, or in an excluded one), so they could not sign in with a pass. " +
		"An Authentication Policy Administrator can include them (Entra admin center → Protection → Authentication methods → Temporary Access Pass → Include), " +
		"or reset the password instead. Nothing was created."

	RemedyAccessPassOffOrOutOfScope = "Either Temporary Access Pass is turned off in the tenant, or the user is outside its policy; resetbot could not read the policy to tell which " +
		"(that needs Policy.Read.AuthenticationMethod). An Authentication Policy Administrator can check Entra admin center → Protection → Authentication methods → Temporary Access Pass. " +
		"Nothing was created."

	RemedyAccessPassGuest = "A guest from another organisation cannot be given a Temporary Access Pass: their sign-in belongs to their home organisation. " +
		"Ask them to recover access there."

	RemedyAccessPassPermission = "resetbot's app lacks UserAuthMethod-TAP.ReadWrite.All (with admin consent), which creating and reading Temporary Access Passes needs. " +
		"Run `resetbot check` to see which permissions are missing."

	RemedyAuthMethodsPermission = "resetbot's app lacks UserAuthenticationMethod.Read.All (with admin consent), which listing a user's authentication methods needs."

	RemedyAccessPassPolicyPermission = "resetbot's app lacks Policy.Read.AuthenticationMethod (with admin consent), which reading the Temporary Access Pass policy needs."
)

// Graph's own bounds on a pass's lifetime, whatever the tenant's policy says.
const (
	minAccessPassLifetime = 10 * time.Minute
	maxAccessPassLifetime = 30 * 24 * time.Hour
)

// CreateAccessPass creates a Temporary Access Pass for the user: POST /users/{id}/authentication/
// temporaryAccessPassMethods with lifetimeInMinutes (omitted for the policy's default) and
// isUsableOnce, after a GET of the same collection tells whether a pass is being replaced. Two
// requests. The POST is never sent twice after a 5xx (a second pass would replace the first). A
// refusal that says TAP is off or the user is outside its policy is told apart by reading the
// policy (one more request, only then).
func (c *Client) CreateAccessPass(ctx context.Context, userID string, opts bot.AccessPassOptions) (bot.AccessPass, error) {
	id := strings.TrimSpace(userID)
	if id == "" {
		return bot.AccessPass{}, &bot.DirectoryError{Kind: bot.ErrOther, Message: "no user ID given for the Temporary Access Pass", Remedy: RemedyOther}
	}
	var minutes int32
	if opts.Lifetime != 0 {
		if opts.Lifetime < minAccessPassLifetime || opts.Lifetime > maxAccessPassLifetime || opts.Lifetime%time.Minute != 0 {
			return bot.AccessPass{}, &bot.DirectoryError{Kind: bot.ErrAccessPassLifetime,
				Message: fmt.Sprintf("a Temporary Access Pass lasts from 10 minutes to 30 days, in whole minutes, not %v", opts.Lifetime),
				Remedy:  "Choose a lifetime in whole minutes within the tenant's Temporary Access Pass policy (by default 1 to 8 hours)."}
		}
		minutes = int32(opts.Lifetime / time.Minute)
	}
	methods := c.users().ByUserId(id).Authentication().TemporaryAccessPassMethods()

	var existing models.TemporaryAccessPassAuthenticationMethodCollectionResponseable
	err := c.pacedAuthCall(ctx, func() (err error) {
		existing, err = methods.Get(ctx, nil)
		return err
	})
	if err != nil {
		return bot.AccessPass{}, c.accessPassFailure(ctx, err, RemedyAccessPassPermission)
	}

	body := models.NewTemporaryAccessPassAuthenticationMethod()
	once := opts.UsableOnce
	body.SetIsUsableOnce(&once)
	if minutes > 0 {
		body.SetLifetimeInMinutes(&minutes)
	}
	headers := &khttp.HeadersInspectionOptions{InspectResponseHeaders: true, ResponseHeaders: abs.NewResponseHeaders()}
	var created models.TemporaryAccessPassAuthenticationMethodable
	err = c.pacedAuthCall(ctx, func() (err error) {
		created, err = methods.Post(ctx, body, &users.ItemAuthenticationTemporaryAccessPassMethodsRequestBuilderPostRequestConfiguration{
			Options: []abs.RequestOption{headers}})
		return err
	})
	if err != nil {
		return bot.AccessPass{}, c.accessPassFailure(ctx, err, RemedyAccessPassPermission)
	}
	reqID := header(headers.GetResponseHeaders(), "request-id")
	code := ""
	if created != nil {
		code = deref(created.GetTemporaryAccessPass())
	}
	if code == "" {
		return bot.AccessPass{}, &bot.DirectoryError{Kind: bot.ErrOther, RequestID: reqID,
			Message: "Graph created a Temporary Access Pass but did not return its code",
			Remedy:  "Create another: it replaces the one nobody has seen."}
	}

	pass := bot.AccessPass{Code: bot.NewTempPassword(code), UsableOnce: once, GraphRequestID: reqID,
		ReplacedExisting: existing != nil && len(existing.GetValue()) > 0}
	start := time.Now()
	switch {
	case created.GetStartDateTime() != nil:
		start = *created.GetStartDateTime()
	case created.GetCreatedDateTime() != nil:
		start = *created.GetCreatedDateTime()
	}
	lifetime := time.Duration(minutes) * time.Minute
	if l := created.GetLifetimeInMinutes(); l != nil {
		lifetime = time.Duration(*l) * time.Minute
	}
	if u := created.GetIsUsableOnce(); u != nil {
		pass.UsableOnce = *u
	}
	pass.StartsAt, pass.ExpiresAt = start.UTC(), start.Add(lifetime).UTC()
	return pass, nil
}

// accessPassFailure classifies a failed pass call; a 403 gets the permission's remedy, and a refusal
// that may mean "off" or "out of scope" is told apart by reading the policy.
func (c *Client) accessPassFailure(ctx context.Context, err error, forbidden string) error {
	err = c.fail(ctx, err)
	var de *bot.DirectoryError
	if !errors.As(err, &de) {
		return err
	}
	cp := *de
	switch cp.Kind {
	case bot.ErrInsufficientPrivileges:
		cp.Remedy = forbidden
	case bot.ErrAccessPassDisabled:
		if pol, perr := c.AccessPassPolicy(ctx); perr == nil {
			if pol.Enabled {
				cp.Kind, cp.Remedy = bot.ErrAccessPassNotInPolicy, RemedyAccessPassNotInPolicy
			} else {
				cp.Remedy = RemedyAccessPassDisabled
			}
		}
	}
	return &cp
}

// pacedAuthCall runs one call to /users/{id}/authentication/… inside the reports budget.
func (c *Client) pacedAuthCall(ctx context.Context, call func() error) error {
	p := c.reportsPacer()
	if _, err := p.acquire(ctx, 1); err != nil {
		return err
	}
	err := call()
	p.settle(1, 0, time.Now())
	return err
}

// AccessPassPolicy reads the tenant's Temporary Access Pass policy: GET /policies/
// authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass (one request;
// Policy.Read.AuthenticationMethod).
func (c *Client) AccessPassPolicy(ctx context.Context) (bot.AccessPassPolicy, error) {
	res := c.getRaw(ctx, "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass")
	if res.err != nil {
		de := c.fail(ctx, res.err)
		if bot.KindOf(de) == bot.ErrInsufficientPrivileges {
			cp := *res.err
			cp.Remedy = RemedyAccessPassPolicyPermission
			return bot.AccessPassPolicy{}, &cp
		}
		return bot.AccessPassPolicy{}, de
	}
	got, err := parseBody[models.AuthenticationMethodConfigurationable](res.body, models.CreateAuthenticationMethodConfigurationFromDiscriminatorValue)
	if err != nil {
		return bot.AccessPassPolicy{}, c.fail(ctx, err)
	}
	cfg, ok := got.(models.TemporaryAccessPassAuthenticationMethodConfigurationable)
	if !ok {
		return bot.AccessPassPolicy{}, &bot.DirectoryError{Kind: bot.ErrOther, RequestID: res.header["request-id"],
			Message: "Graph did not answer with a Temporary Access Pass configuration", Remedy: RemedyOther}
	}
	minutes := func(p *int32) time.Duration {
		if p == nil {
			return 0
		}
		return time.Duration(*p) * time.Minute
	}
	pol := bot.AccessPassPolicy{
		Enabled:          cfg.GetState() != nil && *cfg.GetState() == models.ENABLED_AUTHENTICATIONMETHODSTATE,
		MinLifetime:      minutes(cfg.GetMinimumLifetimeInMinutes()),
		MaxLifetime:      minutes(cfg.GetMaximumLifetimeInMinutes()),
		DefaultLifetime:  minutes(cfg.GetDefaultLifetimeInMinutes()),
		UsableOnceForced: cfg.GetIsUsableOnce() != nil && *cfg.GetIsUsableOnce(),
	}
	for _, t := range cfg.GetIncludeTargets() {
		switch id := deref(t.GetId()); {
		case strings.EqualFold(id, "all_users"):
			pol.AllUsers = true
		case id != "":
			pol.IncludeGroups = append(pol.IncludeGroups, id)
		}
	}
	for _, t := range cfg.GetExcludeTargets() {
		if id := deref(t.GetId()); id != "" {
			pol.ExcludeGroups = append(pol.ExcludeGroups, id)
		}
	}
	return pol, nil
}

// AuthenticationMethods lists the user's registered methods: GET /users/{id}/authentication/methods
// (one request; UserAuthenticationMethod.Read.All), masked for an agent's eyes (bot.AuthMethod).
func (c *Client) AuthenticationMethods(ctx context.Context, userID string) ([]bot.AuthMethod, error) {
	id := strings.TrimSpace(userID)
	if id == "" {
		return nil, &bot.DirectoryError{Kind: bot.ErrOther, Message: "no user ID given", Remedy: RemedyOther}
	}
	var out []bot.AuthMethod
	err := c.pacedAuthCall(ctx, func() error {
		resp, err := c.users().ByUserId(id).Authentication().Methods().Get(ctx, nil)
		if err != nil || resp == nil {
			return err
		}
		return eachItem(ctx, c, resp, models.CreateAuthenticationMethodCollectionResponseFromDiscriminatorValue,
			func(m models.AuthenticationMethodable) { out = append(out, authMethod(m)) })
	})
	if err != nil {
		return nil, c.accessPassFailure(ctx, err, RemedyAuthMethodsPermission)
	}
	return out, nil
}

// authMethod turns one of Graph's methods into what an agent may see: its kind, a masked detail,
// and when it was registered where Graph says. Types the SDK does not know are AuthOther.
func authMethod(m models.AuthenticationMethodable) bot.AuthMethod {
	am := bot.AuthMethod{Kind: bot.AuthOther}
	if cd, ok := m.(interface{ GetCreatedDateTime() *time.Time }); ok && cd.GetCreatedDateTime() != nil {
		am.Created = cd.GetCreatedDateTime().UTC()
	}
	// Concrete types, not the generated interfaces: those overlap (a platform credential has every
	// getter of a Windows Hello method).
	switch v := m.(type) {
	case *models.PasswordAuthenticationMethod:
		am.Kind = bot.AuthPassword
	case *models.PhoneAuthenticationMethod:
		am.Kind, am.Detail = bot.AuthPhone, MaskPhone(deref(v.GetPhoneNumber()))
		if t := v.GetPhoneType(); t != nil {
			am.Detail += " (" + t.String() + ")"
		}
	case *models.EmailAuthenticationMethod:
		am.Kind, am.Detail = bot.AuthEmail, MaskEmail(deref(v.GetEmailAddress()))
	case *models.MicrosoftAuthenticatorAuthenticationMethod:
		am.Kind = bot.AuthAuthenticator
	case *models.Fido2AuthenticationMethod:
		am.Kind, am.Detail = bot.AuthFIDO2, deref(v.GetModel())
	case *models.WindowsHelloForBusinessAuthenticationMethod:
		am.Kind = bot.AuthWindowsHello
	case *models.PlatformCredentialAuthenticationMethod:
		am.Kind = bot.AuthPlatformCredential
		if p := v.GetPlatform(); p != nil {
			am.Detail = p.String()
		}
	case *models.SoftwareOathAuthenticationMethod:
		am.Kind = bot.AuthSoftwareOATH
	case *models.TemporaryAccessPassAuthenticationMethod:
		am.Kind, am.Detail = bot.AuthAccessPass, accessPassDetail(v)
	default:
		am.Detail = strings.TrimPrefix(deref(m.GetOdataType()), "#microsoft.graph.")
	}
	return am
}

// accessPassDetail says until when a pass is valid and whether it is usable: "until 2026-12-06
// 10:00 UTC, usable once", "…, not usable: Expired".
func accessPassDetail(t models.TemporaryAccessPassAuthenticationMethodable) string {
	var parts []string
	if s, l := t.GetStartDateTime(), t.GetLifetimeInMinutes(); s != nil && l != nil {
		parts = append(parts, "until "+s.Add(time.Duration(*l)*time.Minute).UTC().Format("2006-01-02 15:04 UTC"))
	}
	if o := t.GetIsUsableOnce(); o != nil && *o {
		parts = append(parts, "usable once")
	}
	if u := t.GetIsUsable(); u != nil && !*u {
		parts = append(parts, "not usable: "+deref(t.GetMethodUsabilityReason()))
	}
	return strings.Join(parts, ", ")
}

// MaskPhone shows a phone number's last two digits only: "•••• •• 34".
func MaskPhone(number string) string {
	var digits []rune
	for _, r := range number {
		if unicode.IsDigit(r) {
			digits = append(digits, r)
		}
	}
	if len(digits) < 2 {
		return "•••• ••"
	}
	return "•••• •• " + string(digits[len(digits)-2:])
}

// MaskEmail shows a mail address's first letter and domain only: "a•••@contoso.com".
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "•••"
	}
	first, _ := utf8.DecodeRuneInString(addr)
	return string(first) + "•••" + addr[at:]
}
